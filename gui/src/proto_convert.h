// Control-API messages -> the Qt-free engine types the GUI's models read.
// Thread-safety: pure functions.
#pragma once

#include "sandbank/control.pb.h"
#include "sandbank/flow/flow_event.h"

namespace sandbank::gui {

flow::FlowEvent flowEventFromProto(const sandbank::control::FlowEvent& in);

}  // namespace sandbank::gui
