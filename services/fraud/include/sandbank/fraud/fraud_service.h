// The gRPC face of the fraud service (sandbank.bank.fraud.Fraud), free of gRPC headers.
// Thread-safety: as Fraud (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::fraud {

class Fraud;

// `fraud` must outlive the service.
std::unique_ptr<grpc::Service> makeFraudGrpcService(Fraud& fraud);

}  // namespace sandbank::fraud
