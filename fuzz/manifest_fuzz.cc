// Fuzzes the topology manifest parser (bank.yaml) with arbitrary text: it must either
// return a manifest whose dependencies all exist and can be ordered, or an error that
// names the file. Thread-safety: libFuzzer calls it from one thread.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "fuzz_util.h"
#include "sandbank/supervisor/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sandbank::supervisor;
  const std::string text(reinterpret_cast<const char*>(data), size);
  // ${BIN} and ${PORT} as scripts/run passes them; other variables come from the
  // environment or are errors.
  const std::map<std::string, std::string> vars = {{"BIN", "/opt/sandbank/bin"}, {"PORT", "0"}};
  auto m = parseManifest(text, "fuzz.yaml", "/srv/bank", vars);
  if (!m.ok()) {
    sandbank::fuzz::requireReason(false, m.status().message(), "parseManifest");
    return 0;
  }
  // An accepted manifest keeps its promises: every dependency is defined and the start
  // order lists every service once, dependencies first.
  std::vector<std::string> order = m->startOrder();
  if (order.size() != m->services.size()) std::abort();
  std::set<std::string> started;
  for (const auto& name : order) {
    const ServiceSpec* s = m->find(name);
    if (s == nullptr) std::abort();
    // The bounds the parser promises to enforce (the supervisor relies on them).
    if (s->replicas < 0 || s->health.retries < 1 || s->restart.max_retries < -1) {
      std::fprintf(stderr, "out-of-range number accepted for service '%s'\n", name.c_str());
      std::abort();
    }
    if (s->restart.max_backoff < s->restart.backoff || !(s->restart.multiplier >= 1.0)) std::abort();
    for (const auto& d : s->depends_on) {
      if (!started.count(d.service)) std::abort();
    }
    started.insert(name);
  }
  return 0;
}
