// A chaos soak of the whole bank, as `sandbank soak` and the soak test run it:
//
//   Simulator(bank.yaml) --up--> services      DeliveryTracker <-- FlowHub (kDeliver)
//   LoadGenerator --HTTP--> edge               ChaosMonkey --every interval--> one fault
//   ... duration ...
//   stop monkey, stop load -> healAll -> wait healthy + lag 0 (time to recover)
//   -> invariant checker, ledger audit, delivery audit -> shutdown -> process audit
//
// runSoak() owns the simulator for the whole run; the report says what happened and
// counts every violation (they must all be 0).
// Thread-safety: runSoak() blocks its caller; run one soak per process at a time (it sets
// EDGE_HTTP_PORT in the environment while the simulator is created).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "sandbank/control/check.h"
#include "sandbank/core/result.h"
#include "sandbank/load/load_stats.h"
#include "sandbank/soak/chaos_monkey.h"
#include "sandbank/soak/delivery_audit.h"
#include "sandbank/soak/ledger_audit.h"
#include "sandbank/soak/process_audit.h"

namespace sandbank::control {
class Simulator;
}  // namespace sandbank::control

namespace sandbank::soak {

struct SoakOptions {
  std::string manifest = "bank.yaml";
  std::string bin_dir;     // where the services are (build/bin)
  std::string state_file;  // run-state file; empty: a fresh temporary folder
  std::chrono::milliseconds duration{60'000};
  std::chrono::milliseconds interval{3'000};  // between faults
  uint64_t seed = 1;                          // the monkey's and the load's
  double rate = 20;                           // load operations per second
  int customers = 20;
  int concurrency = 8;
  std::chrono::milliseconds ready_timeout{120'000};    // the bank's first start
  std::chrono::milliseconds recover_timeout{120'000};  // healthy + lag 0 after healing
  std::chrono::milliseconds check_settle{10'000};      // passed to the invariant checker
  std::chrono::milliseconds progress_every{5'000};     // load progress lines; 0: none
};

// InvalidArgument naming the flag ("--interval must be > 0").
Status validateSoakOptions(const SoakOptions& options);

struct SoakReport {
  uint64_t seed = 0;
  std::chrono::milliseconds duration{0};
  load::LoadStats load;                         // attempted / ok / declined / failed by code
  std::vector<InjectedFault> faults;            // in order
  std::array<int64_t, kFaultKindCount> faults_by_kind{};
  int64_t faults_refused = 0;                   // the action failed (e.g. nothing running)
  std::vector<std::string> heal_problems;
  bool recovered = false;                       // healthy and lag 0 within recover_timeout
  std::string recovery_problem;                 // why not
  double recover_seconds = 0;                   // from healing to healthy + lag 0
  std::vector<int> invariants_checked;
  int64_t invariant_violations = 0;
  std::vector<std::string> invariant_details;   // one per violation
  std::string check_error;                      // the checker could not run
  LedgerAudit ledger;
  std::string ledger_error;
  DeliveryAudit bus;
  std::string bus_error;
  ProcessAudit processes;

  // Everything that must be 0: invariant violations, lost/duplicated/mismatched money
  // movements, undelivered or dead-lettered records and left-over lag, orphans, plus one
  // for each check that could not run and for a bank that did not recover.
  int64_t violations() const;
  bool passed() const { return violations() == 0; }
};

using CheckerFactory = std::function<control::InvariantChecker(control::Simulator&)>;

// Runs the soak, logging faults, heals, process exits and load progress to `log` as they
// happen. Errors: InvalidArgument (options), and whatever stops the bank from starting
// or the load from reaching the edge; violations are in the report, not errors.
Result<SoakReport> runSoak(const SoakOptions& options, const CheckerFactory& make_checker, std::ostream& log);

// The closing table: load, faults by kind, recovery, each check and its violations.
std::string formatSoakReport(const SoakReport& report);
// The same as one JSON object.
std::string soakReportJson(const SoakReport& report);

}  // namespace sandbank::soak
