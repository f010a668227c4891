// sandbank.bank.fps.FpsHub over gRPC: Submit asks SchemeHub for a decision and, for a
// scripted timeout or late ack, holds the answer past the caller's deadline.
// Thread-safety: as SchemeHub.
#include "sandbank/fps_hub/hub_service.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "sandbank/bank/fps.grpc.pb.h"
#include "sandbank/fps_hub/scheme_hub.h"

namespace sandbank::fps_hub {
namespace {

grpc::Status toGrpc(const Status& s) {
  return s.ok() ? grpc::Status::OK : grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

class FpsHubGrpcService final : public pb::FpsHub::Service {
 public:
  explicit FpsHubGrpcService(SchemeHub& hub) : hub_(hub) {}

  grpc::Status Submit(grpc::ServerContext* ctx, const pb::HubSubmitRequest* req,
                      pb::HubSubmitResponse* resp) override {
    auto d = hub_.submit(*req);
    if (!d.ok()) return toGrpc(d.status());
    if (d->action == pb::HUB_ACTION_TIMEOUT || d->action == pb::HUB_ACTION_ACK_LATE) {
      // Hold until gRPC has cancelled the call at its deadline, so the answer is
      // dropped rather than racing the caller's own deadline timer; the margin only
      // bounds the wait if the cancellation is slow to arrive.
      auto until = ctx->deadline();
      if (until < std::chrono::system_clock::now() + std::chrono::hours(24)) until += std::chrono::seconds(1);
      hub_.holdUntil(until, [ctx] { return ctx->IsCancelled(); });
      if (d->action == pb::HUB_ACTION_TIMEOUT) {
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                            "the scheme did not answer payment " + req->payment_id() + " (scripted timeout)");
      }
    }
    *resp = d->response;
    return grpc::Status::OK;
  }
  grpc::Status SetBehaviour(grpc::ServerContext*, const pb::HubBehaviourRequest* req,
                            pb::HubBehaviourResponse* resp) override {
    auto r = hub_.setBehaviour(*req);
    if (!r.ok()) return toGrpc(r.status());
    *resp = *r;
    return grpc::Status::OK;
  }
  grpc::Status GetSubmission(grpc::ServerContext*, const pb::GetSubmissionRequest* req,
                             pb::HubSubmission* resp) override {
    auto r = hub_.submission(req->payment_id());
    if (!r.ok()) return toGrpc(r.status());
    *resp = *r;
    return grpc::Status::OK;
  }

 private:
  SchemeHub& hub_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeFpsHubGrpcService(SchemeHub& hub) {
  return std::make_unique<FpsHubGrpcService>(hub);
}

}  // namespace sandbank::fps_hub
