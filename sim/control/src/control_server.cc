// The Control service implementation and its server.
#include "sandbank/control/control_server.h"

#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>

#include "convert.h"
#include "token_credentials.h"
#include "sandbank/control.grpc.pb.h"
#include "sandbank/core/clock_file.h"
#include "sandbank/core/duration.h"
#include "sandbank/faults/fault_engine.h"
#include "sandbank/flow/flow_dump.h"
#include "sandbank/flow/flow_hub.h"
#include "sandbank/flow/flow_query.h"
#include "sandbank/mesh/payload_decoder.h"
#include "sandbank/supervisor/supervisor.h"

namespace sandbank::control {
namespace {

namespace pb = sandbank::control;
using supervisor::InstanceStatus;
using supervisor::LogLine;

grpc::Status toGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

void fillInstance(const InstanceStatus& s, pb::InstanceInfo* out) {
  out->set_service(s.service);
  out->set_instance(s.instance);
  out->set_state(std::string(supervisor::instanceStateName(s.state)));
  out->set_pid(s.pid);
  out->set_port(s.port);
  out->set_http_port(s.http_port);
  out->set_restarts(s.restarts);
  out->set_uptime_seconds(seconds(s.uptime));
  out->set_cpu_percent(s.cpu_percent);
  out->set_rss_bytes(s.rss_bytes);
  out->set_health(s.health);
  out->set_reason(s.reason);
  out->set_last_exit(s.last_exit);
  out->set_next_backoff_seconds(seconds(s.next_backoff));
}

void fillLine(const LogLine& l, pb::LogLine* out) {
  out->set_seq(l.seq);
  out->set_time(formatTimestamp(l.time));
  out->set_service(l.service);
  out->set_instance(l.instance);
  out->set_stream(l.is_stderr ? "stderr" : "stdout");
  out->set_level(std::string(logLevelName(l.level)));
  out->set_trace(l.trace);
  out->set_message(l.message);
  out->set_raw(l.raw);
}

Result<int> signalByName(const std::string& name) {
  static const std::pair<const char*, int> kSignals[] = {
      {"KILL", SIGKILL}, {"TERM", SIGTERM}, {"INT", SIGINT}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"HUP", SIGHUP}};
  if (name.empty()) return SIGKILL;
  std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  for (const auto& [s, v] : kSignals)
    if (n == s) return v;
  return InvalidArgument("unknown signal '" + name + "'; expected KILL, TERM, INT, STOP, CONT or HUP");
}

class ControlImpl final : public pb::Control::Service {
 public:
  ControlImpl(supervisor::Supervisor& sup, const ControlServerOptions& options, std::atomic<bool>& stopping)
      : sup_(sup), options_(options), stopping_(stopping) {}

  grpc::Status ListServices(grpc::ServerContext* ctx, const pb::ListServicesRequest* req,
                            pb::ListServicesResponse* resp) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    if (!req->service().empty()) {
      if (auto s = known(req->service()); !s.ok()) return s;
    }
    for (const auto& inst : sup_.snapshot())
      if (req->service().empty() || inst.service == req->service()) fillInstance(inst, resp->add_instances());
    resp->set_manifest(sup_.manifest().path);
    return grpc::Status::OK;
  }

  grpc::Status StartService(grpc::ServerContext* ctx, const pb::ServiceRequest* req, pb::ServiceActionResponse* resp) override {
    return act(ctx, req, resp, "starting", [&] { return sup_.startService(req->service()); });
  }
  grpc::Status StopService(grpc::ServerContext* ctx, const pb::ServiceRequest* req, pb::ServiceActionResponse* resp) override {
    return act(ctx, req, resp, "stopping", [&] { return sup_.stopService(req->service()); });
  }
  grpc::Status RestartService(grpc::ServerContext* ctx, const pb::ServiceRequest* req, pb::ServiceActionResponse* resp) override {
    return act(ctx, req, resp, "restarted", [&] { return sup_.restartService(req->service()); });
  }
  grpc::Status KillService(grpc::ServerContext* ctx, const pb::ServiceRequest* req, pb::ServiceActionResponse* resp) override {
    auto sig = signalByName(req->signal());
    if (!sig.ok()) return toGrpc(sig.status());
    return act(ctx, req, resp, "sent SIG" + std::string(sigabbrev_np(*sig)) + " to",
               [&] { return sup_.killService(req->service(), *sig); });
  }

