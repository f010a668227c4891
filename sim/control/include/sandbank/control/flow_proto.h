// A flow event to and from its control-API message (sandbank.control.FlowEvent): the
// control server sends events one way, and its clients (the GUI, the scenario link over
// the control port) read them back the other.
// Thread-safety: pure functions.
#pragma once

#include "sandbank/control.pb.h"
#include "sandbank/flow/flow_event.h"

namespace sandbank::control {

void flowEventToProto(const flow::FlowEvent& in, sandbank::control::FlowEvent* out);
// An unknown kind name reads as a log event.
flow::FlowEvent flowEventFromProto(const sandbank::control::FlowEvent& in);

}  // namespace sandbank::control
