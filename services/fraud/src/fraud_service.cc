// sandbank.bank.fraud.Fraud over gRPC: each RPC forwards to Fraud and turns its Status
// into a grpc::Status with the same code and reason. Thread-safety: as Fraud.
#include "sandbank/fraud/fraud_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/fraud.grpc.pb.h"
#include "sandbank/fraud/fraud.h"

namespace sandbank::fraud {
namespace {

template <class T>
grpc::Status reply(Result<T> r, T* out) {
  if (!r.ok()) return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

class FraudGrpcService final : public pb::Fraud::Service {
 public:
  explicit FraudGrpcService(Fraud& fraud) : f_(fraud) {}
  grpc::Status ScoreAuthorisation(grpc::ServerContext*, const pb::ScoreAuthorisationRequest* r,
                                  pb::Score* out) override {
    return reply(f_.scoreAuthorisation(*r), out);
  }
  grpc::Status ScoreTransfer(grpc::ServerContext*, const pb::ScoreTransferRequest* r, pb::Score* out) override {
    return reply(f_.scoreTransfer(*r), out);
  }

 private:
  Fraud& f_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeFraudGrpcService(Fraud& fraud) { return std::make_unique<FraudGrpcService>(fraud); }

}  // namespace sandbank::fraud
