// sandbank.bank.card_processor.CardProcessor over gRPC: each RPC forwards to CardProcessor
// and turns its Status into a grpc::Status with the same code and reason.
// Thread-safety: as CardProcessor.
#include "sandbank/card_processor/card_processor_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/card_processor.grpc.pb.h"
#include "sandbank/card_processor/card_processor.h"

namespace sandbank::card_processor {
namespace {

template <class T>
grpc::Status reply(Result<T> r, T* out) {
  if (!r.ok()) return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

class CardProcessorGrpcService final : public pb::CardProcessor::Service {
 public:
  explicit CardProcessorGrpcService(CardProcessor& p) : p_(p) {}
  grpc::Status Authorise(grpc::ServerContext*, const pb::AuthoriseRequest* r, pb::AuthoriseResponse* out) override {
    return reply(p_.authorise(*r), out);
  }
  grpc::Status ApplyClearing(grpc::ServerContext*, const pb::ClearingRequest* r, pb::ClearingResponse* out) override {
    return reply(p_.applyClearing(*r), out);
  }
  grpc::Status Reverse(grpc::ServerContext*, const pb::ReverseRequest* r, pb::ReverseResponse* out) override {
    return reply(p_.reverse(*r), out);
  }
  grpc::Status ExpireHolds(grpc::ServerContext*, const pb::ExpireHoldsRequest*, pb::ExpireHoldsResponse* out) override {
    return reply(p_.expireHolds(), out);
  }
  grpc::Status GetAuthorisation(grpc::ServerContext*, const pb::GetAuthorisationRequest* r,
                                pb::AuthorisationRecord* out) override {
    return reply(p_.getAuthorisation(r->authorisation_id()), out);
  }

 private:
  CardProcessor& p_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeCardProcessorGrpcService(CardProcessor& processor) {
  return std::make_unique<CardProcessorGrpcService>(processor);
}

}  // namespace sandbank::card_processor
