// The subcommands that talk to a running simulator through the control API.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include "commands.h"
#include "sandbank/control.grpc.pb.h"
#include "sandbank/control/run_state.h"
#include "sandbank/core/duration.h"
#include "sandbank/load/load_generator.h"
#include "status_table.h"

namespace sandbank::cli {
namespace {

namespace pb = sandbank::control;

struct Connection {
  control::RunState state;
  std::unique_ptr<pb::Control::Stub> stub;
  void prepare(grpc::ClientContext& ctx, std::chrono::seconds timeout = std::chrono::seconds(30)) const {
    ctx.AddMetadata("authorization", "Bearer " + state.token);
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  }
};

Result<Connection> connect(const ClientOptions& o) {
  std::string path = o.state_file.empty() ? control::defaultRunStatePath() : o.state_file;
  auto rs = control::readRunState(path);
  if (!rs.ok()) return rs.status();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  Connection c{*rs, pb::Control::NewStub(grpc::CreateCustomChannel(rs->address, grpc::InsecureChannelCredentials(), args))};
  return c;
}

int fail(const std::string& what, const grpc::Status& s) {
  std::cerr << "sandbank " << what << ": " << s.error_message() << "\n";
  return s.error_code() == grpc::StatusCode::NOT_FOUND || s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 2 : 1;
}

int fail(const std::string& what, const Status& s) {
  std::cerr << "sandbank " << what << ": " << s.message() << "\n";
  return 1;
}

}  // namespace

std::string binDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

int runPs(const ClientOptions& o, const std::string& service, bool json) {
  auto c = connect(o);
  if (!c.ok()) return fail("ps", c.status());
  grpc::ClientContext ctx;
  c->prepare(ctx);
  pb::ListServicesRequest req;
  req.set_service(service);
  pb::ListServicesResponse resp;
  grpc::Status s = c->stub->ListServices(&ctx, req, &resp);
  if (!s.ok()) return fail("ps", s);
  if (json) {
    for (const auto& i : resp.instances()) {
      std::printf("{\"instance\":\"%s\",\"service\":\"%s\",\"state\":\"%s\",\"pid\":%d,\"port\":%d,\"http_port\":%d,\"restarts\":%d}\n",
                  i.instance().c_str(), i.service().c_str(), i.state().c_str(), i.pid(), i.port(), i.http_port(),
                  i.restarts());
    }
    return 0;
  }
  std::vector<StatusRow> rows;
  for (const auto& i : resp.instances()) {
    StatusRow r;
    r.instance = i.instance();
    r.state = i.state();
    r.pid = i.pid() > 0 ? std::to_string(i.pid()) : "-";
    r.port = i.port() > 0 ? std::to_string(i.port()) : "-";
    if (i.http_port() > 0) r.port += " http:" + std::to_string(i.http_port());
    r.restarts = std::to_string(i.restarts());
    r.uptime = formatUptime(i.uptime_seconds());
    char cpu[16];
    std::snprintf(cpu, sizeof cpu, "%.0f%%", i.cpu_percent());
    r.cpu = i.pid() > 0 ? cpu : "-";
    r.rss = formatBytes(i.rss_bytes());
    r.note = !i.reason().empty() ? i.reason() : i.health();
    rows.push_back(std::move(r));
  }
  std::cout << renderStatusTable(rows, ::isatty(STDOUT_FILENO));
  return 0;
}

int runLogs(const ClientOptions& o, const std::string& service, bool follow, int tail) {
  auto c = connect(o);
  if (!c.ok()) return fail("logs", c.status());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + c->state.token);
  pb::LogsRequest req;
  req.set_service(service);
  req.set_follow(follow);
  req.set_tail(tail);
  auto reader = c->stub->StreamLogs(&ctx, req);
  pb::LogLine line;
  bool many = service.empty();
  while (reader->Read(&line)) {
    if (many || line.service() == "sandbank") std::cout << line.instance() << " | ";
    std::cout << (line.raw().empty() ? line.message() : line.raw()) << "\n";
    if (follow) std::cout << std::flush;
  }
  grpc::Status s = reader->Finish();
  if (!s.ok() && !(follow && s.error_code() == grpc::StatusCode::UNAVAILABLE)) return fail("logs", s);
  return 0;
}

