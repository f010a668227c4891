// FlowKind names.
#include "sandbank/flow/flow_event.h"

#include <array>

namespace sandbank::flow {
namespace {
constexpr std::array<std::string_view, 13> kNames = {
    "rpc",    "publish", "deliver", "commit", "rebalance", "store",  "replica-write",
    "replica-read", "hint", "repair", "fault", "process", "log"};
}  // namespace

std::string_view flowKindName(FlowKind kind) {
  auto i = static_cast<size_t>(kind);
  return i < kNames.size() ? kNames[i] : "unknown";
}

bool parseFlowKind(std::string_view name, FlowKind* out) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) {
      *out = static_cast<FlowKind>(i);
      return true;
    }
  }
  return false;
}

}  // namespace sandbank::flow
