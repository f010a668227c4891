// sandbank.bank.card.Card over gRPC: each RPC forwards to Cards and turns its Status into a
// grpc::Status with the same code and reason. Thread-safety: as Cards.
#include "sandbank/card/card_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/card.grpc.pb.h"
#include "sandbank/card/cards.h"

namespace sandbank::card {
namespace {

template <class T>
grpc::Status reply(Result<T> r, T* out) {
  if (!r.ok()) return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

class CardGrpcService final : public pb::Card::Service {
 public:
  explicit CardGrpcService(Cards& cards) : c_(cards) {}
  grpc::Status Issue(grpc::ServerContext*, const pb::IssueRequest* r, pb::CardRecord* out) override {
    return reply(c_.issue(*r), out);
  }
  grpc::Status GetByToken(grpc::ServerContext*, const pb::GetByTokenRequest* r, pb::CardRecord* out) override {
    return reply(c_.getByToken(r->token()), out);
  }
  grpc::Status Get(grpc::ServerContext*, const pb::GetCardRequest* r, pb::CardRecord* out) override {
    return reply(c_.get(r->card_id()), out);
  }
  grpc::Status ListByAccount(grpc::ServerContext*, const pb::ListByAccountRequest* r,
                             pb::ListByAccountResponse* out) override {
    return reply(c_.listByAccount(r->account_id()), out);
  }
  grpc::Status Freeze(grpc::ServerContext*, const pb::FreezeRequest* r, pb::CardRecord* out) override {
    return reply(c_.freeze(*r), out);
  }
  grpc::Status Unfreeze(grpc::ServerContext*, const pb::FreezeRequest* r, pb::CardRecord* out) override {
    return reply(c_.unfreeze(*r), out);
  }
  grpc::Status Cancel(grpc::ServerContext*, const pb::CancelCardRequest* r, pb::CardRecord* out) override {
    return reply(c_.cancel(*r), out);
  }

 private:
  Cards& c_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeCardGrpcService(Cards& cards) { return std::make_unique<CardGrpcService>(cards); }

}  // namespace sandbank::card