int runServiceAction(const ClientOptions& o, const std::string& action, const std::string& service,
                     const std::string& signal) {
  auto c = connect(o);
  if (!c.ok()) return fail(action, c.status());
  grpc::ClientContext ctx;
  c->prepare(ctx, std::chrono::seconds(60));
  pb::ServiceRequest req;
  req.set_service(service);
  req.set_signal(signal);
  pb::ServiceActionResponse resp;
  grpc::Status s;
  if (action == "start") s = c->stub->StartService(&ctx, req, &resp);
  else if (action == "stop") s = c->stub->StopService(&ctx, req, &resp);
  else if (action == "restart") s = c->stub->RestartService(&ctx, req, &resp);
  else s = c->stub->KillService(&ctx, req, &resp);
  if (!s.ok()) return fail(action, s);
  std::cout << resp.message() << "\n";
  return 0;
}

int runDown(const ClientOptions& o) {
  auto c = connect(o);
  if (!c.ok()) return fail("down", c.status());
  grpc::ClientContext ctx;
  c->prepare(ctx);
  pb::ShutdownRequest req;
  pb::ServiceActionResponse resp;
  grpc::Status s = c->stub->Shutdown(&ctx, req, &resp);
  if (!s.ok()) return fail("down", s);
  // The simulator removes its run-state file once every service has stopped.
  std::string path = o.state_file.empty() ? control::defaultRunStatePath() : o.state_file;
  for (int i = 0; i < 1200 && std::filesystem::exists(path) && ::kill(c->state.pid, 0) == 0; ++i) usleep(25'000);
  std::cout << "stopped the simulator (pid " << c->state.pid << ")\n";
  return 0;
}

int runLiveFlowDump(const ClientOptions& o, const FlowDumpOptions& f) {
  auto c = connect(o);
  if (!c.ok()) return fail("flow", c.status());
  grpc::ClientContext ctx;
  c->prepare(ctx);
  pb::DumpFlowRequest req;
  req.set_trace_id(f.trace);
  req.set_all(f.all);
  req.set_format(f.format);
  pb::DumpFlowResponse resp;
  grpc::Status s = c->stub->DumpFlow(&ctx, req, &resp);
  if (!s.ok()) return fail("flow", s);
  std::cout << resp.text();
  return 0;
}

int runClock(const ClientOptions& o, const std::string& advance) {
  auto c = connect(o);
  if (!c.ok()) return fail("clock", c.status());
  grpc::ClientContext ctx;
  c->prepare(ctx);
  pb::ClockRequest req;
  req.set_advance(advance);
  pb::ClockState resp;
  grpc::Status s = c->stub->Clock(&ctx, req, &resp);
  if (!s.ok()) return fail("clock", s);
  std::cout << resp.now() << " (simulated; " << resp.offset_seconds() << " s ahead of real time)\n";
  return 0;
}

int runFaultAdd(const ClientOptions& o, const FaultOptions& f) {
  auto c = connect(o);
  if (!c.ok()) return fail("fault add", c.status());
  grpc::ClientContext ctx;
  c->prepare(ctx);
  pb::FaultRule req;
  req.set_id(f.id);
  req.set_source(f.source);
  req.set_destination(f.destination);
  req.set_method(f.method);
  req.set_topic(f.topic);
  req.set_table(f.table);
  req.set_action(f.action);
  req.set_delay(f.delay);
  req.set_jitter(f.jitter);
  req.set_code(f.code);
  req.set_message(f.message);
  for (const auto& s : f.side_a) req.add_side_a(s);
  for (const auto& s : f.side_b) req.add_side_b(s);
  req.set_probability(f.probability);
  req.set_start_after(f.start_after);
  req.set_stop_after(f.stop_after);
  req.set_max_hits(f.max_hits);
  pb::FaultRule resp;
  grpc::Status s = c->stub->AddFault(&ctx, req, &resp);
  if (!s.ok()) return fail("fault add", s);
  std::cout << "added fault " << resp.id() << " (" << resp.action() << ")\n";
  return 0;
}

int runFaultList(const ClientOptions& o) {
  auto c = connect(o);
  if (!c.ok()) return fail("fault ls", c.status());
  grpc::ClientContext ctx;
  c->prepare(ctx);
  pb::FaultList resp;
  grpc::Status s = c->stub->ListFaults(&ctx, pb::ListFaultsRequest(), &resp);
  if (!s.ok()) return fail("fault ls", s);
  std::printf("%-20s %-10s %-8s %-8s %s\n", "ID", "ACTION", "ACTIVE", "HITS", "MATCH");
  for (const auto& r : resp.rules()) {
    std::string match;
    auto add = [&](const char* k, const std::string& v) {
      if (!v.empty()) match += std::string(match.empty() ? "" : " ") + k + "=" + v;
    };
    add("source", r.source());
    add("destination", r.destination());
    add("method", r.method());
    add("topic", r.topic());
    add("table", r.table());
    std::printf("%-20s %-10s %-8s %-8lld %s\n", r.id().c_str(), r.action().c_str(), r.active() ? "yes" : "no",
                static_cast<long long>(r.hits()), match.c_str());
  }
  return 0;
}

int runFaultRemove(const ClientOptions& o, const std::string& id) {
  auto c = connect(o);
  if (!c.ok()) return fail("fault rm", c.status());
  grpc::ClientContext ctx;
  c->prepare(ctx);
  pb::FaultId req;
  req.set_id(id);
  pb::ServiceActionResponse resp;
  grpc::Status s = c->stub->RemoveFault(&ctx, req, &resp);
  if (!s.ok()) return fail("fault rm", s);
  std::cout << resp.message() << "\n";
  return 0;
}

}  // namespace sandbank::cli

