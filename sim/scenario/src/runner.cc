// The headless runner: bank up once, then reset -> run -> report per scenario.
#include "sandbank/scenario/runner.h"

#include <QCoreApplication>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>

#include "sandbank/control/simulator.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/log.h"
#include "sandbank/scenario/report.h"
#include "sandbank/scenario/scenario_engine.h"

namespace sandbank::scenario {
namespace {

namespace fs = std::filesystem;

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string stem(const std::string& path) { return fs::path(path).stem().string(); }

bool writeFile(const std::string& path, const std::string& text, std::ostream& err) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f) err << "sandbank run: cannot write " << path << "\n";
  return static_cast<bool>(f);
}

// recordOutcome() for the run's own progress: a refused row is said, not fatal.
void noteOutcome(control::Simulator* sim, const ScenarioOutcome& o, std::ostream& err) {
  if (sim == nullptr) return;
  if (Status s = recordOutcome(*sim, o); !s.ok()) err << "sandbank run: " << s.message() << "\n";
}

std::string indent(const std::string& text) {
  std::string out = "    ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "    ";
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  return out;
}

}  // namespace

Status recordOutcome(control::Simulator& sim, const ScenarioOutcome& o) {
  flow::Recorder* rec = sim.recorder();
  if (rec == nullptr) return OkStatus();
  flow::ScenarioResult row;
  row.name = stem(o.file) + "/" + o.name;
  row.status = verdictName(o.verdict);
  row.duration_us = static_cast<int64_t>(o.seconds * 1e6);
  row.message = o.message;
  row.trace_id = o.trace_id;
  if (!rec->recordScenario(std::move(row))) return FailedPrecondition("the recording refused the row of " + o.name);
  return OkStatus();
}