  grpc::Status StreamLogs(grpc::ServerContext* ctx, const pb::LogsRequest* req,
                          grpc::ServerWriter<pb::LogLine>* writer) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    if (!req->service().empty()) {
      if (auto s = known(req->service()); !s.ok()) return s;
    }
    // Subscribe first so nothing falls between the backlog and the live stream.
    struct Queue {
      std::mutex mu;
      std::condition_variable cv;
      std::deque<LogLine> lines;  // guarded by mu
      uint64_t dropped = 0;       // guarded by mu
    };
    auto q = std::make_shared<Queue>();
    int sub = -1;
    if (req->follow()) {
      std::string service = req->service();
      sub = sup_.subscribeLogs([q, service](const LogLine& l) {
        if (!service.empty() && l.service != service) return;
        std::lock_guard lock(q->mu);
        if (q->lines.size() >= 10000) {  // a slow reader loses lines, never slows services
          q->lines.pop_front();
          ++q->dropped;
        }
        q->lines.push_back(l);
        q->cv.notify_one();
      });
    }
    auto backlog = sup_.logs(req->service(), 0);
    if (req->tail() > 0 && backlog.size() > static_cast<size_t>(req->tail()))
      backlog.erase(backlog.begin(), backlog.end() - req->tail());
    uint64_t last = 0;
    pb::LogLine out;
    for (const auto& l : backlog) {
      fillLine(l, &out);
      if (!writer->Write(out)) break;
      last = l.seq;
    }
    while (req->follow() && !ctx->IsCancelled() && !stopping_) {
      std::deque<LogLine> batch;
      uint64_t dropped = 0;
      {
        std::unique_lock lock(q->mu);
        q->cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return !q->lines.empty(); });
        batch.swap(q->lines);
        std::swap(dropped, q->dropped);
      }
      if (dropped > 0) {
        pb::LogLine note;
        note.set_service("sandbank");
        note.set_level("warn");
        note.set_message(std::to_string(dropped) + " log lines dropped: the reader was too slow");
        if (!writer->Write(note)) break;
      }
      bool ok = true;
      for (const auto& l : batch) {
        if (l.seq <= last) continue;  // already sent with the backlog
        fillLine(l, &out);
        if (!(ok = writer->Write(out))) break;
        last = l.seq;
      }
      if (!ok) break;
    }
    if (sub >= 0) sup_.unsubscribe(sub);
    return grpc::Status::OK;
  }

  grpc::Status Shutdown(grpc::ServerContext* ctx, const pb::ShutdownRequest*, pb::ServiceActionResponse* resp) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    resp->set_message("shutting down");
    if (options_.on_shutdown && !shutdown_requested_.exchange(true)) options_.on_shutdown();
    return grpc::Status::OK;
  }

  void setChecker(InvariantChecker checker) {
    std::lock_guard lock(checker_mu_);
    checker_ = std::make_shared<InvariantChecker>(std::move(checker));
  }

  grpc::Status Check(grpc::ServerContext* ctx, const pb::CheckRequest* req, pb::CheckResponse* resp) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    std::shared_ptr<InvariantChecker> checker;
    {
      std::lock_guard lock(checker_mu_);
      checker = checker_;
    }
    if (!checker || !*checker)
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "this run has no invariant checker");
    CheckSpec spec;
    if (!req->consistency().empty()) spec.consistency = req->consistency();
    if (req->settle_ms() > 0) spec.settle = std::chrono::milliseconds(req->settle_ms());
    if (req->settle_ms() < 0) spec.settle = std::chrono::milliseconds(0);
    auto outcome = (*checker)(spec);
    if (!outcome.ok()) return toGrpc(outcome.status().withContext("invariant check"));
    resp->set_clean(outcome->clean());
    for (int n : outcome->invariants) resp->add_invariants(n);
    for (const auto& v : outcome->violations) {
      auto* o = resp->add_violations();
      o->set_invariant(v.invariant);
      o->set_subject(v.subject);
      o->set_detail(v.detail);
      o->set_trace_id(v.trace_id);
      for (const auto& r : v.rows) o->add_rows(r);
    }
    for (const auto& [what, n] : outcome->counts) {
      auto* c = resp->add_counts();
      c->set_what(what);
      c->set_count(n);
    }
    for (const auto& n : outcome->notes) resp->add_notes(n);
    resp->set_text(formatCheckOutcome(*outcome));
    return grpc::Status::OK;
  }

  grpc::Status Clock(grpc::ServerContext* ctx, const pb::ClockRequest* req, pb::ClockState* resp) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    if (!options_.clock_offset || !options_.clock) return missing("the simulated clock");
    if (!req->advance().empty()) {
      auto d = parseDuration(req->advance());
      if (!d.ok()) return toGrpc(d.status().withContext("advance"));
      if (d->count() <= 0) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "advance: time only moves forward");
      options_.clock_offset->advance(*d);
    }
    resp->set_now(formatTimestamp(options_.clock->now()));
    resp->set_offset_seconds(std::chrono::duration_cast<std::chrono::seconds>(options_.clock_offset->offset()).count());
    return grpc::Status::OK;
  }

  grpc::Status AddFault(grpc::ServerContext* ctx, const pb::FaultRule* req, pb::FaultRule* resp) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    if (!options_.faults) return missing("the fault engine");
    auto rule = faultRuleFromProto(*req);
    if (!rule.ok()) return toGrpc(rule.status());

    if (auto s = options_.faults->addRule(*rule); !s.ok()) return toGrpc(s);
    auto state = options_.faults->rule(rule->id);
    if (state.ok()) faultRuleToProto(*state, resp);
    return grpc::Status::OK;
  }

  grpc::Status RemoveFault(grpc::ServerContext* ctx, const pb::FaultId* req, pb::ServiceActionResponse* resp) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    if (!options_.faults) return missing("the fault engine");
    if (req->id().empty()) {
      options_.faults->clear();
      resp->set_message("removed every fault rule");
      return grpc::Status::OK;
    }
    if (auto s = options_.faults->removeRule(req->id()); !s.ok()) return toGrpc(s);
    resp->set_message("removed " + req->id());
    return grpc::Status::OK;
  }

  grpc::Status ListFaults(grpc::ServerContext* ctx, const pb::ListFaultsRequest*, pb::FaultList* resp) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    if (!options_.faults) return missing("the fault engine");
    for (const auto& r : options_.faults->listRules()) faultRuleToProto(r, resp->add_rules());
    return grpc::Status::OK;
  }

  grpc::Status QueryFlow(grpc::ServerContext* ctx, const pb::FlowQueryRequest* req, pb::FlowEvents* resp) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    if (!options_.flow) return missing("the flow hub");
    auto filter = flowFilterFromProto(req->filter());
    if (!filter.ok()) return toGrpc(filter.status());
    flow::LiveFlowQuery query(*options_.flow);
    auto events = query.events(*filter, req->filter().limit());
    if (!events.ok()) return toGrpc(events.status());
    for (const auto& e : *events) {
      pb::FlowEvent* out = resp->add_events();
      flowEventToProto(e, out);
      if (req->decode() && options_.decoder && !e.payload.empty()) {
        auto json = options_.decoder->eventPayloadToJson(e);
        if (json.ok()) out->set_payload_json(*json);
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status SubscribeFlow(grpc::ServerContext* ctx, const pb::FlowFilter* req,
                             grpc::ServerWriter<pb::FlowEvents>* writer) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    if (!options_.flow) return missing("the flow hub");
    auto filter = flowFilterFromProto(*req);
    if (!filter.ok()) return toGrpc(filter.status());
    std::string peer = ctx->peer();
    auto sub = options_.flow->subscribe("control:" + peer, *filter);
    while (!ctx->IsCancelled() && !stopping_) {
      flow::FlowBatch batch = sub->pollWait(1000, std::chrono::milliseconds(200));
      if (batch.events.empty() && batch.lost == 0) continue;
      pb::FlowEvents out;
      out.set_lost(batch.lost);
      for (const auto& e : batch.events) flowEventToProto(*e, out.add_events());
      if (!writer->Write(out)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status DumpFlow(grpc::ServerContext* ctx, const pb::DumpFlowRequest* req, pb::DumpFlowResponse* resp) override {
    if (auto s = authorize(ctx); !s.ok()) return s;
    if (!options_.flow) return missing("the flow hub");
    auto format = flow::parseDumpFormat(req->format().empty() ? "text" : req->format());
    if (!format.ok()) return toGrpc(format.status());
    flow::LiveFlowQuery query(*options_.flow);
    flow::DumpOptions d;
    d.trace_id = req->trace_id();
    d.all_traces = req->all();
    d.format = *format;
    auto text = flow::dumpFlow(query, d);
    if (!text.ok()) return toGrpc(text.status());
    resp->set_text(*text);
    return grpc::Status::OK;
  }

 private:
  static grpc::Status missing(const std::string& what) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, what + " is not part of this simulator");
  }

  grpc::Status authorize(grpc::ServerContext* ctx) const {
    if (options_.token.empty()) return grpc::Status::OK;
    auto md = ctx->client_metadata();
    auto it = md.find("authorization");
    if (it == md.end())
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "missing 'authorization: Bearer <token>' metadata; the token is in the run-state file");
    if (std::string(it->second.data(), it->second.size()) != "Bearer " + options_.token)
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong token for this simulator");
    return grpc::Status::OK;
  }

  grpc::Status known(const std::string& service) const {
    for (const auto& n : sup_.serviceNames())
      if (n == service) return grpc::Status::OK;
    std::string list;
    for (const auto& n : sup_.serviceNames()) list += (list.empty() ? "" : ", ") + n;
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no service '" + service + "'; running: " + list);
  }

  template <class F>
  grpc::Status act(grpc::ServerContext* ctx, const pb::ServiceRequest* req, pb::ServiceActionResponse* resp,
                   const std::string& verb, F f) {
    if (auto s = authorize(ctx); !s.ok()) return s;
    if (req->service().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "service name is required");
    if (auto s = known(req->service()); !s.ok()) return s;
    Status s = f();
    if (!s.ok()) return toGrpc(s);
    resp->set_message(verb + " " + req->service());
    return grpc::Status::OK;
  }

  supervisor::Supervisor& sup_;
  const ControlServerOptions& options_;
  std::atomic<bool>& stopping_;
  std::atomic<bool> shutdown_requested_{false};
  std::mutex checker_mu_;
  std::shared_ptr<InvariantChecker> checker_;  // guarded by checker_mu_
};

}  // namespace

