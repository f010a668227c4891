// ServiceNameSink: puts the bus's and the logs' flow events on the same lifelines as the
// mesh's. The mesh names services ("ledger"), while bus clients and log lines name
// instances ("ledger-1"); this sink rewrites "<service>-<n>" to "<service>" for services
// of the manifest before passing events on, so a trace's sequence diagram has one
// participant per service. Process events keep instance names (which instance restarted
// matters there).
// Thread-safety: emit() may be called from any thread; the name set is fixed at creation.
#pragma once

#include <set>
#include <string>
#include <utility>

#include "sandbank/flow/flow_event.h"

namespace sandbank::control {

class ServiceNameSink final : public flow::FlowSink {
 public:
  ServiceNameSink(flow::FlowSink& next, std::set<std::string> services)
      : next_(next), services_(std::move(services)) {}

  void emit(flow::FlowEvent event) override {
    if (event.kind != flow::FlowKind::kProcess) {
      event.source = serviceOf(event.source);
      event.destination = serviceOf(event.destination);
    }
    next_.emit(std::move(event));
  }

  // "ledger-1" -> "ledger" when "ledger" is a service; anything else unchanged.
  std::string serviceOf(const std::string& name) const {
    size_t dash = name.rfind('-');
    if (dash == std::string::npos || dash + 1 >= name.size()) return name;
    for (size_t i = dash + 1; i < name.size(); ++i)
      if (name[i] < '0' || name[i] > '9') return name;
    std::string service = name.substr(0, dash);
    return services_.count(service) ? service : name;
  }

 private:
  flow::FlowSink& next_;
  const std::set<std::string> services_;
};

}  // namespace sandbank::control
