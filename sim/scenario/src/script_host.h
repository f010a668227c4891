// ScriptHost: the C++ half of the scenario API, exposed to JavaScript as `__host`. The
// prelude (prelude.js) builds the public API on top of it. Bank operations go to the
// BankLink; steps are timed here.
// Thread-safety: lives on the thread of its QJSEngine and is only called from it.
#pragma once

#include <QObject>
#include <QString>

class QJSEngine;

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "sandbank/scenario/bank_link.h"
#include "sandbank/scenario/outcome.h"

namespace sandbank::scenario {

class ScriptHost : public QObject {
  Q_OBJECT
 public:
  ScriptHost(BankLink* link, uint64_t seed, std::function<void(const std::string&)> on_log,
             std::function<void(const StepTiming&)> on_step = {});

  // Runs a bank operation: answers {"ok":true,"value":...} or
  // {"ok":false,"kind":"BusError","code":"UnknownTopicOrPartition","message":"..."}.
  Q_INVOKABLE QString call(const QString& op, const QString& args_json);
  Q_INVOKABLE double nowMs() const;  // steady real time, for timeouts
  Q_INVOKABLE double random();
  Q_INVOKABLE void pause(double ms);
  Q_INVOKABLE QString diff(const QString& expected, const QString& actual) const;
  Q_INVOKABLE void log(const QString& line);
  Q_INVOKABLE void stepBegin(const QString& name);
  Q_INVOKABLE void stepEnd(bool ok);
  Q_INVOKABLE double durationMs(const QString& text) const;  // -1 when not a duration
  Q_INVOKABLE QString diagram(const QString& trace_id);
  // Evaluates a helper file, relative to the scenario file's folder, in the script's
  // global scope; a file is evaluated once per engine. Answers "" or, on an error,
  // {"name": "SyntaxError", "message": "lib/bank.js:3:5: ..."} as JSON text.
  Q_INVOKABLE QString include(const QString& relative_path);

  // The engine and the scenario file that include() works for.
  void attach(QJSEngine* js, const std::string& script_path);

  const std::vector<StepTiming>& steps() const { return steps_; }
  const std::vector<std::string>& logs() const { return logs_; }

 private:
  void recordStep(StepTiming step);  // keeps it and tells on_step_

  struct OpenStep {
    std::string name;
    std::chrono::steady_clock::time_point start;
  };
  BankLink* link_;
  QJSEngine* js_ = nullptr;
  std::string script_dir_;
  std::set<std::string> included_;  // canonical paths already evaluated
  std::mt19937_64 rng_;
  std::function<void(const std::string&)> on_log_;
  std::function<void(const StepTiming&)> on_step_;
  std::vector<OpenStep> open_;  // nesting: only outermost steps are recorded
  std::vector<StepTiming> steps_;
  std::vector<std::string> logs_;
};

}  // namespace sandbank::scenario
