// Trace ids and the thread-local current context.
#include "sandbank/kit/trace.h"

#include <cctype>
#include <random>

namespace sandbank::kit {
namespace {

thread_local TraceContext t_current;

std::string randomHex(size_t digits) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string out(digits, '0');
  uint64_t bits = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) bits = rng();
    out[i] = kHex[bits & 0xf];
    bits >>= 4;
  }
  return out;
}

bool isHex(std::string_view s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::optional<TraceContext> parseTraceparent(std::string_view h) {
  // version(2) - trace(32) - span(16) - flags(2)
  if (h.size() != 55 || h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  std::string_view trace = h.substr(3, 32), span = h.substr(36, 16);
  if (!isHex(h.substr(0, 2)) || !isHex(trace) || !isHex(span) || !isHex(h.substr(53, 2))) return std::nullopt;
  if (trace == std::string(32, '0') || span == std::string(16, '0')) return std::nullopt;
  return TraceContext{std::string(trace), std::string(span), ""};
}

std::string formatTraceparent(const TraceContext& ctx) {
  return "00-" + ctx.trace_id + "-" + ctx.span_id + "-01";
}

std::string newTraceId() { return randomHex(32); }
std::string newSpanId() { return randomHex(16); }

const TraceContext& currentTrace() { return t_current; }
void setCurrentTrace(TraceContext ctx) { t_current = std::move(ctx); }

TraceScope::TraceScope(TraceContext ctx) : saved_(t_current) { t_current = std::move(ctx); }
TraceScope::~TraceScope() { t_current = std::move(saved_); }

TraceContext childOf(const TraceContext& parent) {
  TraceContext c;
  c.trace_id = parent.trace_id.empty() ? newTraceId() : parent.trace_id;
  c.span_id = newSpanId();
  c.parent_span_id = parent.span_id;
  return c;
}

}  // namespace sandbank::kit
