// ScenarioEngine: loads scenario scripts (JavaScript, run by Qt's QJSEngine) and runs one
// scenario at a time: a fresh script engine per scenario, the scenario API installed
// (scenarios/README.md), setup -> run -> teardown, then the bank invariant check.
// No Qt type appears in this header.
// Thread-safety: one engine per thread; run() blocks the calling thread. A
// QCoreApplication must exist (the runner makes one when there is none).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sandbank/core/result.h"
#include "sandbank/scenario/bank_link.h"
#include "sandbank/scenario/outcome.h"

namespace sandbank::scenario {

struct ScenarioInfo {
  std::string file;
  std::string name;
};

struct EngineOptions {
  uint64_t seed = 1;           // with the scenario's name, seeds random() and Math.random()
  BankLink* link = nullptr;    // null: bank operations fail with "no bank in this run"
  // A scenario still running after this is interrupted (a script looping forever).
  std::chrono::milliseconds scenario_timeout{120000};
  // Each log() line and step, as it happens (progress output); may be empty.
  std::function<void(const std::string&)> on_log;
  // Each recorded step as soon as it finishes (the same values as the outcome's steps),
  // on the thread that runs the scenario; may be empty. The GUI colours steps live.
  std::function<void(const StepTiming&)> on_step;
  // When it becomes true (from any thread) the running scenario is interrupted as soon as
  // the script has control again: within about 50 ms in waitFor, pause and other polling
  // waits; one blocking call (an rpc, say) finishes first, bounded by its own timeout.
  // Teardown and the invariant check are skipped (the next reset puts the bank back) and
  // the outcome says it was stopped.
  const std::atomic<bool>* cancel = nullptr;
};

class ScenarioEngine {
 public:
  explicit ScenarioEngine(EngineOptions options);
  ~ScenarioEngine();

  // The scenarios a file declares, in declaration order. Errors: NotFound (no file),
  // InvalidArgument "file:line:column: SyntaxError: ..." with the JS stack, or a
  // duplicate or missing scenario name.
  Result<std::vector<ScenarioInfo>> load(const std::string& path);

  // Runs one scenario in a fresh script engine. Never throws; everything that goes wrong
  // is in the outcome.
  ScenarioOutcome run(const ScenarioInfo& scenario);

 private:
  EngineOptions options_;
};

// The seed a scenario's random() starts from: the run seed mixed with the scenario name,
// so filtering or reordering scenarios does not change any one scenario's numbers.
uint64_t scenarioSeed(uint64_t run_seed, const std::string& name);

}  // namespace sandbank::scenario
