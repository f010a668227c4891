// Mesh implementation: an async generic gRPC server whose every call is forwarded through
// a generic stub to a backend chosen round-robin. Each call is a ProxyCall state machine
// driven by tags from one completion queue; there is one queue per thread, and a call
// keeps both its server and its backend side on the queue that accepted it, so a call's
// events never hop between threads. A per-call mutex still serialises its handlers (the
// shutdown path touches calls from outside), and a call deletes itself once no operation
// is outstanding.
//
//   client --sstream_--> ProxyCall --cstream_--> backend
//          <-----------           <-----------
//   upstream pump:   sstream_.Read -> cstream_->Write -> ... -> WritesDone
//   downstream pump: cstream_->ReadInitialMetadata -> Read -> sstream_.Write -> ...
//                    -> cstream_->Finish -> sstream_.Finish (code, message, trailers)
//
// Methods the descriptors say are unary both ways take a shorter path with fewer
// batches: the backend call's headers are corked and sent with the request message and
// the half-close (WriteLast), and the reply goes back with its status in one
// WriteAndFinish once the backend's status is in.
#include "sandbank/mesh/mesh.h"

#include <grpcpp/alarm.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "sandbank/core/text.h"
#include "sandbank/mesh/payload_decoder.h"
#include "sandbank/mesh/trace_context.h"

namespace sandbank::mesh {
namespace {

int64_t realMicrosNow() { return toMicros(std::chrono::system_clock::now()); }

// Metadata that belongs to one HTTP/2 hop or that gRPC sets itself: never forwarded.
bool isHopByHop(std::string_view key) {
  if (key.empty() || key.front() == ':') return true;
  if (key.rfind("grpc-", 0) == 0) return true;
  static const std::unordered_set<std::string_view> kKeys = {
      "te", "content-type", "user-agent", "host", "connection", "keep-alive",
      "proxy-connection", "transfer-encoding", "upgrade", "content-length"};
  return kKeys.count(key) > 0;
}

std::string_view view(const grpc::string_ref& s) { return std::string_view(s.data(), s.size()); }

std::string byteBufferToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// The service name in an authority: "ledger", or "ledger:443" -> "ledger".
std::string serviceFromAuthority(std::string_view authority) {
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    if (!port.empty() && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      authority = authority.substr(0, colon);
    }
  }
  return std::string(authority);
}

}  // namespace

// One backend endpoint: a channel and the generic stub over it. Shared by every call.
struct Backend {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
};

class ProxyCall;

class Mesh::Impl {
 public:
  explicit Impl(MeshOptions options) : opts_(std::move(options)) {
    if (!opts_.clock) opts_.clock = &SystemClock::instance();
    if (!opts_.sink) opts_.sink = &flow::NullFlowSink::instance();
    opts_.threads = std::max(1, opts_.threads);
  }
  ~Impl() { shutdown(); }

  Status start();
  void shutdown();

  const MeshOptions& options() const { return opts_; }
  grpc::ServerCompletionQueue* cq(size_t i) { return cqs_[i].get(); }
  grpc::AsyncGenericService* service() { return &service_; }
  bool shuttingDown() const { return shutting_down_.load(); }

  // Picks the next healthy endpoint of `service` round-robin. Unavailable, with a reason a
  // person can act on, when the service is unknown or has no healthy endpoint.
  Result<std::shared_ptr<Backend>> pickBackend(const std::string& service, std::string* address);

  void spawnAcceptor(size_t cq_index);
  void registerCall(ProxyCall* call);
  void unregisterCall(ProxyCall* call);

  int port_ = 0;

 private:
  void runLoop(grpc::ServerCompletionQueue* cq);

  MeshOptions opts_;
  grpc::AsyncGenericService service_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs_;  // one per thread
  std::vector<std::thread> threads_;
  std::atomic<bool> shutting_down_{false};
  bool stopped_ = false;  // only touched by the owning thread

  std::mutex backends_mu_;
  std::unordered_map<std::string, std::shared_ptr<Backend>> backends_;  // guarded by backends_mu_
  std::unordered_map<std::string, uint64_t> next_index_;                // guarded by backends_mu_

