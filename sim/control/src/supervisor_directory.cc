// Lifecycle events -> mesh endpoints.
#include "supervisor_directory.h"

namespace sandbank::control {

void SupervisorDirectory::declare(const std::vector<std::string>& services) {
  for (const auto& s : services) table_.setEndpoints(s, {});
}

void SupervisorDirectory::onLifecycle(const supervisor::LifecycleEvent& e) {
  std::lock_guard lock(mu_);
  auto& instances = instances_[e.service];
  if (e.what == "ready" || e.what == "healthy") {
    if (e.port <= 0) return;  // no port: nothing the mesh could route to
    instances[e.instance] = {"127.0.0.1:" + std::to_string(e.port), true};
  } else if (e.what == "unhealthy") {
    auto it = instances.find(e.instance);
    if (it != instances.end()) it->second.healthy = false;
  } else if (e.what != "started") {
    instances.erase(e.instance);  // exited, stopping, stopped, restarting, gave-up
  }
  std::vector<mesh::Endpoint> list;
  for (const auto& [name, ep] : instances) list.push_back({ep.address, ep.healthy});
  table_.setEndpoints(e.service, std::move(list));
}

Result<std::vector<mesh::Endpoint>> SupervisorDirectory::endpoints(std::string_view service) const {
  return table_.endpoints(service);
}

}  // namespace sandbank::control
