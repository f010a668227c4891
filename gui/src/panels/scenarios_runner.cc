// Scenario listing and the threaded runner behind the Scenarios panel.
#include "scenarios_runner.h"

#include <QMetaObject>

#include <algorithm>
#include <filesystem>

#include "sandbank/control/simulator.h"
#include "sandbank/scenario/bank_link.h"
#include "sandbank/scenario/runner.h"
#include "sandbank/scenario/scenario_engine.h"

namespace sandbank::gui {

namespace fs = std::filesystem;

std::vector<ScenarioFile> listScenarioFiles(const std::string& dir) {
  std::vector<ScenarioFile> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    out.push_back({dir, {}, "no scenario folder at " + dir + " (start with --scenarios DIR)"});
    return out;
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".js") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  scenario::ScenarioEngine lister(scenario::EngineOptions{});
  for (const auto& f : files) {
    ScenarioFile sf;
    sf.file = f;
    auto list = lister.load(f);
    if (!list.ok()) {
      sf.error = list.status().message();
    } else {
      for (const auto& s : *list) sf.names.push_back(s.name);
    }
    out.push_back(std::move(sf));
  }
  return out;
}

std::string findDescriptorSet(const std::string& app_dir) {
  for (const auto& p : {fs::path(app_dir) / "sandbank.desc", fs::path(app_dir) / ".." / "bin" / "sandbank.desc"}) {
    std::error_code ec;
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  return {};
}

ScenarioRunner::ScenarioRunner(ScenarioRunnerOptions options, QObject* parent)
    : QObject(parent), options_(std::move(options)) {
  // runFinished arrives queued on the UI thread; this first connection clears running_
  // before any other receiver sees the signal.
  connect(this, &ScenarioRunner::runFinished, this, [this] { running_ = false; });
}

ScenarioRunner::~ScenarioRunner() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  link_.reset();
}

Status ScenarioRunner::start(std::vector<ScenarioRef> todo, bool reset_first) {
  if (options_.simulator == nullptr && options_.run_state.empty())
    return FailedPrecondition("running scenarios needs a live bank: start sandbank-gui without --open, or with --attach");
  if (running_) return FailedPrecondition("a run is in progress");
  if (todo.empty()) return InvalidArgument("no scenario chosen");
  if (thread_.joinable()) thread_.join();  // the previous run has ended (running_ is false)
  running_ = true;
  stop_ = false;
  reset_first = reset_first || dirty_;  // a stopped scenario left its faults and data behind
  dirty_ = false;
  thread_ = std::thread([this, todo = std::move(todo), reset_first]() mutable { runAll(std::move(todo), reset_first); });
  return OkStatus();
}

Status ScenarioRunner::ensureLink() {
  if (link_) return OkStatus();
  if (options_.descriptor_path.empty())
    return NotFound("the descriptor set sandbank.desc was not found next to the app (build the sandbank_descriptor_set target)");
  scenario::SimulatorLinkOptions lo;
  lo.state_file = options_.run_state;
  lo.descriptor_path = options_.descriptor_path;
  // In process, the engines are called directly; attached, through the control port.
  auto made = options_.simulator != nullptr ? scenario::makeSimulatorLink(*options_.simulator, lo) : scenario::makeRemoteLink(lo);
  if (!made.ok()) return made.status();
  link_ = std::move(*made);
  return OkStatus();
}

void ScenarioRunner::runAll(std::vector<ScenarioRef> todo, bool reset_first) {
  int passed = 0, failed = 0;
  if (Status s = ensureLink(); !s.ok()) {
    Q_EMIT runFinished(0, 0, QString::fromStdString(s.message()));
    return;
  }
  for (size_t i = 0; i < todo.size() && !stop_; ++i) {
    const int index = static_cast<int>(i);
    Q_EMIT scenarioStarted(index);
    if (reset_first || i > 0) {
      if (Status r = link_->reset(); !r.ok()) {
        ++failed;
        Q_EMIT scenarioFinished(index, static_cast<int>(scenario::Verdict::kFailed),
                                QString::fromStdString("the bank could not be reset before the scenario: " + r.message()),
                                QString(), QString(), 0);
        continue;
      }
    }
    scenario::EngineOptions eo;
    eo.seed = options_.seed;
    eo.link = link_.get();
    eo.cancel = &stop_;
    eo.on_log = [this, index](const std::string& line) { Q_EMIT logLine(index, QString::fromStdString(line)); };
    eo.on_step = [this, index](const scenario::StepTiming& s) {
      Q_EMIT stepFinished(index, QString::fromStdString(s.name), s.ms, s.ok);
    };
    scenario::ScenarioEngine engine(eo);
    scenario::ScenarioOutcome o = engine.run(scenario::ScenarioInfo{todo[i].file, todo[i].name});
    (o.verdict == scenario::Verdict::kPassed ? passed : failed) += 1;
    if (stop_) dirty_ = true;
    // Into the run's recording too, as `sandbank run` does: File -> Save run keeps it.
    // (An attached bank records itself, when `sandbank up --record` asked it to.)
    if (Status rs = options_.simulator != nullptr ? scenario::recordOutcome(*options_.simulator, o) : OkStatus(); !rs.ok()) {
      Q_EMIT logLine(index, QString::fromStdString("not recorded: " + rs.message()));
    }
    Q_EMIT scenarioFinished(index, static_cast<int>(o.verdict), QString::fromStdString(o.message),
                            QString::fromStdString(o.trace_id), QString::fromStdString(o.location), o.seconds);
  }
  Q_EMIT runFinished(passed, failed, stop_ && passed + failed < static_cast<int>(todo.size()) ? QString("stopped") : QString());
}

}  // namespace sandbank::gui
