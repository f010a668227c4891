// runScenarios: the headless runner behind `sandbank run`. It brings the bank up once (or
// attaches to one a `sandbank up` runs), then for each scenario resets the bank, runs the
// scenario and reports (a progress line,
// and a row in the recording's `scenarios` table as soon as the scenario ends); at the
// end it writes the JUnit XML and the HTML report.
// Thread-safety: call from one thread (it becomes the script thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "sandbank/control/check.h"
#include "sandbank/core/status.h"
#include "sandbank/scenario/outcome.h"

namespace sandbank::control {
class Simulator;
}  // namespace sandbank::control

namespace sandbank::scenario {

struct RunOptions {
  std::vector<std::string> paths;  // .js files, or folders (their *.js, sorted)
  std::string junit_path;          // empty: no JUnit file
  std::string record_path;         // SQLite recording (must not exist); empty: none
  std::string html_path;           // empty: no HTML report
  uint64_t seed = 1;
  std::string filter;              // ECMAScript regex searched in "<file stem>/<scenario name>"
  std::string manifest_path = "bank.yaml";
  std::string bin_dir;             // where services and sandbank.desc are (build/bin)
  std::string state_file;          // run-state file; empty: a private one in a temp folder
  // Run against the bank whose run-state file this is (`sandbank up`) instead of bringing
  // one up: manifest_path, state_file and make_checker are unused (the attached bank's own
  // checker answers), every scenario starts with a reset, and record_path is refused (the
  // bank records itself: `sandbank up --record`).
  std::string attach_state_file;
  // Plugs the bank's invariant checker into the simulator (sandbank's makeBankChecker);
  // empty: scenarios run without the check.
  std::function<control::InvariantChecker(control::Simulator&)> make_checker;
  std::chrono::milliseconds ready_timeout{60000};     // bank up, and after each reset
  std::chrono::milliseconds scenario_timeout{120000};  // unless a scenario sets its own
  std::vector<std::string> reset_tables;               // extra "keyspace.table" to truncate
  bool restart_services_on_reset = true;
  std::ostream* out = nullptr;  // progress and summary; null: std::cout
  std::ostream* err = nullptr;  // problems; null: std::cerr
};

// Returns 0 when every scenario passed, 1 when any failed (or the bank did not come up),
// 2 for bad input (no scenario file, a bad filter, a bad manifest, nothing matched).
int runScenarios(const RunOptions& options);

// Writes one scenario's row ("file-stem/name", verdict, duration, message, trace) into
// the recording of `sim`, while the run goes on, so a window following the recording
// sees each result as it lands. OK when `sim` records nothing; FailedPrecondition when
// the recorder refused the row (closed, or its queue full).
Status recordOutcome(control::Simulator& sim, const ScenarioOutcome& outcome);

}  // namespace sandbank::scenario
