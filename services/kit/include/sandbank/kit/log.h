// The service's logger: JSON lines on stdout with time, level, service, trace id and
// message (the format in sandbank/core/log.h), which the supervisor parses. The trace id
// is taken from the thread's current trace context.
// Thread-safety: all functions are safe from any thread.
#pragma once

#include <string_view>

#include "sandbank/core/log.h"

namespace sandbank::kit {

// Sets the service name stamped on every line (SANDBANK_SERVICE by default) and the
// minimum level (SANDBANK_LOG_LEVEL).
void initLogging(std::string_view service, LogLevel min_level = LogLevel::kInfo);

void log(LogLevel level, std::string_view message, LogFields fields = {});
inline void logDebug(std::string_view m, LogFields f = {}) { log(LogLevel::kDebug, m, std::move(f)); }
inline void logInfo(std::string_view m, LogFields f = {}) { log(LogLevel::kInfo, m, std::move(f)); }
inline void logWarn(std::string_view m, LogFields f = {}) { log(LogLevel::kWarn, m, std::move(f)); }
inline void logError(std::string_view m, LogFields f = {}) { log(LogLevel::kError, m, std::move(f)); }

}  // namespace sandbank::kit