  std::mutex calls_mu_;
  std::condition_variable calls_cv_;
  std::unordered_set<ProxyCall*> calls_;  // guarded by calls_mu_: every ProxyCall alive
  size_t accepted_live_ = 0;              // guarded by calls_mu_: accepted and not yet finished
  friend class ProxyCall;
};

// One proxied call. Created waiting for a new call; handles every completion of its
// operations under mu_; deletes itself when the last outstanding operation completes.
class ProxyCall {
 public:
  enum Op {
    kAccept, kDone, kAlarm, kStart, kInitialMetadata, kServerRead, kClientWrite,
    kClientWritesDone, kClientRead, kServerWrite, kClientFinish, kServerFinish, kOpCount
  };
  struct Tag {
    ProxyCall* call;
    Op op;
  };

  ProxyCall(Mesh::Impl& mesh, size_t cq_index)
      : mesh_(mesh), cq_index_(cq_index), cq_(mesh.cq(cq_index)), sstream_(&sctx_) {
    for (int i = 0; i < kOpCount; ++i) tags_[i] = Tag{this, static_cast<Op>(i)};
    mesh_.registerCall(this);
    std::lock_guard lock(mu_);
    sctx_.AsyncNotifyWhenDone(begin(kDone));
    mesh_.service()->RequestCall(&sctx_, &sstream_, cq_, cq_, begin(kAccept));
  }

  // Entry point for every completion-queue event of this call.
  void onEvent(Op op, bool ok) {
    std::unique_lock lock(mu_);
    --pending_;
    switch (op) {
      case kAccept: onAccept(ok); break;
      case kDone: onDone(); break;
      case kAlarm: onAlarm(ok); break;
      case kStart: onStart(ok); break;
      case kInitialMetadata: onInitialMetadata(ok); break;
      case kServerRead: onServerRead(ok); break;
      case kClientWrite: onClientWrite(ok); break;
      case kClientWritesDone: break;
      case kClientRead: onClientRead(ok); break;
      case kServerWrite: onServerWrite(ok); break;
      case kClientFinish: onClientFinish(); break;
      case kServerFinish: break;
      case kOpCount: break;
    }
    if (pending_ > 0 || !accepted_) return;  // a failed accept is reclaimed by the mesh
    lock.unlock();
    finishAndDelete();
  }

 private:
  void* begin(Op op) {
    ++pending_;
    return &tags_[op];
  }

  void onAccept(bool ok) {
    if (!ok) return;  // the server is shutting down
    accepted_ = true;
    {
      std::lock_guard lock(mesh_.calls_mu_);
      ++mesh_.accepted_live_;
    }
    if (!mesh_.shuttingDown()) mesh_.spawnAcceptor(cq_index_);

    const MeshOptions& opts = mesh_.options();
    event_.kind = flow::FlowKind::kRpc;
    event_.start_sim_us = toMicros(opts.clock->now());
    event_.start_real_us = realMicrosNow();
    method_ = sctx_.method();
    event_.method = method_.size() > 1 && method_[0] == '/' ? method_.substr(1) : method_;
    service_ = serviceFromAuthority(sctx_.host());
    event_.destination = service_;
    event_.source = "client";

    std::optional<TraceContext> incoming;
    for (const auto& [k, v] : sctx_.client_metadata()) {
      std::string_view key = view(k);
      if (key == kTraceparentKey) {
        incoming = parseTraceparent(view(v));
      } else if (key == kSourceKey) {
        event_.source = std::string(view(v));
      }
    }
    if (incoming) {
      event_.trace_id = incoming->trace_id;
      event_.parent_span_id = incoming->span_id;
    } else {
      event_.trace_id = newTraceId();
    }
    event_.span_id = newSpanId();
    if (opts.decoder) {
      auto shape = opts.decoder->methodShape(method_);
      if (shape.ok()) {
        event_.payload_type = shape->request_type;
        unary_ = !shape->client_streaming && !shape->server_streaming;
      }
    }

    auto backend = mesh_.pickBackend(service_, &endpoint_);
    if (!backend.ok()) {
      finishServer(grpc::Status(grpc::StatusCode::UNAVAILABLE, backend.status().message()));
      return;
    }
    backend_ = std::move(*backend);

    if (opts.faults) {
      faults::FaultSubject subject;
      subject.layer = faults::SubjectLayer::kRpc;
      subject.source = event_.source;
      subject.destination = service_;
      subject.method = event_.method;
      subject.trace_id = event_.trace_id;
      subject.span_id = event_.span_id;
      decision_ = opts.faults->decide(subject);
      using Outcome = faults::FaultDecision::Outcome;
      if (decision_.outcome == Outcome::kFail) {
        finishServer(grpc::Status(static_cast<grpc::StatusCode>(decision_.code), decision_.message));
        return;
      }
      if (decision_.outcome == Outcome::kDrop) {
        dropping_ = true;  // answered by onDone, when the caller gives up
        return;
      }
      if (decision_.delay.count() > 0) {
        alarm_set_ = true;
        alarm_.Set(cq_, std::chrono::system_clock::now() + decision_.delay, begin(kAlarm));
        return;
      }
    }
    startBackendCall();
  }

