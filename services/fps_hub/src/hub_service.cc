// sandbank.bank.fps.FpsHub over gRPC: Submit asks SchemeHub for a decision and, for a
// scripted timeout or late ack, holds the answer past the caller's deadline.
// Thread-safety: as SchemeHub.
#include "sandbank/fps_hub/hub_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <mutex>

#include "sandbank/bank/fps.grpc.pb.h"
#include "sandbank/fps_hub/scheme_hub.h"

namespace sandbank::fps_hub {
namespace {

grpc::Status toGrpc(const Status& s) {
  return s.ok() ? grpc::Status::OK : grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

class FpsHubGrpcService final : public pb::FpsHub::Service {
 public:
  FpsHubGrpcService(SchemeHub& hub, FpsChannelSource fps) : hub_(hub), fps_source_(std::move(fps)) {}

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
  grpc::Status SendInbound(grpc::ServerContext* ctx, const pb::HubInboundRequest* req,
                           pb::HubInboundResponse* resp) override {
    pb::Fps::Stub* fps = fpsStub();
    if (fps == nullptr) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "this hub has no route to the fps service");
    }
    const std::string id = req->scheme_payment_id().empty() ? hub_.nextInboundId() : req->scheme_payment_id();
    resp->set_scheme_payment_id(id);
    pb::InboundRequest in;
    in.set_idempotency_key(id);
    in.set_account_id(req->account_id());
    in.set_sort_code(req->sort_code());
    in.set_account_number(req->account_number());
    *in.mutable_amount() = req->amount();
    in.set_payer_name(req->payer_name());
    in.set_reference(req->reference());
    const int deliveries = std::max(1, req->deliveries());
    for (int i = 0; i < deliveries; ++i) {
      grpc::ClientContext call;
      auto deadline = std::chrono::system_clock::now() + kFpsTimeout;
      call.set_deadline(std::min(deadline, ctx->deadline()));
      pb::PaymentRecord out;
      grpc::Status s = fps->HandleInbound(&call, in, &out);
      if (!s.ok()) {
        resp->set_last_error(s.error_message().empty() ? "fps failed with code " + std::to_string(s.error_code())
                                                       : s.error_message());
        continue;
      }
      resp->set_accepted(resp->accepted() + 1);
      if (out.replayed()) resp->set_replayed(resp->replayed() + 1);
      *resp->mutable_payment() = out;
    }
    return grpc::Status::OK;
  }

 private:
  static constexpr std::chrono::seconds kFpsTimeout{5};

  pb::Fps::Stub* fpsStub() {
    std::lock_guard lock(mu_);
    if (!fps_ && fps_source_) {
      if (auto channel = fps_source_()) fps_ = pb::Fps::NewStub(channel);
    }
    return fps_.get();
  }

  SchemeHub& hub_;
  FpsChannelSource fps_source_;
  std::mutex mu_;
  std::unique_ptr<pb::Fps::Stub> fps_;  // made on first use; guarded by mu_
};

}  // namespace

std::unique_ptr<grpc::Service> makeFpsHubGrpcService(SchemeHub& hub, FpsChannelSource fps) {
  return std::make_unique<FpsHubGrpcService>(hub, std::move(fps));
}

}  // namespace sandbank::fps_hub
