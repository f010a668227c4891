// The scenario engine: one QJSEngine per scenario, the prelude, the phases, error
// locations, the watchdog and the invariant check.
#include "sandbank/scenario/scenario_engine.h"

#include <QJSEngine>
#include <QJSValue>
#include <QJSValueIterator>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "sandbank/core/duration.h"
#include "sandbank/flow/flow_dump.h"
#include "sandbank/scenario/text_diff.h"
#include "script_host.h"

namespace sandbank::scenario {

extern const char* const kPrelude;

namespace {

constexpr const char* kPreludeName = "sandbank-prelude.js";

std::string str(const QString& s) { return s.toStdString(); }
QString qstr(const std::string& s) { return QString::fromStdString(s); }

// "file:///x/y.js" -> "/x/y.js"
std::string plainPath(std::string f) {
  if (f.rfind("file://", 0) == 0) return f.substr(7);
  if (f.rfind("file:", 0) == 0) return f.substr(5);  // relative names: "file:sandbank-prelude.js"
  return f;
}

std::vector<std::string> fileLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

// QJSEngine reports a column for syntax errors only. For runtime errors, find where on
// the line the error points: the identifier the message names, the assertion or wait
// call, a throw; else the line's first non-blank character.
int guessColumn(const std::string& line, const std::string& error_name, const std::string& message) {
  std::vector<std::string> needles;
  auto quoted = [&](const std::string& m) {
    auto a = m.find('\'');
    auto b = a == std::string::npos ? a : m.find('\'', a + 1);
    return b == std::string::npos ? std::string() : m.substr(a + 1, b - a - 1);
  };
  if (error_name == "AssertionError") needles.push_back("assert.");
  if (error_name == "TimeoutError") {
    for (const char* n : {"waitFor(", "expectFlow(", "bus.waitFor(", "services.waitReady(", "waitFor"}) needles.push_back(n);
  }
  if (error_name == "RpcError") needles.push_back("rpc(");
  if (auto p = message.find(" is not defined"); p != std::string::npos) needles.push_back(message.substr(0, p));
  if (auto q = quoted(message); !q.empty()) needles.push_back("." + q);
  for (const char* n : {"throw ", "bus.", "store.", "http.", "faults.", "services.", "clock.", "rpc("}) needles.push_back(n);
  for (const auto& n : needles) {
    if (n.empty()) continue;
    if (auto p = line.find(n); p != std::string::npos) return static_cast<int>(p) + (n[0] == '.' ? 2 : 1);
  }
  auto p = line.find_first_not_of(" \t");
  return p == std::string::npos ? 1 : static_cast<int>(p) + 1;
}

struct Frame {
  std::string function;
  std::string file;
  int line = 0;
};

// V4 stacks are lines of "function@file:line".
std::vector<Frame> parseStack(const std::string& stack) {
  std::vector<Frame> frames;
  for (const auto& l : fileLines(stack)) {
    auto at = l.find('@');
    auto colon = l.rfind(':');
    if (at == std::string::npos || colon == std::string::npos || colon < at) continue;
    Frame f;
    f.function = l.substr(0, at);
    f.file = plainPath(l.substr(at + 1, colon - at - 1));
    f.line = std::atoi(l.c_str() + colon + 1);
    frames.push_back(f);
  }
  return frames;
}

std::string formatStack(const std::vector<Frame>& frames) {
  std::string out;
  for (const auto& f : frames) {
    if (f.file == kPreludeName) continue;  // the API's own frames say nothing to the author
    out += "    at " + (f.function == "%entry" ? std::string("<top level>") : f.function.empty() ? std::string("<anonymous>") : f.function) + " (" +
           f.file + ":" + std::to_string(f.line) + ")\n";
  }
  return out;
}

bool readFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// Where an error thrown while evaluating `path` (whose source is `text`) happened: the
// evaluate() trace ("function:line:column:file") gives syntax errors their column; the
// JS stack gives the line of runtime errors, whose column is guessed from the line.
struct ErrorPlace {
  std::string name, message;
  int line = 0, column = 0;
  std::vector<Frame> frames;
  std::string text() const {  // "line:column: Name: message"
    return std::to_string(line) + ":" + std::to_string(column) + ": " + name + ": " + message;
  }
};
ErrorPlace placeOf(const QJSValue& error, const QStringList& trace, const std::string& path, const std::string& text) {
  ErrorPlace p;
  p.name = str(error.property("name").toString());
  p.message = str(error.property("message").toString());
  p.line = error.property("lineNumber").toInt();
  for (const auto& t : trace) {
    QStringList parts = t.split(':');
    if (parts.size() >= 4 && plainPath(str(parts.mid(3).join(':'))) == path) {
      p.line = parts[1].toInt();
      p.column = parts[2].toInt();
      break;
    }
  }
  p.frames = parseStack(str(error.property("stack").toString()));
  for (const auto& f : p.frames) {
    if (f.file == path) {
      p.line = f.line;
      break;
    }
  }
  if (p.column <= 0) {
    auto lines = fileLines(text);
    p.column = p.line >= 1 && p.line <= static_cast<int>(lines.size()) ? guessColumn(lines[p.line - 1], p.name, p.message)
                                                                       : 1;
  }
  return p;
}

// Evaluates the prelude and the script in `js`. Returns the error text
// ("file:line:column: SyntaxError: ...\n    at ...") or empty on success.
std::string evaluateScript(QJSEngine& js, const std::string& path, const std::string& text, int* line_out,
                           int* column_out) {
  QJSValue prelude = js.evaluate(QString::fromUtf8(kPrelude), kPreludeName);
  if (prelude.isError()) return std::string("internal error in the scenario prelude: ") + str(prelude.toString());
  QStringList trace;
  QJSValue r = js.evaluate(QString::fromUtf8(text.data(), static_cast<int>(text.size())), qstr(path), 1, &trace);
  if (!r.isError()) return {};
  ErrorPlace p = placeOf(r, trace, path, text);
  *line_out = p.line;
  *column_out = p.column;
  return path + ":" + p.text() + "\n" + formatStack(p.frames);
}

void installHost(QJSEngine& js, ScriptHost& host, const std::string& script_path) {
  QJSEngine::setObjectOwnership(&host, QJSEngine::CppOwnership);
  js.globalObject().setProperty("__host", js.newQObject(&host));
  host.attach(&js, script_path);
}

// Interrupts a script engine that runs longer than its deadline.
class Watchdog {
 public:
  // Interrupts after `limit`, or as soon as *cancel becomes true (checked every 50 ms).
  Watchdog(QJSEngine& js, std::chrono::milliseconds limit, const std::atomic<bool>* cancel)
      : thread_([this, &js, limit, cancel] {
          const auto deadline = std::chrono::steady_clock::now() + limit;
          std::unique_lock lock(mu_);
          while (!done_) {
            if (cancel != nullptr && cancel->load()) {
              cancelled_ = true;
              js.setInterrupted(true);
              return;
            }
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) {
              fired_ = true;
              js.setInterrupted(true);
              return;
            }
            cv_.wait_for(lock, std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(50)));
          }
        }) {}
  ~Watchdog() { finish(); }
  void finish() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() const { return fired_; }
  bool cancelled() const { return cancelled_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;       // guarded by mu_
  bool fired_ = false;      // written by the watchdog thread before join
  bool cancelled_ = false;  // likewise
  std::thread thread_;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// ScriptHost

ScriptHost::ScriptHost(BankLink* link, uint64_t seed, std::function<void(const std::string&)> on_log,
                       std::function<void(const StepTiming&)> on_step)
    : link_(link), rng_(seed), on_log_(std::move(on_log)), on_step_(std::move(on_step)) {}

void ScriptHost::recordStep(StepTiming step) {
  steps_.push_back(std::move(step));
  if (on_step_) on_step_(steps_.back());
}

QString ScriptHost::call(const QString& op_q, const QString& args_json) {
  const std::string op = str(op_q);
  nlohmann::json answer;
  auto start = std::chrono::steady_clock::now();
  nlohmann::json args = nlohmann::json::parse(str(args_json), nullptr, false);
  std::string kind = op.substr(0, op.find('.'));
  if (!kind.empty()) kind[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(kind[0])));
  kind += "Error";
  bool ok = false;
  if (args.is_discarded()) {
    answer = {{"ok", false}, {"kind", "TypeError"}, {"code", "INVALID_ARGUMENT"}, {"message", "arguments are not JSON"}};
  } else if (link_ == nullptr) {
    answer = {{"ok", false}, {"kind", kind}, {"code", "FAILED_PRECONDITION"},
              {"message", "no bank in this run: scenario files are only loaded here, not run"}};
  } else {
    auto r = link_->invoke(op, args);
    if (r.ok()) {
      ok = true;
      answer = {{"ok", true}, {"value", std::move(*r)}};
      // An rpc that came back with an error is still a call that ran; the step shows it.
      if (answer["value"].is_object() && answer["value"].contains("ok") && answer["value"]["ok"].is_boolean())
        ok = answer["value"]["ok"].get<bool>();
    } else {
      const std::string m = r.status().message();
      std::string code(statusCodeName(r.status().code()));
      // Kafka and Cassandra errors lead with their name: "Unavailable: ...".
      auto colon = m.find(':');
      if (colon != std::string::npos && colon > 0 && std::isupper(static_cast<unsigned char>(m[0])) &&
          m.find(' ') > colon)
        code = m.substr(0, colon);
      answer = {{"ok", false}, {"kind", kind}, {"code", code}, {"message", m}};
    }
  }
  if (open_.empty()) {
    std::string name = op;
    for (const char* k : {"method", "path", "topic", "query", "service", "group", "id", "advance"}) {
      if (args.is_object() && args.contains(k) && args[k].is_string() && !args[k].get<std::string>().empty()) {
        std::string v = args[k].get<std::string>();
        if (v.size() > 60) v = v.substr(0, 57) + "...";
        name += " " + v;
        break;
      }
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    recordStep({name, ms, ok});
  }
  return QString::fromStdString(answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

double ScriptHost::nowMs() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double ScriptHost::random() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

void ScriptHost::pause(double ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(ms * 1000)));
}

QString ScriptHost::diff(const QString& expected, const QString& actual) const {
  return qstr(lineDiff(str(expected), str(actual)));
}

void ScriptHost::log(const QString& line) {
  logs_.push_back(str(line));
  if (on_log_) on_log_(logs_.back());
}

void ScriptHost::stepBegin(const QString& name) { open_.push_back({str(name), std::chrono::steady_clock::now()}); }

void ScriptHost::stepEnd(bool ok) {
  if (open_.empty()) return;
  OpenStep s = std::move(open_.back());
  open_.pop_back();
  if (!open_.empty()) return;
  recordStep({s.name, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s.start).count(), ok});
}

double ScriptHost::durationMs(const QString& text) const {
  auto d = parseDuration(str(text));
  if (!d.ok()) return -1;
  return std::chrono::duration<double, std::milli>(*d).count();
}

void ScriptHost::attach(QJSEngine* js, const std::string& script_path) {
  js_ = js;
  script_dir_ = std::filesystem::path(script_path).parent_path().string();
  included_.clear();
}

QString ScriptHost::include(const QString& relative_path) {
  auto failure = [](const std::string& name, const std::string& message) {
    return qstr(nlohmann::json{{"name", name}, {"message", message}}.dump());
  };
  const std::string rel = str(relative_path);
  if (js_ == nullptr) return failure("Error", "include() is not available here");
  if (rel.empty() || std::filesystem::path(rel).is_absolute()) {
    return failure("TypeError", "include('" + rel + "'): give a path relative to the scenario file's folder");
  }
  std::filesystem::path full = std::filesystem::path(script_dir_.empty() ? "." : script_dir_) / rel;
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(full, ec);
  const std::string key = ec ? full.lexically_normal().string() : canonical.string();
  if (included_.count(key) != 0) return {};
  std::string text;
  const std::string shown = full.lexically_normal().string();
  if (!readFile(shown, &text)) return failure("Error", "include('" + rel + "'): cannot read " + shown);
  included_.insert(key);
  QStringList trace;
  QJSValue r = js_->evaluate(QString::fromUtf8(text.data(), static_cast<int>(text.size())), qstr(shown), 1, &trace);
  if (!r.isError()) return {};
  ErrorPlace p = placeOf(r, trace, shown, text);
  return failure(p.name, "include('" + rel + "'): " + shown + ":" + p.text());
}

QString ScriptHost::diagram(const QString& trace_id) {
  if (link_ == nullptr || trace_id.isEmpty()) return "(no events)";
  auto events = link_->traceEvents(str(trace_id));
  if (events.empty()) return "(no events recorded for this trace)";
  return qstr(flow::renderTextDiagram(events));
}

// ---------------------------------------------------------------------------------------
// ScenarioEngine

uint64_t scenarioSeed(uint64_t run_seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return run_seed * 0x9e3779b97f4a7c15ull ^ h;
}

ScenarioEngine::ScenarioEngine(EngineOptions options) : options_(std::move(options)) {}
ScenarioEngine::~ScenarioEngine() = default;

Result<std::vector<ScenarioInfo>> ScenarioEngine::load(const std::string& path) {
  std::string text;
  if (!readFile(path, &text)) return NotFound("cannot read scenario file " + path);
  QJSEngine js;
  ScriptHost host(nullptr, 0, nullptr);
  installHost(js, host, path);
  int line = 0, column = 0;
  std::string error = evaluateScript(js, path, text, &line, &column);
  if (!error.empty()) return InvalidArgument(error);
  QJSValue names = js.globalObject().property("__scenarioNames").call();
  auto list = nlohmann::json::parse(str(names.toString()), nullptr, false);
  if (!list.is_array()) return Internal("the scenario prelude returned no list");
  if (list.empty()) return InvalidArgument(path + ": declares no scenario (call scenario(\"name\", {run() {...}}))");
  std::vector<ScenarioInfo> out;
  for (const auto& n : list) out.push_back({path, n.get<std::string>()});
  return out;
}

ScenarioOutcome ScenarioEngine::run(const ScenarioInfo& scenario) {
  ScenarioOutcome out;
  out.file = scenario.file;
  out.name = scenario.name;
  const auto t0 = std::chrono::steady_clock::now();
  auto finish = [&]() -> ScenarioOutcome& {
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
  };
  std::string text;
  if (!readFile(scenario.file, &text)) {
    out.verdict = Verdict::kError;
    out.message = "cannot read scenario file " + scenario.file;
    return finish();
  }
  QJSEngine js;
  ScriptHost host(options_.link, scenarioSeed(options_.seed, scenario.name), options_.on_log, options_.on_step);
  installHost(js, host, scenario.file);
  int line = 0, column = 0;
  if (std::string error = evaluateScript(js, scenario.file, text, &line, &column); !error.empty()) {
    out.verdict = Verdict::kError;
    out.message = error;
    out.location = scenario.file + ":" + std::to_string(line) + ":" + std::to_string(column);
    return finish();
  }
  if (options_.link != nullptr) {
    if (auto r = options_.link->invoke("scenario.begin", {{"name", scenario.name}}); !r.ok()) {
      out.verdict = Verdict::kFailed;
      out.message = "could not prepare the bank: " + r.status().message();
      return finish();
    }
  }
  std::chrono::milliseconds limit = options_.scenario_timeout;
  {
    double custom = js.globalObject().property("__scenarioTimeout").call({qstr(scenario.name)}).toNumber();
    if (custom > 0) limit = std::chrono::milliseconds(static_cast<int64_t>(custom));
  }
  const std::vector<std::string> lines = fileLines(text);
  bool failed = false;
  bool stopped = false;
  {
    Watchdog watchdog(js, limit, options_.cancel);
    QJSValue run_phase = js.globalObject().property("__runPhase");
    for (const char* phase : {"setup", "run", "teardown"}) {
      if (failed && std::string(phase) == "run") continue;  // setup failed: skip run, still tear down
      if (stopped) break;                                   // stopped: not even teardown
      QJSValue r = run_phase.call({qstr(scenario.name), QString(phase)});
      if (watchdog.cancelled() && !stopped) {
        stopped = true;
        failed = true;
        out.verdict = Verdict::kFailed;
        out.message = "stopped by the user in " + std::string(phase) + " (teardown and the invariant check skipped)";
        js.setInterrupted(false);
        continue;
      }
      if (r.isError()) {  // the engine itself failed the call (interrupted)
        if (!failed) {
          failed = true;
          out.verdict = Verdict::kFailed;
          out.message = watchdog.fired() ? "scenario '" + scenario.name + "' ran longer than its limit of " +
                                               formatDuration(limit) + " and was interrupted in " + phase
                                         : std::string(phase) + ": " + str(r.toString());
        }
        js.setInterrupted(false);
        continue;
      }
      if (r.property("ok").toBool() || failed) continue;
      failed = true;
      const std::string name = str(r.property("name").toString());
      const std::string message = str(r.property("message").toString());
      auto frames = parseStack(str(r.property("stack").toString()));
      int fl = 0;
      for (const auto& f : frames) {
        if (f.file == scenario.file) {
          fl = f.line;
          break;
        }
      }
      const bool script_bug = name == "ReferenceError" || name == "TypeError" || name == "SyntaxError" ||
                              name == "RangeError" || name == "URIError" || name == "EvalError";
      out.verdict = script_bug ? Verdict::kError : Verdict::kFailed;
      std::string where;
      if (fl > 0) {
        int col = fl <= static_cast<int>(lines.size()) ? guessColumn(lines[fl - 1], name, message) : 1;
        out.location = scenario.file + ":" + std::to_string(fl) + ":" + std::to_string(col);
        where = out.location + ": ";
      }
      out.message = where + name + " in " + phase + ": " + message + "\n" + formatStack(frames);
      out.trace_id = str(r.property("trace").toString());
    }
    watchdog.finish();
  }
  if (options_.link != nullptr) {
    // Background load the script left running ends before the bank is checked.
    if (auto r = options_.link->invoke("scenario.end", nlohmann::json::object()); !r.ok()) {
      if (!failed) out.verdict = Verdict::kFailed;
      failed = true;
      out.message += std::string(out.message.empty() ? "" : "\n") + "could not end the scenario's background load: " +
                     r.status().message();
    }
    auto report = stopped ? Result<std::optional<InvariantReport>>(std::optional<InvariantReport>())
                          : options_.link->check();
    if (!report.ok()) {
      if (!failed) out.verdict = Verdict::kFailed;
      out.message += std::string(out.message.empty() ? "" : "\n") + "the invariant check could not run: " + report.status().message();
    } else if (report->has_value()) {
      out.invariants = (*report)->text;
      if (!(*report)->clean) {
        if (!failed) out.verdict = Verdict::kFailed;
        out.message += std::string(out.message.empty() ? "" : "\n") + "bank invariants violated after the scenario:\n" + (*report)->text;
      }
    }
  }
  out.steps = host.steps();
  out.log = host.logs();
  if (out.verdict != Verdict::kPassed && options_.link != nullptr) {
    if (out.trace_id.empty()) out.trace_id = str(js.globalObject().property("lastTrace").call().toString());
    if (!out.trace_id.empty()) out.trace_events = options_.link->traceEvents(out.trace_id);
  }
  return finish();
}

}  // namespace sandbank::scenario
