// The gRPC face of the transaction service (sandbank.bank.transaction.Transaction), free
// of gRPC headers. Thread-safety: as Transactions (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::transaction {

class Transactions;

// `transactions` must outlive the service.
std::unique_ptr<grpc::Service> makeTransactionGrpcService(Transactions& transactions);

}  // namespace sandbank::transaction
