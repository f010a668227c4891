// Fuzzes the store's CQL parser with arbitrary text: a statement or a SyntaxError that
// says where and what was expected. Thread-safety: libFuzzer calls it from one thread.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_util.h"
#include "sandbank/store/cql.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sandbank::store::cql;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parseCql(text);
  if (!parsed.ok()) {
    sandbank::fuzz::requireReason(false, parsed.status().message(), "parseCql");
    return 0;
  }
  if (parsed->bind_count < 0) std::abort();
  return 0;
}
