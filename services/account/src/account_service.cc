// sandbank.bank.account.Account over gRPC: each RPC forwards to Accounts and turns its
// Status into a grpc::Status with the same code and reason. Thread-safety: as Accounts.
#include "sandbank/account/account_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/account/accounts.h"
#include "sandbank/bank/account.grpc.pb.h"

namespace sandbank::account {
namespace {

template <class T>
grpc::Status reply(Result<T> r, T* out) {
  if (!r.ok()) return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

class AccountGrpcService final : public pb::Account::Service {
 public:
  explicit AccountGrpcService(Accounts& accounts) : a_(accounts) {}
  grpc::Status CreateUser(grpc::ServerContext*, const pb::CreateUserRequest* r, pb::User* out) override {
    return reply(a_.createUser(*r), out);
  }
  grpc::Status GetUser(grpc::ServerContext*, const pb::GetUserRequest* r, pb::User* out) override {
    return reply(a_.getUser(r->user_id()), out);
  }
  grpc::Status Create(grpc::ServerContext*, const pb::CreateAccountRequest* r, pb::AccountRecord* out) override {
    return reply(a_.create(*r), out);
  }
  grpc::Status Get(grpc::ServerContext*, const pb::GetAccountRequest* r, pb::AccountRecord* out) override {
    return reply(a_.get(r->account_id()), out);
  }
  grpc::Status ListByUser(grpc::ServerContext*, const pb::ListByUserRequest* r, pb::ListByUserResponse* out) override {
    return reply(a_.listByUser(r->user_id()), out);
  }
  grpc::Status SetStatus(grpc::ServerContext*, const pb::SetStatusRequest* r, pb::AccountRecord* out) override {
    return reply(a_.setStatus(*r), out);
  }
  grpc::Status SetOverdraft(grpc::ServerContext*, const pb::SetOverdraftRequest* r, pb::AccountRecord* out) override {
    return reply(a_.setOverdraft(*r), out);
  }

 private:
  Accounts& a_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeAccountGrpcService(Accounts& accounts) {
  return std::make_unique<AccountGrpcService>(accounts);
}

}  // namespace sandbank::account
