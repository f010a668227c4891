// The gRPC face of the p2p service (sandbank.bank.p2p.P2p), free of gRPC headers.
// Thread-safety: as Transfers (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::p2p {

class Transfers;

// `transfers` must outlive the service.
std::unique_ptr<grpc::Service> makeP2pGrpcService(Transfers& transfers);

}  // namespace sandbank::p2p
