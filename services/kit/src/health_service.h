// The kit's grpc.health.v1 service. gRPC's built-in one keeps asynchronous calls pending
// that hold up Server::Shutdown until its deadline when a check lands just before
// SIGTERM, so services use this small synchronous implementation instead.
// Thread-safety: setServing() and shutdown() from any thread; handlers on gRPC threads.
#pragma once

#include <condition_variable>
#include <mutex>

#include "grpc/health/v1/health.grpc.pb.h"

namespace sandbank::kit {

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  void setServing(bool serving);
  // Ends every Watch stream so the server can shut down at once.
  void shutdown();

  grpc::Status Check(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::health::v1::HealthCheckResponse* resp) override;
  grpc::Status Watch(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  std::mutex mu_;
  std::condition_variable changed_;  // waits on mu_
  bool serving_ = false;             // guarded by mu_
  bool shutdown_ = false;            // guarded by mu_
  uint64_t version_ = 0;             // guarded by mu_: bumps on every change
};

}  // namespace sandbank::kit
