// JSON-lines log formatting and parsing, and the Logger.
#include "sandbank/core/log.h"

#include <cstdio>
#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "sandbank/core/text.h"

namespace sandbank {

std::string_view logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

Result<LogLevel> parseLogLevel(std::string_view name) {
  if (name == "debug" || name == "trace") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn" || name == "warning") return LogLevel::kWarn;
  if (name == "error" || name == "fatal") return LogLevel::kError;
  return InvalidArgument("unknown log level '" + std::string(name) +
                         "' (expected debug, info, warn or error)");
}

std::string formatTimestamp(TimePoint t) {
  int64_t us = toMicros(t);
  time_t secs = static_cast<time_t>(us / 1'000'000);
  int64_t frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // generous: gcc cannot prove the fields stay small
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string formatLogLine(const LogRecord& r) {
  std::string out;
  out.reserve(96 + r.message.size());
  out += "{\"ts\":\"";
  out += formatTimestamp(r.time);
  out += "\",\"level\":\"";
  out += logLevelName(r.level);
  out += "\",\"service\":";
  appendJsonString(out, r.component);
  if (!r.trace.empty()) {
    out += ",\"trace\":";
    appendJsonString(out, r.trace);
  }
  out += ",\"msg\":";
  appendJsonString(out, r.message);
  for (const auto& [k, v] : r.fields) {
    out.push_back(',');
    appendJsonString(out, k);
    out.push_back(':');
    appendJsonString(out, v);
  }
  out.push_back('}');
  return out;
}

Result<LogRecord> parseLogLine(std::string_view line) {
  if (line.empty() || line.front() != '{') return InvalidArgument("not a JSON log line");
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("msg")) return InvalidArgument("not a JSON log line");
  LogRecord r;
  r.time = SystemClock::instance().now();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    std::string value = it->is_string() ? it->get<std::string>() : it->dump();
    if (key == "msg") {
      r.message = value;
    } else if (key == "level") {
      r.level = parseLogLevel(value).valueOr(LogLevel::kInfo);
    } else if (key == "service") {
      r.component = value;
    } else if (key == "trace") {
      r.trace = value;
    } else if (key == "ts") {
      // Kept as received; the supervisor stamps its own receive time.
      r.fields.emplace_back(key, value);
    } else {
      r.fields.emplace_back(key, value);
    }
  }
  return r;
}

Logger::Logger(std::string component, const Clock& clock)
    : component_(std::move(component)), clock_(clock) {
  sink_ = [](const LogRecord& r) { std::cerr << formatLogLine(r) << '\n'; };
}

void Logger::setSink(Sink sink) {
  std::lock_guard lock(mu_);
  sink_ = std::move(sink);
}

void Logger::setMinLevel(LogLevel level) {
  std::lock_guard lock(mu_);
  min_level_ = level;
}

void Logger::log(LogLevel level, std::string_view message, LogFields fields,
                 std::string_view trace) {
  std::lock_guard lock(mu_);
  if (level < min_level_ || !sink_) return;
  LogRecord r{clock_.now(), level, component_, std::string(trace), std::string(message),
              std::move(fields)};
  sink_(r);
}

}  // namespace sandbank
