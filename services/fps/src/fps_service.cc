// sandbank.bank.fps.Fps over gRPC: each RPC forwards to Payments and turns its Status
// into a grpc::Status with the same code and reason. Thread-safety: as Payments.
#include "sandbank/fps/fps_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/fps.grpc.pb.h"
#include "sandbank/fps/payments.h"

namespace sandbank::fps {
namespace {

grpc::Status reply(Result<pb::PaymentRecord> r, pb::PaymentRecord* out) {
  if (!r.ok()) return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

class FpsGrpcService final : public pb::Fps::Service {
 public:
  explicit FpsGrpcService(Payments& payments) : p_(payments) {}
  grpc::Status Send(grpc::ServerContext*, const pb::SendRequest* r, pb::PaymentRecord* out) override {
    return reply(p_.send(*r), out);
  }
  grpc::Status HandleInbound(grpc::ServerContext*, const pb::InboundRequest* r, pb::PaymentRecord* out) override {
    return reply(p_.handleInbound(*r), out);
  }
  grpc::Status GetPayment(grpc::ServerContext*, const pb::GetPaymentRequest* r, pb::PaymentRecord* out) override {
    return reply(p_.getPayment(r->payment_id()), out);
  }

 private:
  Payments& p_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeFpsGrpcService(Payments& payments) {
  return std::make_unique<FpsGrpcService>(payments);
}

}  // namespace sandbank::fps
