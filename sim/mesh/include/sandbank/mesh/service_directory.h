// ServiceDirectory: where the mesh learns which endpoints serve a service name and which
// of them are healthy. The supervisor implements it over the processes it runs;
// InMemoryServiceDirectory is a simple table for tests, benchmarks and embedding.
// Thread-safety: implementations must be safe to call from any thread (the mesh calls
// them from its completion-queue threads, once per call).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::mesh {

struct Endpoint {
  std::string address;  // "127.0.0.1:40123"
  bool healthy = true;
};

class ServiceDirectory {
 public:
  virtual ~ServiceDirectory() = default;
  // Every endpoint registered for `service`, healthy or not, in a stable order.
  // NotFound when no service has that name.
  virtual Result<std::vector<Endpoint>> endpoints(std::string_view service) const = 0;
  // Every known service name, sorted; used in errors that list what exists.
  virtual std::vector<std::string> serviceNames() const = 0;
};

// A mutex-guarded map from service name to endpoints.
class InMemoryServiceDirectory final : public ServiceDirectory {
 public:
  // Replaces the endpoints of `service` (creating it).
  void setEndpoints(const std::string& service, std::vector<Endpoint> endpoints);
  // Adds one healthy endpoint to `service` (creating it).
  void addEndpoint(const std::string& service, const std::string& address);
  // NotFound when the service or the address is unknown.
  Status setHealthy(const std::string& service, const std::string& address, bool healthy);
  void removeService(const std::string& service);

  Result<std::vector<Endpoint>> endpoints(std::string_view service) const override;
  std::vector<std::string> serviceNames() const override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Endpoint>, std::less<>> services_;  // guarded by mu_
};

}  // namespace sandbank::mesh