  void onAlarm(bool ok) {
    alarm_set_ = false;
    if (!ok || cancelled_) {
      finishServer(grpc::Status(grpc::StatusCode::CANCELLED, "the call ended during a fault delay"));
      return;
    }
    startBackendCall();
  }

  void startBackendCall() {
    if (sctx_.deadline() != std::chrono::system_clock::time_point::max()) {
      cctx_.set_deadline(sctx_.deadline());
    }
    for (const auto& [k, v] : sctx_.client_metadata()) {
      std::string_view key = view(k);
      if (isHopByHop(key) || key == kTraceparentKey) continue;
      cctx_.AddMetadata(std::string(key), std::string(view(v)));
    }
    cctx_.AddMetadata(std::string(kTraceparentKey),
                      formatTraceparent(TraceContext{event_.trace_id, event_.span_id}));
    if (unary_) cctx_.set_initial_metadata_corked(true);
    cstream_ = backend_->stub->PrepareCall(&cctx_, method_, cq_);
    client_active_ = true;
    if (unary_) {
      // Corked: gRPC starts nothing and never returns this tag; the headers leave with
      // the request message.
      cstream_->StartCall(nullptr);
      client_started_ = true;
    } else {
      cstream_->StartCall(begin(kStart));
    }
    sstream_.Read(&up_buffer_, begin(kServerRead));
    server_reading_ = true;
  }

  void onStart(bool ok) {
    if (!ok) {
      finishClient();
      return;
    }
    client_started_ = true;
    cstream_->ReadInitialMetadata(begin(kInitialMetadata));
    if (up_ready_) writeUpstream();
    if (up_closed_ && !writes_done_) closeUpstream();
  }

  void onServerRead(bool ok) {
    server_reading_ = false;
    if (!ok) {
      up_closed_ = true;
      if (client_started_ && !client_finishing_) closeUpstream();
      return;
    }
    size_t n = up_buffer_.Length();
    event_.size += static_cast<int64_t>(n);
    if (++up_messages_ == 1 && mesh_.options().record_payloads) event_.payload = byteBufferToString(up_buffer_);
    up_ready_ = true;
    if (client_started_) writeUpstream();
  }

  void writeUpstream() {
    up_ready_ = false;
    if (client_finishing_) return;  // the backend is done; drop what the caller still sends
    if (unary_) {  // the only request message: send it with the headers and the half-close
      writes_done_ = true;
      cstream_->WriteLast(up_buffer_, grpc::WriteOptions(), begin(kClientWrite));
      cstream_->Read(&down_buffer_, begin(kClientRead));  // brings the headers with it
      return;
    }
    cstream_->Write(up_buffer_, begin(kClientWrite));
  }

  void closeUpstream() {
    writes_done_ = true;
    cstream_->WritesDone(begin(kClientWritesDone));
    if (unary_) cstream_->Read(&down_buffer_, begin(kClientRead));  // the caller sent nothing
  }

