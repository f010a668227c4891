// The gRPC face of the notification service (sandbank.bank.notification.Notification),
// free of gRPC headers. Thread-safety: as Notifications (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::notification {

class Notifications;

// `notifications` must outlive the service.
std::unique_ptr<grpc::Service> makeNotificationGrpcService(Notifications& notifications);

}  // namespace sandbank::notification
