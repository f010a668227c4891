// flowEventFromProto: the inverse of the control server's flowEventToProto.
#include "proto_convert.h"

namespace sandbank::gui {

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

}  // namespace sandbank::gui
