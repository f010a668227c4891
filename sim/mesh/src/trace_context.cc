// traceparent parsing and random ids.
#include "sandbank/mesh/trace_context.h"

#include <random>

namespace sandbank::mesh {
namespace {

bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool allZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

std::string randomHex(size_t digits) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(digits);
  while (out.size() < digits) {
    uint64_t v = rng();
    for (int i = 0; i < 16 && out.size() < digits; ++i, v >>= 4) out.push_back(kHex[v & 0xf]);
  }
  if (allZero(out)) out.back() = '1';
  return out;
}

}  // namespace

std::optional<TraceContext> parseTraceparent(std::string_view h) {
  // 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
  if (h.size() != 55 || h.substr(0, 3) != "00-" || h[35] != '-' || h[52] != '-') return std::nullopt;
  std::string_view trace = h.substr(3, 32), span = h.substr(36, 16), flags = h.substr(53, 2);
  if (!isLowerHex(trace) || !isLowerHex(span) || !isLowerHex(flags)) return std::nullopt;
  if (allZero(trace) || allZero(span)) return std::nullopt;
  return TraceContext{std::string(trace), std::string(span)};
}

std::string formatTraceparent(const TraceContext& c) { return "00-" + c.trace_id + "-" + c.span_id + "-01"; }

std::string newTraceId() { return randomHex(32); }
std::string newSpanId() { return randomHex(16); }

}  // namespace sandbank::mesh
