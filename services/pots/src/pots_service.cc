// sandbank.bank.pots.Pots over gRPC: each RPC forwards to Pots and turns its Status into
// a grpc::Status with the same code and reason. Thread-safety: as Pots.
#include "sandbank/pots/pots_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/pots.grpc.pb.h"
#include "sandbank/pots/pots.h"

namespace sandbank::pots {
namespace {

template <class T>
grpc::Status reply(Result<T> r, T* out) {
  if (!r.ok()) return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

class PotsGrpcService final : public pb::Pots::Service {
 public:
  explicit PotsGrpcService(Pots& pots) : p_(pots) {}
  grpc::Status Create(grpc::ServerContext*, const pb::CreatePotRequest* r, pb::Pot* out) override {
    return reply(p_.create(*r), out);
  }
  grpc::Status Get(grpc::ServerContext*, const pb::GetPotRequest* r, pb::Pot* out) override {
    return reply(p_.get(r->pot_id()), out);
  }
  grpc::Status ListByAccount(grpc::ServerContext*, const pb::ListPotsRequest* r, pb::ListPotsResponse* out) override {
    return reply(p_.listByAccount(r->account_id()), out);
  }
  grpc::Status Deposit(grpc::ServerContext*, const pb::MoveRequest* r, pb::MoveResponse* out) override {
    return reply(p_.deposit(*r), out);
  }
  grpc::Status Withdraw(grpc::ServerContext*, const pb::MoveRequest* r, pb::MoveResponse* out) override {
    return reply(p_.withdraw(*r), out);
  }

 private:
  Pots& p_;
};

}  // namespace

std::unique_ptr<grpc::Service> makePotsGrpcService(Pots& pots) { return std::make_unique<PotsGrpcService>(pots); }

}  // namespace sandbank::pots