namespace sandbank::cli {

int runCheck(const ClientOptions& o, const CheckCommandOptions& check) {
  auto c = connect(o);
  if (!c.ok()) return fail("check", c.status());
  grpc::ClientContext ctx;
  c->prepare(ctx, std::chrono::seconds(120));
  pb::CheckRequest req;
  req.set_consistency(check.consistency);
  req.set_settle_ms(check.settle.count() > 0 ? check.settle.count() : -1);
  pb::CheckResponse resp;
  grpc::Status s = c->stub->Check(&ctx, req, &resp);
  if (!s.ok()) return fail("check", s);
  if (check.json) {
    std::string json;
    google::protobuf::util::JsonPrintOptions jo;
    jo.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(resp, &json, jo);
    std::cout << json << "\n";
  } else {
    std::cout << resp.text();
  }
  return resp.clean() ? 0 : 1;
}

namespace {
std::atomic<bool> g_load_cancel{false};
extern "C" void onLoadInterrupt(int) { g_load_cancel.store(true); }
}  // namespace

int runLoadCommand(const ClientOptions& o, const LoadCommandOptions& l) {
  load::LoadOptions options;
  options.customers = l.customers;
  options.rate = l.rate;
  options.seed = l.seed;
  options.concurrency = l.concurrency;
  auto d = parseDuration(l.duration);
  if (!d.ok()) return fail("load", d.status().withContext("--duration"));
  options.duration = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  options.edge = l.edge;
  if (options.edge.empty()) {
    auto c = connect(o);
    if (!c.ok()) return fail("load", c.status().withContext("no --edge given and no running simulator"));
    grpc::ClientContext ctx;
    c->prepare(ctx);
    pb::ListServicesRequest req;
    req.set_service("edge");
    pb::ListServicesResponse resp;
    grpc::Status s = c->stub->ListServices(&ctx, req, &resp);
    if (!s.ok()) return fail("load", s);
    for (const auto& i : resp.instances())
      if (i.http_port() > 0) {
        options.edge = "127.0.0.1:" + std::to_string(i.http_port());
        break;
      }
    if (options.edge.empty()) {
      std::cerr << "sandbank load: the running bank has no edge serving HTTP yet (see sandbank ps)\n";
      return 1;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = onLoadInterrupt;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  return load::runLoad(options, std::cout, ::isatty(STDOUT_FILENO), &g_load_cancel);
}

}  // namespace sandbank::cli
