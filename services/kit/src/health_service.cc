// grpc.health.v1 for the whole server (service name "" or the service's own name).
#include "health_service.h"

#include <grpcpp/grpcpp.h>

namespace sandbank::kit {

using grpc::health::v1::HealthCheckResponse;

void HealthService::setServing(bool serving) {
  std::lock_guard lock(mu_);
  if (serving_ == serving) return;
  serving_ = serving;
  ++version_;
  changed_.notify_all();
}

void HealthService::shutdown() {
  std::lock_guard lock(mu_);
  shutdown_ = true;
  serving_ = false;
  ++version_;
  changed_.notify_all();
}

grpc::Status HealthService::Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                                  HealthCheckResponse* resp) {
  std::lock_guard lock(mu_);
  resp->set_status(serving_ ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest*,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  uint64_t seen = ~uint64_t{0};
  std::unique_lock lock(mu_);
  while (!ctx->IsCancelled() && !shutdown_) {
    if (seen != version_) {
      seen = version_;
      HealthCheckResponse r;
      r.set_status(serving_ ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING);
      lock.unlock();
      bool ok = writer->Write(r);
      lock.lock();
      if (!ok) break;
    }
    // Wake periodically to notice a cancelled client.
    changed_.wait_for(lock, std::chrono::milliseconds(200));
  }
  return grpc::Status::OK;
}

}  // namespace sandbank::kit