  void onClientWrite(bool ok) {
    if (!ok || client_finishing_ || done_ || unary_) return;  // downstream collects the status
    sstream_.Read(&up_buffer_, begin(kServerRead));
    server_reading_ = true;
  }

  void onInitialMetadata(bool ok) {
    if (!ok) {
      finishClient();
      return;
    }
    copyInitialMetadata();
    cstream_->Read(&down_buffer_, begin(kClientRead));
  }

  void copyInitialMetadata() {
    for (const auto& [k, v] : cctx_.GetServerInitialMetadata()) {
      std::string_view key = view(k);
      if (!isHopByHop(key)) sctx_.AddInitialMetadata(std::string(key), std::string(view(v)));
    }
  }

  void onClientRead(bool ok) {
    if (!ok || done_) {
      if (unary_ && !done_) copyInitialMetadata();  // headers sent before an error
      finishClient();
      return;
    }
    if (unary_) {  // hold the reply until the status is in, then send both at once
      copyInitialMetadata();
      down_bytes_ += static_cast<int64_t>(down_buffer_.Length());
      ++down_messages_;
      down_held_ = true;
      finishClient();
      return;
    }
    down_bytes_ += static_cast<int64_t>(down_buffer_.Length());
    ++down_messages_;
    sstream_.Write(down_buffer_, begin(kServerWrite));
  }

  void onServerWrite(bool ok) {
    if (!ok) {  // the caller is gone: stop the backend too
      cctx_.TryCancel();
      finishClient();
      return;
    }
    cstream_->Read(&down_buffer_, begin(kClientRead));
  }

  void finishClient() {
    if (client_finishing_) return;
    client_finishing_ = true;
    cstream_->Finish(&client_status_, begin(kClientFinish));
  }

  void onClientFinish() {
    client_active_ = false;
    for (const auto& [k, v] : cctx_.GetServerTrailingMetadata()) {
      std::string_view key = view(k);
      if (!isHopByHop(key)) sctx_.AddTrailingMetadata(std::string(key), std::string(view(v)));
    }
    if (down_held_ && client_status_.ok() && !server_finishing_) {
      server_finishing_ = true;
      final_status_ = client_status_;
      sstream_.WriteAndFinish(down_buffer_, grpc::WriteOptions(), client_status_, begin(kServerFinish));
      return;
    }
    finishServer(client_status_);
  }

