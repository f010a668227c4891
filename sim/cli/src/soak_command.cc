// `sandbank soak`: parses the durations, runs sim/soak's runSoak() with the bank checker
// and prints the report (and writes it as JSON when asked).
// Thread-safety: called once from main's thread.
#include <fstream>
#include <iostream>

#include "commands.h"
#include "sandbank/cli/bank_check.h"
#include "sandbank/core/duration.h"
#include "sandbank/soak/soak.h"

namespace sandbank::cli {

int runSoakCommand(const SoakCommandOptions& o) {
  soak::SoakOptions so;
  auto duration = parseDuration(o.duration);
  if (!duration.ok()) {
    std::cerr << "sandbank soak: --duration: " << duration.status().message() << "\n";
    return 2;
  }
  auto interval = parseDuration(o.interval);
  if (!interval.ok()) {
    std::cerr << "sandbank soak: --interval: " << interval.status().message() << "\n";
    return 2;
  }
  so.manifest = o.bank;
  so.bin_dir = binDir();
  so.duration = std::chrono::duration_cast<std::chrono::milliseconds>(*duration);
  so.interval = std::chrono::duration_cast<std::chrono::milliseconds>(*interval);
  so.seed = o.seed;
  so.rate = o.rate;
  so.customers = o.customers;
  if (Status s = soak::validateSoakOptions(so); !s.ok()) {
    std::cerr << "sandbank soak: " << s.message() << "\n";
    return 2;
  }
  auto report = soak::runSoak(so, [](control::Simulator& sim) { return makeBankChecker(sim); }, std::cout);
  if (!report.ok()) {
    std::cerr << "sandbank soak: " << report.status().message() << "\n";
    return 2;
  }
  std::cout << soak::formatSoakReport(*report);
  if (!o.json.empty()) {
    std::ofstream out(o.json);
    out << soak::soakReportJson(*report) << "\n";
    if (!out) {
      std::cerr << "sandbank soak: cannot write " << o.json << "\n";
      return 1;
    }
  }
  return report->passed() ? 0 : 1;
}

}  // namespace sandbank::cli
