// Human durations as written in manifests and scenarios: "250ms", "2s", "1m30s", "7d".
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "sandbank/core/result.h"

namespace sandbank {

// Parses one or more <number><unit> groups; units: ns, us, ms, s, m, h, d. A bare "0"
// is allowed. Errors name the offending text.
Result<std::chrono::nanoseconds> parseDuration(std::string_view text);

// The shortest exact rendering: 1500ms -> "1.5s", 7 days -> "7d", 0 -> "0s".
std::string formatDuration(std::chrono::nanoseconds d);

}  // namespace sandbank
