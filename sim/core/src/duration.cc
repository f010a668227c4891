// Duration parsing and formatting for manifests and scenarios.
#include "sandbank/core/duration.h"

#include <cctype>
#include <cstdint>

namespace sandbank {
namespace {

struct Unit {
  std::string_view name;
  int64_t nanos;
};
// Longest names first so "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
    {"d", 86'400'000'000'000},
};

}  // namespace

Result<std::chrono::nanoseconds> parseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("bad duration '" + std::string(text) + "': " + std::string(why) +
                           " (expected e.g. 250ms, 2s, 1m30s, 7d)");
  };
  if (text.empty()) return bad("empty");
  if (text == "0") return std::chrono::nanoseconds(0);
  size_t i = 0;
  long double total = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) return bad("expected a number");
    long double number = 0;
    try {
      number = std::stold(std::string(text.substr(start, i - start)));
    } catch (...) {
      return bad("not a number");
    }
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    if (unit.empty()) return bad("missing unit");
    const Unit* found = nullptr;
    for (const Unit& u : kUnits) {
      if (u.name == unit) found = &u;
    }
    if (!found) return bad("unknown unit '" + std::string(unit) + "'");
    total += number * static_cast<long double>(found->nanos);
  }
  if (total > 9.2e18L) return bad("too large");
  return std::chrono::nanoseconds(static_cast<int64_t>(total));
}

std::string formatDuration(std::chrono::nanoseconds d) {
  int64_t n = d.count();
  if (n == 0) return "0s";
  std::string sign = n < 0 ? "-" : "";
  if (n < 0) n = -n;
  for (auto it = std::rbegin(kUnits); it != std::rend(kUnits); ++it) {
    if (n >= it->nanos) {
      if (n % it->nanos == 0) return sign + std::to_string(n / it->nanos) + std::string(it->name);
      // One decimal place when it is exact, e.g. 1.5s.
      if ((n * 10) % it->nanos == 0) {
        int64_t tenths = n * 10 / it->nanos;
        return sign + std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) +
               std::string(it->name);
      }
    }
  }
  return sign + std::to_string(n) + "ns";
}

}  // namespace sandbank
