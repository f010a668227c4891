// FlowQuery::trace and LiveFlowQuery: answers computed from the hub's ring with the same
// FlowFilter predicate the recording query applies. No state of its own.
#include <algorithm>
#include <unordered_map>

#include "sandbank/flow/flow_hub.h"
#include "sandbank/flow/flow_query.h"

namespace sandbank::flow {

Result<std::vector<FlowEvent>> FlowQuery::trace(const std::string& trace_id) {
  if (trace_id.empty()) return InvalidArgument("trace id is empty");
  FlowFilter f;
  f.trace_id = trace_id;
  SANDBANK_ASSIGN_OR_RETURN(auto events, this->events(f));
  if (events.empty()) return NotFound("no events for trace " + trace_id);
  return events;
}

Result<std::vector<FlowEvent>> LiveFlowQuery::events(const FlowFilter& filter, size_t limit) {
  auto ptrs = hub_.recent(filter, limit);
  std::vector<FlowEvent> out;
  out.reserve(ptrs.size());
  for (const auto& p : ptrs) out.push_back(*p);
  return out;
}

Result<std::vector<TraceSummary>> LiveFlowQuery::traces(size_t limit) {
  auto all = hub_.recent();
  std::vector<TraceSummary> out;
  std::unordered_map<std::string_view, size_t> index;  // trace id -> position in out
  for (const auto& p : all) {
    const FlowEvent& e = *p;
    if (e.trace_id.empty()) continue;
    auto [it, fresh] = index.try_emplace(e.trace_id, out.size());
    if (fresh) {
      TraceSummary t;
      t.trace_id = e.trace_id;
      t.first_event_id = e.id;
      t.start_sim_us = e.start_sim_us;
      t.end_sim_us = e.end_sim_us;
      t.root_source = e.source;
      t.root_method = e.method;
      out.push_back(std::move(t));
    }
    TraceSummary& t = out[it->second];
    t.last_event_id = e.id;
    t.start_sim_us = std::min(t.start_sim_us, e.start_sim_us);
    t.end_sim_us = std::max(t.end_sim_us, e.end_sim_us);
    ++t.events;
    if (e.status != "OK" || e.kind == FlowKind::kFault) ++t.errors;
  }
  // `out` is already ascending by first event id (the ring is in id order).
  if (limit > 0 && out.size() > limit) out.erase(out.begin(), out.end() - limit);
  return out;
}

}  // namespace sandbank::flow