struct ControlServer::Impl {
  Impl(supervisor::Supervisor& s, ControlServerOptions o) : options(std::move(o)), control(s, options, stopping) {}
  ControlServerOptions options;
  std::atomic<bool> stopping{false};
  ControlImpl control;
  std::vector<grpc::Service*> extra;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

ControlServer::ControlServer(supervisor::Supervisor& supervisor, ControlServerOptions options)
    : impl_(std::make_unique<Impl>(supervisor, std::move(options))) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::addService(grpc::Service* service) { impl_->extra.push_back(service); }

Status ControlServer::start() {
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // The token guards the whole port: Control, and the Bus, Store and reflection services
  // added next to it, before any of their methods runs.
  builder.AddListeningPort("127.0.0.1:" + std::to_string(impl_->options.port),
                           tokenServerCredentials(impl_->options.token), &impl_->port);
  builder.RegisterService(&impl_->control);
  for (auto* s : impl_->extra) builder.RegisterService(s);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0)
    return Unavailable("cannot listen on 127.0.0.1:" + std::to_string(impl_->options.port));
  return OkStatus();
}

int ControlServer::port() const { return impl_->port; }

void ControlServer::setChecker(InvariantChecker checker) { impl_->control.setChecker(std::move(checker)); }

void ControlServer::stop() {
  if (!impl_->server) return;
  impl_->stopping = true;
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace sandbank::control
