// Conversions between the control API's messages and the engines' types: fault rules,
// flow events (flow_proto.h) and flow filters. Bad input becomes InvalidArgument naming the field.
// Thread-safety: pure functions.
#pragma once

#include "sandbank/control.pb.h"
#include "sandbank/control/flow_proto.h"
#include "sandbank/core/result.h"
#include "sandbank/faults/fault_engine.h"
#include "sandbank/flow/flow_event.h"
#include "sandbank/flow/flow_filter.h"

namespace sandbank::control {

Result<faults::FaultRule> faultRuleFromProto(const sandbank::control::FaultRule& in);
void faultRuleToProto(const faults::FaultRuleState& in, sandbank::control::FaultRule* out);

Result<flow::FlowFilter> flowFilterFromProto(const sandbank::control::FlowFilter& in);

}  // namespace sandbank::control
