// sandbank.bank.transaction.Transaction over gRPC: each RPC forwards to Transactions and
// turns its Status into a grpc::Status with the same code and reason.
// Thread-safety: as Transactions.
#include "sandbank/transaction/transaction_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/transaction.grpc.pb.h"
#include "sandbank/transaction/transactions.h"

namespace sandbank::transaction {
namespace {

template <class T>
grpc::Status reply(Result<T> r, T* out) {
  if (!r.ok()) return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

class TransactionGrpcService final : public pb::Transaction::Service {
 public:
  explicit TransactionGrpcService(Transactions& t) : t_(t) {}
  grpc::Status Get(grpc::ServerContext*, const pb::GetTransactionRequest* r, pb::TransactionRecord* out) override {
    return reply(t_.get(r->transaction_id()), out);
  }
  grpc::Status ListByAccount(grpc::ServerContext*, const pb::ListByAccountRequest* r,
                             pb::ListByAccountResponse* out) override {
    return reply(t_.listByAccount(*r), out);
  }

 private:
  Transactions& t_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeTransactionGrpcService(Transactions& transactions) {
  return std::make_unique<TransactionGrpcService>(transactions);
}

}  // namespace sandbank::transaction
