// The gRPC face of the fps service (sandbank.bank.fps.Fps), free of gRPC headers.
// Thread-safety: as Payments (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::fps {

class Payments;

// `payments` must outlive the service.
std::unique_ptr<grpc::Service> makeFpsGrpcService(Payments& payments);

}  // namespace sandbank::fps
