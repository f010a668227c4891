// InMemoryServiceDirectory: a map under one mutex.
#include "sandbank/mesh/service_directory.h"

namespace sandbank::mesh {

void InMemoryServiceDirectory::setEndpoints(const std::string& service, std::vector<Endpoint> endpoints) {
  std::lock_guard lock(mu_);
  services_[service] = std::move(endpoints);
}

void InMemoryServiceDirectory::addEndpoint(const std::string& service, const std::string& address) {
  std::lock_guard lock(mu_);
  services_[service].push_back(Endpoint{address, true});
}

Status InMemoryServiceDirectory::setHealthy(const std::string& service, const std::string& address,
                                            bool healthy) {
  std::lock_guard lock(mu_);
  auto it = services_.find(service);
  if (it == services_.end()) return NotFound("no service '" + service + "'");
  for (auto& e : it->second) {
    if (e.address == address) {
      e.healthy = healthy;
      return OkStatus();
    }
  }
  return NotFound("service '" + service + "' has no endpoint " + address);
}

void InMemoryServiceDirectory::removeService(const std::string& service) {
  std::lock_guard lock(mu_);
  services_.erase(service);
}

Result<std::vector<Endpoint>> InMemoryServiceDirectory::endpoints(std::string_view service) const {
  std::lock_guard lock(mu_);
  auto it = services_.find(service);
  if (it == services_.end()) return NotFound("no service '" + std::string(service) + "'");
  return it->second;
}

std::vector<std::string> InMemoryServiceDirectory::serviceNames() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(services_.size());
  for (const auto& [name, _] : services_) out.push_back(name);
  return out;
}

}  // namespace sandbank::mesh
