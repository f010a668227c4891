// SupervisorDirectory: the mesh's view of which instances serve a service, kept up to
// date from the supervisor's lifecycle events (ready/healthy add or mark healthy,
// unhealthy marks unhealthy, any exit or stop removes). The mesh reads it per call.
// Thread-safety: onLifecycle() from the supervisor's threads, reads from mesh threads.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sandbank/mesh/service_directory.h"
#include "sandbank/supervisor/supervisor.h"

namespace sandbank::control {

class SupervisorDirectory final : public mesh::ServiceDirectory {
 public:
  // Names every service of the manifest, so calls to a service with no instance up yet
  // get "no healthy endpoint" rather than "unknown service".
  void declare(const std::vector<std::string>& services);
  void onLifecycle(const supervisor::LifecycleEvent& event);

  Result<std::vector<mesh::Endpoint>> endpoints(std::string_view service) const override;
  std::vector<std::string> serviceNames() const override { return table_.serviceNames(); }

 private:
  struct InstanceEndpoint {
    std::string address;
    bool healthy = true;
  };
  mesh::InMemoryServiceDirectory table_;
  std::mutex mu_;
  // service -> instance -> endpoint; guarded by mu_
  std::map<std::string, std::map<std::string, InstanceEndpoint>> instances_;
};

}  // namespace sandbank::control
