// The Echo test backend: a callback Echo method (so a blocked call learns of its
// cancellation without polling) and synchronous streaming methods.
#include "echo_backend.h"

namespace sandbank::mesh::testing {

using sandbank::testing::EchoReply;
using sandbank::testing::EchoRequest;
using sandbank::testing::StreamRequest;

namespace {

// Finishes only when the call is cancelled (by the caller, a deadline or the mesh).
class BlockedReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit BlockedReactor(Latch& cancelled) : cancelled_(cancelled) {}
  void OnCancel() override {
    cancelled_.set();
    Finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  Latch& cancelled_;
};

std::string traceparentOf(const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
  auto it = md.find("traceparent");
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

}  // namespace

class EchoBackend::Service final
    : public sandbank::testing::Echo::WithCallbackMethod_Echo<sandbank::testing::Echo::Service> {
 public:
  explicit Service(EchoBackend& owner) : owner_(owner) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const EchoRequest* request,
                                 EchoReply* reply) override {
    owner_.record(ctx->client_metadata(), ctx->deadline());
    if (request->text() == "block") {
      auto* reactor = new BlockedReactor(owner_.block_cancelled);
      owner_.block_started.set();
      return reactor;
    }
    auto* reactor = ctx->DefaultReactor();
    if (request->text() == "fail") {
      ctx->AddInitialMetadata("x-failed-by", owner_.instance_);
      ctx->AddTrailingMetadata("x-reason", "frozen");
      reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "account frozen", "detail-bytes"));
      return reactor;
    }
    fill(*request, reply, ctx->client_metadata());
    ctx->AddInitialMetadata("x-served-by", owner_.instance_);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::Status ServerStream(grpc::ServerContext* ctx, const StreamRequest* request,
                            grpc::ServerWriter<EchoReply>* writer) override {
    for (int i = 0; i < request->count(); ++i) {
      EchoReply reply;
      reply.set_text(request->text() + "-" + std::to_string(i));
      reply.set_instance(owner_.instance_);
      reply.set_trace_id(traceparentOf(ctx->client_metadata()));
      if (!writer->Write(reply)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status ClientStream(grpc::ServerContext*, grpc::ServerReader<EchoRequest>* reader,
                            EchoReply* reply) override {
    EchoRequest request;
    std::string joined;
    while (reader->Read(&request)) joined += (joined.empty() ? "" : "+") + request.text();
    reply->set_text(joined);
    reply->set_instance(owner_.instance_);
    return grpc::Status::OK;
  }

  grpc::Status Bidi(grpc::ServerContext*, grpc::ServerReaderWriter<EchoReply, EchoRequest>* stream) override {
    EchoRequest request;
    while (stream->Read(&request)) {
      EchoReply reply;
      reply.set_text("re:" + request.text());
      reply.set_instance(owner_.instance_);
      if (!stream->Write(reply)) break;
    }
    return grpc::Status::OK;
  }

 private:
  void fill(const EchoRequest& request, EchoReply* reply,
            const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
    reply->set_text(request.text());
    reply->set_payload(request.payload());
    reply->set_service("echo");
    reply->set_instance(owner_.instance_);
    std::string tp = traceparentOf(md);
    if (tp.size() == 55) {
      reply->set_trace_id(tp.substr(3, 32));
      reply->set_parent_span(tp.substr(36, 16));
    }
  }

  EchoBackend& owner_;
};

EchoBackend::EchoBackend(std::string instance) : instance_(std::move(instance)) {
  service_ = std::make_unique<Service>(*this);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  address_ = "127.0.0.1:" + std::to_string(port);
}

EchoBackend::~EchoBackend() { server_->Shutdown(std::chrono::system_clock::now()); }

void EchoBackend::record(const std::multimap<grpc::string_ref, grpc::string_ref>& md,
                         std::chrono::system_clock::time_point deadline) {
  std::lock_guard lock(mu_);
  ++calls_;
  metadata_.clear();
  for (const auto& [k, v] : md) metadata_.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  deadline_ = deadline;
}

int EchoBackend::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

std::multimap<std::string, std::string> EchoBackend::lastMetadata() const {
  std::lock_guard lock(mu_);
  return metadata_;
}

std::chrono::system_clock::time_point EchoBackend::lastDeadline() const {
  std::lock_guard lock(mu_);
  return deadline_;
}

std::shared_ptr<grpc::Channel> meshChannel(const Mesh& mesh, const std::string& service) {
  grpc::ChannelArguments args;
  args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, service);
  return grpc::CreateCustomChannel(mesh.address(), grpc::InsecureChannelCredentials(), args);
}

}  // namespace sandbank::mesh::testing
