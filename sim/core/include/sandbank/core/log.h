// Structured logging: one JSON object per line with time, level, component, trace id,
// message and extra fields. Services and the simulator share the format so the
// supervisor can parse any sandbank process's output.
// Thread-safety: Logger methods may be called from any thread; the sink is invoked
// under the logger's mutex, so lines never interleave.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"

namespace sandbank {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

std::string_view logLevelName(LogLevel level);  // "debug", "info", "warn", "error"
Result<LogLevel> parseLogLevel(std::string_view name);

using LogFields = std::vector<std::pair<std::string, std::string>>;

struct LogRecord {
  TimePoint time;
  LogLevel level = LogLevel::kInfo;
  std::string component;  // "supervisor", or the service name
  std::string trace;      // may be empty
  std::string message;
  LogFields fields;
};

// {"ts":"2026-11-28T15:04:05.123456Z","level":"info","service":"ledger","trace":"..",
//  "msg":"..", <fields>} with no trailing newline.
std::string formatLogLine(const LogRecord& record);

// Parses a line produced by formatLogLine (or any flat JSON object with at least "msg").
// Used by the supervisor to understand service output. Non-JSON lines are an error.
Result<LogRecord> parseLogLine(std::string_view line);

// ISO-8601 UTC with microseconds.
std::string formatTimestamp(TimePoint t);

class Logger {
 public:
  using Sink = std::function<void(const LogRecord&)>;

  // Writes JSON lines to stderr by default.
  Logger(std::string component, const Clock& clock = SystemClock::instance());

  void setSink(Sink sink);
  void setMinLevel(LogLevel level);
  void log(LogLevel level, std::string_view message, LogFields fields = {},
           std::string_view trace = {});
  void debug(std::string_view m, LogFields f = {}) { log(LogLevel::kDebug, m, std::move(f)); }
  void info(std::string_view m, LogFields f = {}) { log(LogLevel::kInfo, m, std::move(f)); }
  void warn(std::string_view m, LogFields f = {}) { log(LogLevel::kWarn, m, std::move(f)); }
  void error(std::string_view m, LogFields f = {}) { log(LogLevel::kError, m, std::move(f)); }

 private:
  std::string component_;
  const Clock& clock_;
  std::mutex mu_;
  Sink sink_;                             // guarded by mu_
  LogLevel min_level_ = LogLevel::kInfo;  // guarded by mu_
};

}  // namespace sandbank
