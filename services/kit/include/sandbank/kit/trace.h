// Trace context for the kit: W3C `traceparent` values, the context of the call the
// current thread is serving, and fresh ids. The kit's interceptors read it from incoming
// gRPC metadata and write it to outgoing calls, so services never handle it by hand.
// Thread-safety: the current context is thread-local; the id generators are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sandbank::kit {

inline constexpr const char* kTraceparentHeader = "traceparent";
// The calling service's name, added to every outgoing call so the mesh can name the source.
inline constexpr const char* kSourceHeader = "sandbank-source";

struct TraceContext {
  std::string trace_id;  // 32 lowercase hex digits
  std::string span_id;   // 16 lowercase hex digits: the span of the current call
  std::string parent_span_id;
  bool valid() const { return trace_id.size() == 32 && span_id.size() == 16; }
};

// "00-<trace>-<span>-01" -> context (parent_span_id empty). Rejects malformed input.
std::optional<TraceContext> parseTraceparent(std::string_view header);
std::string formatTraceparent(const TraceContext& ctx);

std::string newTraceId();
std::string newSpanId();

// The context of the RPC (or message) this thread is handling; empty when none.
const TraceContext& currentTrace();
void setCurrentTrace(TraceContext ctx);

// Sets the current trace for a scope and restores the previous one afterwards. Used by
// bus consumers, which take the context from a record header.
class TraceScope {
 public:
  explicit TraceScope(TraceContext ctx);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  TraceContext saved_;
};

// A context for a new outgoing call or message: same trace (or a new one when there is
// none), a new span, and the current span as parent.
TraceContext childOf(const TraceContext& parent);

}  // namespace sandbank::kit
