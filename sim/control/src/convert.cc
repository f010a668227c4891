// Control API <-> engine conversions.
#include "convert.h"

#include "sandbank/core/duration.h"

namespace sandbank::control {
namespace {

Result<std::optional<Duration>> optionalDuration(const std::string& text, const char* field) {
  if (text.empty()) return std::optional<Duration>();
  auto d = parseDuration(text);
  if (!d.ok()) return d.status().withContext(field);
  return std::optional<Duration>(*d);
}

Result<StatusCode> codeByName(const std::string& name) {
  if (name.empty()) return StatusCode::kUnavailable;
  for (int c = 0; c <= 16; ++c)
    if (statusCodeName(static_cast<StatusCode>(c)) == name) return static_cast<StatusCode>(c);
  return InvalidArgument("code: unknown gRPC code '" + name + "' (expected e.g. UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL)");
}

}  // namespace

Result<faults::FaultRule> faultRuleFromProto(const sandbank::control::FaultRule& in) {
  faults::FaultRule r;
  if (in.id().empty()) return InvalidArgument("id: a fault rule needs a name");
  r.id = in.id();
  r.match.source = in.source();
  r.match.destination = in.destination();
  r.match.method = in.method();
  r.match.topic = in.topic();
  r.match.table = in.table();
  if (!faults::parseFaultActionKind(in.action(), &r.action.kind))
    return InvalidArgument("action: unknown action '" + in.action() + "' (expected delay, fail, drop or partition)");
  SANDBANK_ASSIGN_OR_RETURN(auto delay, optionalDuration(in.delay(), "delay"));
  SANDBANK_ASSIGN_OR_RETURN(auto jitter, optionalDuration(in.jitter(), "jitter"));
  r.action.delay = delay.value_or(Duration(0));
  r.action.jitter = jitter.value_or(Duration(0));
  SANDBANK_ASSIGN_OR_RETURN(r.action.code, codeByName(in.code()));
  r.action.message = in.message();
  r.action.side_a.assign(in.side_a().begin(), in.side_a().end());
  r.action.side_b.assign(in.side_b().begin(), in.side_b().end());
  r.action.probability = in.probability() == 0 ? 1.0 : in.probability();
  if (r.action.probability < 0 || r.action.probability > 1) return InvalidArgument("probability: must be within 0..1");
  SANDBANK_ASSIGN_OR_RETURN(r.timing.start_after, optionalDuration(in.start_after(), "start_after"));
  SANDBANK_ASSIGN_OR_RETURN(r.timing.stop_after, optionalDuration(in.stop_after(), "stop_after"));
  if (in.max_hits() > 0) r.timing.max_hits = in.max_hits();
  return r;
}

void faultRuleToProto(const faults::FaultRuleState& in, sandbank::control::FaultRule* out) {
  const faults::FaultRule& r = in.rule;
  out->set_id(r.id);
  out->set_source(r.match.source);
  out->set_destination(r.match.destination);
  out->set_method(r.match.method);
  out->set_topic(r.match.topic);
  out->set_table(r.match.table);
  out->set_action(std::string(faults::faultActionKindName(r.action.kind)));
  if (r.action.delay.count() > 0) out->set_delay(formatDuration(r.action.delay));
  if (r.action.jitter.count() > 0) out->set_jitter(formatDuration(r.action.jitter));
  out->set_code(std::string(statusCodeName(r.action.code)));
  out->set_message(r.action.message);
  for (const auto& s : r.action.side_a) out->add_side_a(s);
  for (const auto& s : r.action.side_b) out->add_side_b(s);
  out->set_probability(r.action.probability);
  if (r.timing.start_after) out->set_start_after(formatDuration(*r.timing.start_after));
  if (r.timing.stop_after) out->set_stop_after(formatDuration(*r.timing.stop_after));
  if (r.timing.max_hits) out->set_max_hits(*r.timing.max_hits);
  out->set_hits(in.hits);
  out->set_matched(in.matched);
  out->set_active(in.active);
}

Result<flow::FlowFilter> flowFilterFromProto(const sandbank::control::FlowFilter& in) {
  flow::FlowFilter f;
  f.trace_id = in.trace_id();
  f.service = in.service();
  for (const auto& k : in.kinds()) {
    flow::FlowKind kind;
    if (!flow::parseFlowKind(k, &kind))
      return InvalidArgument("kinds: unknown kind '" + k +
                             "' (expected rpc, publish, deliver, commit, rebalance, store, replica-write, "
                             "replica-read, hint, repair, fault, process or log)");
    f.addKind(kind);
  }
  f.what_glob = in.what();
  f.status = in.status();
  f.errors_only = in.errors_only();
  f.text = in.text();
  if (in.from_sim_us() != 0) f.from_sim_us = in.from_sim_us();
  if (in.to_sim_us() != 0) f.to_sim_us = in.to_sim_us();
  return f;
}

void flowEventToProto(const flow::FlowEvent& e, sandbank::control::FlowEvent* out) {
  out->set_id(e.id);
  out->set_trace_id(e.trace_id);
  out->set_span_id(e.span_id);
  out->set_parent_span_id(e.parent_span_id);
  out->set_start_sim_us(e.start_sim_us);
  out->set_end_sim_us(e.end_sim_us);
  out->set_start_real_us(e.start_real_us);
  out->set_end_real_us(e.end_real_us);
  out->set_kind(std::string(flow::flowKindName(e.kind)));
  out->set_source(e.source);
  out->set_destination(e.destination);
  out->set_method(e.method);
  out->set_topic(e.topic);
  out->set_partition(e.partition);
  out->set_offset(e.offset);
  out->set_consumer_group(e.consumer_group);
  out->set_keyspace(e.keyspace);
  out->set_table(e.table);
  out->set_partition_key(e.partition_key);
  out->set_status(e.status);
  out->set_size(e.size);
  out->set_payload(e.payload);
  out->set_payload_type(e.payload_type);
  out->set_detail(e.detail);
}

flow::FlowEvent flowEventFromProto(const sandbank::control::FlowEvent& in) {
  flow::FlowEvent e;
  e.id = in.id();
  e.trace_id = in.trace_id();
  e.span_id = in.span_id();
  e.parent_span_id = in.parent_span_id();
  e.start_sim_us = in.start_sim_us();
  e.end_sim_us = in.end_sim_us();
  e.start_real_us = in.start_real_us();
  e.end_real_us = in.end_real_us();
  if (!flow::parseFlowKind(in.kind(), &e.kind)) e.kind = flow::FlowKind::kLog;
  e.source = in.source();
  e.destination = in.destination();
  e.method = in.method();
  e.topic = in.topic();
  e.partition = in.partition();
  e.offset = in.offset();
  e.consumer_group = in.consumer_group();
  e.keyspace = in.keyspace();
  e.table = in.table();
  e.partition_key = in.partition_key();
  e.status = in.status();
  e.size = in.size();
  e.payload = in.payload();
  e.payload_type = in.payload_type();
  e.detail = in.detail();
  return e;
}

}  // namespace sandbank::control
