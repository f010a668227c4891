// The gRPC face of the pots service (sandbank.bank.pots.Pots), free of gRPC headers.
// Thread-safety: as Pots (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::pots {

class Pots;

// `pots` must outlive the service.
std::unique_ptr<grpc::Service> makePotsGrpcService(Pots& pots);

}  // namespace sandbank::pots