  void onDone() {
    done_ = true;
    if (!sctx_.IsCancelled()) return;
    cancelled_ = true;
    if (client_active_) cctx_.TryCancel();
    if (alarm_set_) alarm_.Cancel();
    if (dropping_) {
      finishServer(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                "dropped by fault: " + decision_.summary()));
    }
  }

  void finishServer(const grpc::Status& status) {
    if (server_finishing_) return;
    server_finishing_ = true;
    final_status_ = status;
    sstream_.Finish(status, begin(kServerFinish));
  }

  // True when the call ended because its deadline passed. A call that runs out of time
  // ends cancelled on one side or another: the caller's own timer usually fires first and
  // resets the stream, while the mesh's copy of the deadline is a little later (the
  // grpc-timeout header is rounded up, to within about 1% or 10 ms). The caller saw
  // DEADLINE_EXCEEDED either way, so that is what gets recorded.
  bool ranOutOfTime() const {
    auto deadline = sctx_.deadline();
    if (deadline == std::chrono::system_clock::time_point::max()) return false;
    int64_t deadline_us = toMicros(deadline);
    int64_t now_us = realMicrosNow();
    int64_t slack_us = std::max<int64_t>(20'000, (deadline_us - event_.start_real_us) / 50);
    return now_us >= deadline_us - slack_us;
  }

  // Runs once, with no operation outstanding: reports the call and frees it.
  void finishAndDelete() {
    const MeshOptions& opts = mesh_.options();
    event_.end_sim_us = toMicros(opts.clock->now());
    event_.end_real_us = realMicrosNow();
    StatusCode code = static_cast<StatusCode>(final_status_.error_code());
    if (cancelled_ && code == StatusCode::kOk) code = StatusCode::kCancelled;
    if ((dropping_ || code == StatusCode::kCancelled) && ranOutOfTime()) code = StatusCode::kDeadlineExceeded;
    event_.status = std::string(statusCodeName(code));
    std::string detail;
    if (!endpoint_.empty()) detail = "endpoint " + endpoint_ + "; ";
    detail += std::to_string(up_messages_) + " req " + std::to_string(event_.size) + "B; " +
              std::to_string(down_messages_) + " resp " + std::to_string(down_bytes_) + "B";
    if (decision_.faulted()) detail += "; fault " + decision_.summary();
    if (code != StatusCode::kOk && !final_status_.error_message().empty()) {
      detail += "; " + final_status_.error_message();
    }
    event_.detail = std::move(detail);
    opts.sink->emit(std::move(event_));
    Mesh::Impl& mesh = mesh_;
    {
      std::lock_guard lock(mesh.calls_mu_);
      --mesh.accepted_live_;
    }
    mesh.unregisterCall(this);
    delete this;
  }

  Mesh::Impl& mesh_;
  const size_t cq_index_;
  grpc::ServerCompletionQueue* const cq_;
  Tag tags_[kOpCount];

  std::mutex mu_;
  // Everything below is guarded by mu_ (the gRPC objects are only touched under it).
  int pending_ = 0;
  grpc::GenericServerContext sctx_;
  grpc::GenericServerAsyncReaderWriter sstream_;
  grpc::ClientContext cctx_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> cstream_;
  std::shared_ptr<Backend> backend_;
  grpc::Alarm alarm_;
  grpc::ByteBuffer up_buffer_;
  grpc::ByteBuffer down_buffer_;
  grpc::Status client_status_;
  grpc::Status final_status_;
  faults::FaultDecision decision_;
  flow::FlowEvent event_;
  std::string method_;
  std::string service_;
  std::string endpoint_;
  int64_t up_messages_ = 0;
  int64_t down_messages_ = 0;
  int64_t down_bytes_ = 0;
  bool accepted_ = false;
  bool done_ = false;              // the server call has ended (kDone seen)
  bool cancelled_ = false;         // ... and it ended cancelled or past its deadline
  bool dropping_ = false;          // a drop fault holds the call until the caller gives up
  bool alarm_set_ = false;         // a delay fault is pending
  bool client_active_ = false;     // a backend call exists and has not finished
  bool client_started_ = false;
  bool client_finishing_ = false;  // cstream_->Finish issued
  bool server_reading_ = false;
  bool server_finishing_ = false;  // sstream_.Finish issued
  bool up_ready_ = false;          // up_buffer_ holds a message not yet written upstream
  bool up_closed_ = false;         // the caller half-closed
  bool writes_done_ = false;
  bool unary_ = false;             // the descriptors say one message each way
  bool down_held_ = false;         // unary: down_buffer_ holds the reply, not yet sent
};

void Mesh::Impl::registerCall(ProxyCall* call) {
  std::lock_guard lock(calls_mu_);
  calls_.insert(call);
}

void Mesh::Impl::unregisterCall(ProxyCall* call) {
  std::lock_guard lock(calls_mu_);
  calls_.erase(call);
  calls_cv_.notify_all();
}

void Mesh::Impl::spawnAcceptor(size_t cq_index) { new ProxyCall(*this, cq_index); }

