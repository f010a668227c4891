// W3C trace context as the mesh and the kit carry it in the `traceparent` metadata entry:
// "00-<32 hex trace id>-<16 hex span id>-01". Thread-safety: pure functions; the id
// generators use a per-thread RNG.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sandbank::mesh {

inline constexpr std::string_view kTraceparentKey = "traceparent";
// Set by the kit on outgoing calls: the calling service's name.
inline constexpr std::string_view kSourceKey = "sandbank-source";

struct TraceContext {
  std::string trace_id;  // 32 lowercase hex digits, not all zero
  std::string span_id;   // 16 lowercase hex digits, not all zero
};

// nullopt when `header` is not a version-00 traceparent with valid, non-zero ids.
std::optional<TraceContext> parseTraceparent(std::string_view header);
std::string formatTraceparent(const TraceContext& context);

std::string newTraceId();  // 32 random hex digits
std::string newSpanId();   // 16 random hex digits

}  // namespace sandbank::mesh
