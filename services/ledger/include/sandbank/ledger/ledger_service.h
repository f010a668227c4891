// The gRPC face of the ledger (sandbank.bank.ledger.Ledger), kept free of gRPC headers:
// it maps each RPC to Ledger and each Status to a grpc::Status with the same code and
// the reason as message.
// Thread-safety: as Ledger (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::ledger {

class Ledger;

// `ledger` must outlive the service.
std::unique_ptr<grpc::Service> makeLedgerGrpcService(Ledger& ledger);

}  // namespace sandbank::ledger
