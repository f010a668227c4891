// The Scenarios panel's engine room, apart from its widgets: listing the scenario files
// of a folder, and ScenarioRunner, which runs chosen scenarios against the bank (in
// process, or the one a run-state file names when attached) on its own thread (never the UI thread) the way `sandbank run` does - reset the
// bank, run, check the invariants - and reports every step the moment it finishes.
//
//   UI thread                         runner thread
//   start(todo) ───────────────────>  link->reset() -> ScenarioEngine::run()
//   scenarioStarted / stepFinished <─  on_step, on_log (queued signals)
//   scenarioFinished / runFinished <─  outcome
//
// Thread-safety: start(), stop(), running() and the signals' receivers on the
// UI thread; the BankLink and the script engines live only on the runner thread.
#pragma once

#include <QObject>
#include <QString>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::control {
class Simulator;
}  // namespace sandbank::control

namespace sandbank::scenario {
class BankLink;
}  // namespace sandbank::scenario

namespace sandbank::gui {

struct ScenarioRef {
  std::string file;
  std::string name;
};

struct ScenarioFile {
  std::string file;                // full path
  std::vector<std::string> names;  // its scenarios, in declaration order
  std::string error;               // why it does not load (then names is empty)
};

// The *.js files of `dir`, sorted, each with its scenarios. Loads every script in a
// script engine, so call it off the UI thread. A missing folder gives one entry whose
// error says so.
std::vector<ScenarioFile> listScenarioFiles(const std::string& dir);

// Where the descriptor set (sandbank.desc) is for an app or test binary in `app_dir`:
// next to it (build/bin) or in ../bin (build/tests). Empty when neither has it.
std::string findDescriptorSet(const std::string& app_dir);

struct ScenarioRunnerOptions {
  control::Simulator* simulator = nullptr;  // the in-process bank; must outlive the runner
  std::string run_state;                    // its run-state file (control address and token)
  std::string descriptor_path;  // build/bin/sandbank.desc
  uint64_t seed = 1;
};

class ScenarioRunner : public QObject {
  Q_OBJECT

 public:
  explicit ScenarioRunner(ScenarioRunnerOptions options, QObject* parent = nullptr);
  ~ScenarioRunner() override;  // stops the scenario in progress (as stop()) and waits for it

  // Starts running `todo` in order. `reset_first`: reset the bank before the first
  // scenario too (the GUI's bank has been in use; `sandbank run` starts from a fresh
  // one). Errors: FailedPrecondition when a run is in progress or there is no bank to
  // reach (neither in process nor a run-state file); InvalidArgument for an empty list.
  Status start(std::vector<ScenarioRef> todo, bool reset_first = true);
  // Interrupts the scenario in progress (ScenarioEngine's cancel: at its next wait, its
  // teardown and check skipped) and runs no more. The next run resets the bank first.
  void stop() { stop_ = true; }
  bool running() const { return running_; }

 Q_SIGNALS:
  void scenarioStarted(int index);
  void stepFinished(int index, QString name, double ms, bool ok);
  void logLine(int index, QString line);
  // verdict: 0 passed, 1 failed, 2 error (scenario::Verdict).
  void scenarioFinished(int index, int verdict, QString message, QString trace_id, QString location, double seconds);
  void runFinished(int passed, int failed, QString error);

 private:
  void runAll(std::vector<ScenarioRef> todo, bool reset_first);  // the runner thread
  Status ensureLink();                                           // the runner thread

  ScenarioRunnerOptions options_;
  std::unique_ptr<scenario::BankLink> link_;  // runner thread only (kept across runs)
  std::thread thread_;
  std::atomic<bool> stop_{false};
  bool dirty_ = false;  // a stopped scenario skipped its teardown; runner thread (and start() once it has joined)
  bool running_ = false;  // UI thread
};

}  // namespace sandbank::gui