int runScenarios(const RunOptions& o) {
  std::ostream& out = o.out ? *o.out : std::cout;
  std::ostream& err = o.err ? *o.err : std::cerr;
  static int argc = 1;
  static char arg0[] = "sandbank";
  static char* argv[] = {arg0, nullptr};
  std::unique_ptr<QCoreApplication> app;
  if (QCoreApplication::instance() == nullptr) app = std::make_unique<QCoreApplication>(argc, argv);

  // 1. Which scenarios.
  std::vector<std::string> files;
  for (const auto& p : o.paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec))
        if (e.path().extension() == ".js") found.push_back(e.path().string());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      err << "sandbank run: no such file or folder: " << p << "\n";
      return 2;
    }
  }
  if (files.empty()) {
    err << "sandbank run: no scenario files given\n";
    return 2;
  }
  std::regex filter;
  try {
    filter = std::regex(o.filter.empty() ? ".*" : o.filter, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    err << "sandbank run: --filter '" << o.filter << "' is not a regular expression: " << e.what() << "\n";
    return 2;
  }
  std::vector<ScenarioOutcome> outcomes;
  std::vector<ScenarioInfo> todo;
  {
    ScenarioEngine lister(EngineOptions{});
    for (const auto& f : files) {
      auto list = lister.load(f);
      if (!list.ok()) {
        // A file that does not load is one broken test case, not the end of the run.
        ScenarioOutcome bad;
        bad.file = f;
        bad.name = "(load)";
        bad.verdict = Verdict::kError;
        bad.message = list.status().message();
        outcomes.push_back(bad);
        out << "[load] " << f << " ... error\n" << indent(bad.message) << "\n";
        continue;
      }
      for (const auto& s : *list)
        if (std::regex_search(stem(f) + "/" + s.name, filter)) todo.push_back(s);
    }
  }
  if (todo.empty() && outcomes.empty()) {
    err << "sandbank run: no scenario matches --filter '" << o.filter << "'\n";
    return 2;
  }

  // 2. The bank, once.
  const auto run_start_real = SystemClock::instance().now();
  const auto t0 = std::chrono::steady_clock::now();
  std::string temp_dir;
  control::SimulatorOptions so;
  so.manifest_path = o.manifest_path;
  so.record_path = o.record_path;
  so.bin_dir = o.bin_dir;
  so.seed = o.seed;
  so.state_file = o.state_file;
  if (so.state_file.empty()) {
    temp_dir = (fs::temp_directory_path() / ("sandbank-run-" + std::to_string(::getpid()))).string();
    so.state_file = temp_dir + "/run.json";
  }
  std::unique_ptr<control::Simulator> sim;
  std::unique_ptr<BankLink> link;
  if (!o.attach_state_file.empty() && !o.record_path.empty()) {
    err << "sandbank run: --record needs the in-process bank; record the attached bank with `sandbank up --record`\n";
    return 2;
  }
  if (!todo.empty() && !o.attach_state_file.empty()) {
    LinkOptions lo;
    lo.state_file = o.attach_state_file;
    lo.descriptor_path = o.bin_dir + "/sandbank.desc";
    lo.reset_tables = o.reset_tables;
    lo.restart_services_on_reset = o.restart_services_on_reset;
    lo.ready_timeout = o.ready_timeout;
    auto made = makeRemoteLink(lo);
    if (!made.ok()) {
      err << "sandbank run: cannot attach to the bank of " << o.attach_state_file << ": " << made.status().message() << "\n";
      return 1;
    }
    link = std::move(*made);
    out << "sandbank run: " << todo.size() << " scenario" << (todo.size() == 1 ? "" : "s") << ", attached to the bank of "
        << o.attach_state_file << ", seed " << o.seed << std::endl;
  } else if (!todo.empty()) {
    auto created = control::Simulator::create(so);
    if (!created.ok()) {
      err << "sandbank run: " << created.status().message() << "\n";
      return created.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
    }
    sim = std::move(*created);
    for (const auto& bad : outcomes) noteOutcome(sim.get(), bad, err);  // files that did not load
    if (o.make_checker) sim->setChecker(o.make_checker(*sim));
    out << "sandbank run: " << todo.size() << " scenario" << (todo.size() == 1 ? "" : "s") << ", bank "
        << o.manifest_path << ", seed " << o.seed << std::endl;
    Status up = sim->up();
    if (up.ok()) up = sim->supervisor().waitUntilReady(o.ready_timeout);
    if (!up.ok()) {
      err << "sandbank run: the bank did not come up: " << up.message() << "\n";
      sim->stop();
      return 1;
    }
    SimulatorLinkOptions lo;
    lo.state_file = so.state_file;
    lo.descriptor_path = o.bin_dir + "/sandbank.desc";
    lo.reset_tables = o.reset_tables;
    lo.restart_services_on_reset = o.restart_services_on_reset;
    lo.ready_timeout = o.ready_timeout;
    auto made = makeSimulatorLink(*sim, lo);
    if (!made.ok()) {
      err << "sandbank run: " << made.status().message() << "\n";
      return 1;
    }
    link = std::move(*made);
    out << "sandbank run: bank up in " << fixed(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2)
        << " s" << std::endl;
  }

  // 3. Each scenario: reset, run, report.
  EngineOptions eo;
  eo.seed = o.seed;
  eo.link = link.get();
  eo.scenario_timeout = o.scenario_timeout;
  eo.on_log = [&out](const std::string& line) { out << "    | " << line << std::endl; };
  ScenarioEngine engine(eo);
  for (size_t i = 0; i < todo.size(); ++i) {
    const auto& s = todo[i];
    out << "[" << (i + 1) << "/" << todo.size() << "] " << stem(s.file) << ": " << s.name << std::endl;
    // A bank just brought up is clean; an attached one is in whatever state it was left.
    if (i > 0 || sim == nullptr) {
      if (Status r = link->reset(); !r.ok()) {
        ScenarioOutcome bad;
        bad.file = s.file;
        bad.name = s.name;
        bad.verdict = Verdict::kFailed;
        bad.message = "the bank could not be reset before the scenario: " + r.message();
        noteOutcome(sim.get(), bad, err);
        outcomes.push_back(bad);
        out << "    failed\n" << indent(bad.message) << std::endl;
        continue;
      }
    }
    ScenarioOutcome r = engine.run(s);
    out << "    " << verdictName(r.verdict) << " (" << fixed(r.seconds, 2) << " s, " << r.steps.size() << " steps)" << std::endl;
    if (r.verdict != Verdict::kPassed) out << indent(r.message) << std::endl;
    noteOutcome(sim.get(), r, err);
    outcomes.push_back(std::move(r));
  }

  // 4. Summary and reports.
  size_t passed = 0;
  for (const auto& r : outcomes) passed += r.verdict == Verdict::kPassed;
  RunSummary summary;
  summary.timestamp = formatTimestamp(run_start_real);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  summary.seed = o.seed;
  link.reset();
  if (sim) sim->stop();
  if (!temp_dir.empty()) {
    std::error_code ec;
    fs::remove_all(temp_dir, ec);
  }
  bool wrote = true;
  if (!o.junit_path.empty()) wrote &= writeFile(o.junit_path, junitXml(outcomes, summary), err);
  if (!o.html_path.empty()) wrote &= writeFile(o.html_path, htmlReport(outcomes, summary), err);
  out << passed << " passed, " << (outcomes.size() - passed) << " failed" << std::endl;
  return passed == outcomes.size() && wrote ? 0 : 1;
}

}  // namespace sandbank::scenario