Result<std::shared_ptr<Backend>> Mesh::Impl::pickBackend(const std::string& service, std::string* address) {
  auto endpoints = opts_.directory->endpoints(service);
  if (!endpoints.ok()) {
    std::vector<std::string> known = opts_.directory->serviceNames();
    std::string msg = "mesh: no service named '" + service + "'";
    std::string guess = closestMatch(service, known);
    if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
    msg += "; known services: ";
    if (known.empty()) msg += "(none)";
    for (size_t i = 0; i < known.size(); ++i) msg += (i ? ", " : "") + known[i];
    msg += ". Set the channel authority (GRPC_ARG_DEFAULT_AUTHORITY) to the target service name.";
    return Unavailable(std::move(msg));
  }
  std::vector<const Endpoint*> healthy;
  for (const auto& e : *endpoints) {
    if (e.healthy) healthy.push_back(&e);
  }
  if (healthy.empty()) {
    return Unavailable("mesh: service '" + service + "' has no healthy endpoint (" +
                       std::to_string(endpoints->size()) + " registered, none healthy)");
  }
  std::lock_guard lock(backends_mu_);
  uint64_t i = next_index_[service]++;
  const std::string& addr = healthy[i % healthy.size()]->address;
  *address = addr;
  auto& backend = backends_[addr];
  if (!backend) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // The caller decides about retries; the mesh forwards each attempt once. Dropping the
    // retry layer also saves a copy of every message on the hot path.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    // No optional filters (see the server's note in start()): the backend enforces the
    // deadline we forward, and the caller's cancellation reaches this call via TryCancel.
    args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
    backend = std::make_shared<Backend>();
    backend->channel = grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
    backend->stub = std::make_unique<grpc::GenericStub>(backend->channel);
  }
  return backend;
}

Status Mesh::Impl::start() {
  if (!opts_.directory) return InvalidArgument("mesh: a ServiceDirectory is required");
  grpc::ServerBuilder builder;
  builder.AddListeningPort(opts_.listen_address, grpc::InsecureServerCredentials(), &port_);
  builder.RegisterAsyncGenericService(&service_);
  builder.SetMaxReceiveMessageSize(-1);
  builder.SetMaxSendMessageSize(-1);
  // The minimal filter stack leaves out optional filters, among them the server-side
  // deadline timer: the deadline is still read from grpc-timeout and forwarded, and a
  // caller whose deadline passes resets the stream itself, which cancels the call here
  // (drop faults rely on that). Measured ~5% off the unary p50 through the mesh.
  builder.AddChannelArgument(GRPC_ARG_MINIMAL_STACK, 1);
  for (int i = 0; i < opts_.threads; ++i) cqs_.push_back(builder.AddCompletionQueue());
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    return Unavailable("mesh: cannot listen on " + opts_.listen_address);
  }
  // A few calls waiting to be accepted on each queue, so a burst does not wait for
  // re-arming.
  for (size_t q = 0; q < cqs_.size(); ++q) {
    for (int i = 0; i < 2; ++i) spawnAcceptor(q);
  }
  for (auto& cq : cqs_) threads_.emplace_back([this, q = cq.get()] { runLoop(q); });
  return OkStatus();
}

void Mesh::Impl::runLoop(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) {
    auto* t = static_cast<ProxyCall::Tag*>(tag);
    t->call->onEvent(t->op, ok);
  }
}

void Mesh::Impl::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (!server_) return;
  shutting_down_.store(true);
  // Cancels every call in flight; their handlers then finish them on the queue threads.
  server_->Shutdown(std::chrono::system_clock::now());
  {
    std::unique_lock lock(calls_mu_);
    calls_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return accepted_live_ == 0; });
  }
  for (auto& cq : cqs_) cq->Shutdown();
  for (auto& t : threads_) t.join();
  if (threads_.empty()) {  // start() failed before the threads: drain here
    for (auto& cq : cqs_) runLoop(cq.get());
  }
  // What is left never got a call (the server stopped first); no tag can reach it now.
  std::lock_guard lock(calls_mu_);
  for (ProxyCall* call : calls_) delete call;
  calls_.clear();
}

Result<std::unique_ptr<Mesh>> Mesh::start(MeshOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  SANDBANK_RETURN_IF_ERROR(impl->start());
  return std::unique_ptr<Mesh>(new Mesh(std::move(impl)));
}

Mesh::Mesh(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Mesh::~Mesh() = default;
int Mesh::port() const { return impl_->port_; }
std::string Mesh::address() const { return "127.0.0.1:" + std::to_string(impl_->port_); }
void Mesh::shutdown() { impl_->shutdown(); }

}  // namespace sandbank::mesh
