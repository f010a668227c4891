// sandbank.bank.notification.Notification over gRPC: each RPC forwards to Notifications
// and turns its Status into a grpc::Status with the same code and reason.
// Thread-safety: as Notifications.
#include "sandbank/notification/notification_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/notification.grpc.pb.h"
#include "sandbank/notification/notifications.h"

namespace sandbank::notification {
namespace {

template <class T>
grpc::Status reply(Result<T> r, T* out) {
  if (!r.ok()) return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

class NotificationGrpcService final : public pb::Notification::Service {
 public:
  explicit NotificationGrpcService(Notifications& n) : n_(n) {}
  grpc::Status RegisterDevice(grpc::ServerContext*, const pb::RegisterDeviceRequest* r, pb::Device* out) override {
    return reply(n_.registerDevice(*r), out);
  }
  grpc::Status ListPushes(grpc::ServerContext*, const pb::ListPushesRequest* r, pb::ListPushesResponse* out) override {
    return reply(n_.listPushes(*r), out);
  }

 private:
  Notifications& n_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeNotificationGrpcService(Notifications& notifications) {
  return std::make_unique<NotificationGrpcService>(notifications);
}

}  // namespace sandbank::notification
