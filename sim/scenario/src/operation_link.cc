// OperationLink: the operation table of scenarios/README.md ("rpc", "http", "bus.produce",
// "store.cql", "faults.add", ...) and reset(), over a BankAccess - the same JSON in and
// out and the same error codes whether the bank runs in this process (simulator_access.cc)
// or is reached over its control port (remote_access.cc). Calls to services go through
// the mesh (JSON <-> protobuf with the build's descriptor set); HTTP goes to the port the
// edge announced; faults, services, the clock and the invariant check go through the
// control API, as any client's.
// Thread-safety: used from the script thread only (BankLink's contract).
#include "operation_link.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "http_client.h"
#include "sandbank/control.grpc.pb.h"
#include "sandbank/control/run_state.h"
#include "sandbank/core/duration.h"
#include "sandbank/flow/flow_filter.h"
#include "sandbank/load/load_generator.h"

namespace sandbank::scenario {
namespace {

namespace pb = google::protobuf;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string hexId(std::mt19937_64& rng, int digits) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  while (static_cast<int>(s.size()) < digits) s += kHex[rng() & 15];
  if (s.find_first_not_of('0') == std::string::npos) s.back() = '1';
  return s;
}

Status fromGrpc(const grpc::Status& s, const std::string& what) {
  return Status(static_cast<StatusCode>(s.error_code()), what + ": " + s.error_message());
}

struct MethodInfo {
  std::string full;  // "sandbank.bank.ledger.Ledger/PostEntrySet"
  std::string package;
  std::string service;  // "Ledger"
  std::string input, output;
};

std::string normalise(std::string s) {
  std::string out;
  for (char c : s)
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class OperationLink final : public BankLink {
 public:
  OperationLink(std::unique_ptr<BankAccess> access, LinkOptions options) : bank_(std::move(access)), options_(std::move(options)) {
    rng_.seed(0x5eed);
  }

  Status init() {
    std::ifstream in(options_.descriptor_path, std::ios::binary);
    if (!in) return NotFound("cannot read the descriptor set " + options_.descriptor_path + " (build the proto target)");
    pb::FileDescriptorSet set;
    if (!set.ParseFromIstream(&in)) return InvalidArgument(options_.descriptor_path + " is not a FileDescriptorSet");
    for (const auto& file : set.file()) {
      if (pool_.BuildFile(file) == nullptr) return InvalidArgument("descriptor set: cannot build " + file.name());
      for (const auto& svc : file.service())
        for (const auto& m : svc.method()) {
          MethodInfo mi{file.package() + "." + svc.name() + "/" + m.name(), file.package(), svc.name(),
                        m.input_type().substr(1), m.output_type().substr(1)};
          methods_[m.name()].push_back(mi);
          by_full_[mi.full] = mi;
        }
    }
    auto state = control::readRunState(options_.state_file);
    if (!state.ok()) return state.status().withContext("the bank's run-state file");
    token_ = state->token;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    control_ = control::Control::NewStub(grpc::CreateCustomChannel(state->address, grpc::InsecureChannelCredentials(), args));
    return OkStatus();
  }

  ~OperationLink() override {
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  Result<json> invoke(const std::string& op, const json& a) override {
    if (op == "scenario.begin") return begin();
    if (op == "rpc") return rpc(a);
    if (op == "http") return http(a);
    if (op.rfind("bus.", 0) == 0) return busOp(op.substr(4), a);
    if (op.rfind("store.", 0) == 0) return storeOp(op.substr(6), a);
    if (op.rfind("faults.", 0) == 0) return faultsOp(op.substr(7), a);
    if (op.rfind("services.", 0) == 0) return servicesOp(op.substr(9), a);
    if (op == "clock") return clockOp(a);
    if (op == "check") return checkOp(a);
    if (op == "flow.events") return flowEvents(a);
    if (op == "scenario.end") return end();
    if (op.rfind("load.", 0) == 0) return loadOp(op.substr(5), a);
    return InvalidArgument("unknown operation '" + op + "'");
  }

  std::vector<flow::FlowEvent> traceEvents(const std::string& trace_id) override {
    auto events = bank_->recentFlow(std::nullopt, trace_id);
    return events.ok() ? std::move(*events) : std::vector<flow::FlowEvent>();
  }

  Result<std::optional<InvariantReport>> check() override {
    auto r = runCheck("", 5000);
    if (!r.ok()) return r.status();
    if (!r->has_value()) return std::optional<InvariantReport>();
    return std::optional<InvariantReport>(InvariantReport{(**r).clean(), (**r).text()});
  }

  Status reset() override {
    std::vector<std::string> problems;
    auto note = [&](const Status& s, const std::string& what) {
      if (!s.ok()) problems.push_back(what + ": " + s.message());
    };
    (void)end();  // no load of the last scenario may run into this one
    note(bank_->clearFaults(), "clear faults");
    if (auto nodes = bank_->nodes(); nodes.ok()) {
      for (const auto& n : *nodes) {
        if (!n.up) note(bank_->nodeUp(n.id), "bring " + n.name + " up");
        if (n.isolated) note(bank_->setIsolated(n.id, false), "rejoin " + n.name);
        if (n.added_latency_ms != 0) note(bank_->setSlow(n.id, 0ms), "unslow " + n.name);
      }
    } else {
      note(nodes.status(), "list store nodes");
    }
    for (const auto& c : skewed_clients_) note(bank_->setClientSkew(c, 0ms), "unskew " + c);
    skewed_clients_.clear();
    if (auto groups = bank_->listGroups(); groups.ok()) {
      for (const auto& g : *groups) (void)bank_->stallGroup(g, false);
    } else {
      note(groups.status(), "list consumer groups");
    }
    auto services = bank_->serviceNames();
    if (!services.ok()) note(services.status(), "list services");
    const std::vector<std::string> names = services.ok() ? *services : std::vector<std::string>();
    // Stop services one by one (Supervisor::stopAll ends the supervisor's run for good).
    if (options_.restart_services_on_reset) {
      for (auto it = names.rbegin(); it != names.rend(); ++it) note(bank_->stopService(*it), "stop " + *it);
      // stopService() only asks; wait until every process is gone before touching data.
      if (!bank_->waitAllStopped(options_.ready_timeout))
        problems.push_back("services did not stop within " + std::to_string(options_.ready_timeout.count()) + "ms");
    }
    // Topics: Kafka has no truncate; delete and recreate with the same configuration.
    if (auto topics = bank_->describeTopics(); topics.ok()) {
      for (const auto& t : *topics) {
        note(bank_->deleteTopic(t.name), "delete topic " + t.name);
        if (t.name.find(".dlq.") == std::string::npos) note(bank_->createTopic(t.name, t.config), "recreate topic " + t.name);
      }
    } else {
      note(topics.status(), "list topics");
    }
    if (auto tables = bank_->tablesToTruncate(); tables.ok()) {
      std::set<std::string> all = *tables;
      for (const auto& t : options_.reset_tables) all.insert(t);
      for (const auto& t : all) {
        auto dot = t.find('.');
        auto s = bank_->truncate(t.substr(0, dot), t.substr(dot + 1));
        if (!s.ok() && s.message().find("unknown") == std::string::npos) note(s, "truncate " + t);
      }
    } else {
      note(tables.status(), "list tables");
    }
    if (options_.restart_services_on_reset) {
      for (const auto& svc : names) note(bank_->startService(svc), "start " + svc);
    } else if (auto stopped = bank_->stoppedServices(); stopped.ok()) {
      for (const auto& svc : *stopped) note(bank_->startService(svc), "start " + svc);
    } else {
      note(stopped.status(), "list stopped services");
    }
    note(bank_->waitUntilReady(options_.ready_timeout), "services ready");
    if (problems.empty()) return OkStatus();
    std::string m = "reset incomplete:";
    for (const auto& p : problems) m += "\n  " + p;
    return FailedPrecondition(m);
  }

 private:
  // ---- marks ---------------------------------------------------------------------------
  Result<json> begin() {
    SANDBANK_ASSIGN_OR_RETURN(flow_mark_, bank_->flowMark());
    marks_.clear();
    SANDBANK_ASSIGN_OR_RETURN(auto topics, bank_->describeTopics());
    for (const auto& t : topics)
      for (const auto& p : t.partitions) marks_[t.name + "#" + std::to_string(p.partition)] = p.log_end;
    return json::object();
  }

  // After a scenario's teardown, before the invariant check: background load still
  // running is stopped and its requests in flight are waited for, so the checker sees a
  // bank at rest.
  Result<json> end() {
    json stopped = json::array();
    for (auto& [id, gen] : loads_) {
      gen->stop();
      gen->wait();
      stopped.push_back(id);
    }
    loads_.clear();
    return json{{"stopped", stopped}};
  }

  // ---- background load: the `sandbank load` generator on its own threads -----------------
  static json loadStatsJson(const load::LoadStats& st) {
    auto ms = [](std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; };
    json kinds = json::object();
    for (int k = 0; k < load::kOpKindCount; ++k) {
      const auto& c = st.by_kind[k];
      if (c.attempted == 0) continue;
      kinds[std::string(load::opKindName(static_cast<load::OpKind>(k)))] =
          json{{"attempted", c.attempted}, {"ok", c.ok}, {"declined", c.declined}, {"failed", c.failed}};
    }
    return json{{"running", st.running},          {"elapsed_ms", ms(st.elapsed)},   {"planned", st.planned},
                {"attempted", st.attempted},      {"ok", st.ok},                    {"declined", st.declined},
                {"failed", st.failed},            {"skipped", st.skipped},          {"retries", st.retries},
                {"p50_ms", ms(st.p50)},           {"p99_ms", ms(st.p99)},           {"rate", st.current_rate},
                {"failures_by_code", st.failures_by_code}, {"declines_by_reason", st.declines_by_reason},
                {"retransmit_mismatches", st.retransmit_mismatches}, {"by_kind", kinds}};
  }

  Result<json> loadOp(const std::string& op, const json& a) {
    if (op == "start") {
      load::LoadOptions o;
      SANDBANK_ASSIGN_OR_RETURN(int port, edgePort());
      o.edge = "127.0.0.1:" + std::to_string(port);
      o.customers = a.value("customers", o.customers);
      o.rate = a.value("rate", o.rate);
      o.duration = std::chrono::milliseconds(a.value("duration_ms", int64_t{0}));
      o.seed = a.value("seed", o.seed);
      o.concurrency = a.value("concurrency", o.concurrency);
      if (a.contains("mix")) {
        const json& m = a["mix"];
        if (!m.is_object()) return InvalidArgument("load.start: mix must be an object of weights");
        const std::pair<const char*, double*> weights[] = {
            {"get_paid", &o.mix.get_paid},          {"card_spend", &o.mix.card_spend},
            {"transfer", &o.mix.transfer},          {"pot", &o.mix.pot},
            {"payment", &o.mix.payment},            {"read_balance", &o.mix.read_balance},
            {"read_feed", &o.mix.read_feed},        {"reverse_fraction", &o.mix.reverse_fraction},
            {"unsettled_fraction", &o.mix.unsettled_fraction},
            {"clear_differs_fraction", &o.mix.clear_differs_fraction},
            {"retransmit_fraction", &o.mix.retransmit_fraction},
            {"overspend_fraction", &o.mix.overspend_fraction}};
        for (auto& [k, v] : m.items()) {
          auto w = std::find_if(std::begin(weights), std::end(weights), [&](const auto& p) { return k == p.first; });
          if (w == std::end(weights)) return InvalidArgument("load.start: unknown mix entry '" + k + "'");
          if (!v.is_number()) return InvalidArgument("load.start: mix." + k + " must be a number");
          *w->second = v.get<double>();
        }
      }
      auto gen = std::make_unique<load::LoadGenerator>(o);
      if (Status st = gen->start(); !st.ok()) return st.withContext("load.start");
      const std::string id = "load-" + std::to_string(++load_seq_);
      loads_[id] = std::move(gen);
      return json{{"id", id}};
    }
    auto it = loads_.find(a.value("id", ""));
    if (it == loads_.end()) return NotFound("load." + op + ": no background load '" + a.value("id", "") + "' in this scenario");
    load::LoadGenerator& gen = *it->second;
    if (op == "stats") return loadStatsJson(gen.snapshot());
    if (op == "wait") {
      const bool ended = gen.waitFor(std::chrono::milliseconds(a.value("timeout_ms", int64_t{0})));
      json j = loadStatsJson(gen.snapshot());
      j["ended"] = ended;
      return j;
    }
    if (op == "stop") {
      gen.stop();
      gen.wait();
      json j = loadStatsJson(gen.snapshot());
      loads_.erase(it);
      return j;
    }
    return InvalidArgument("unknown operation 'load." + op + "'");
  }

  // ---- protobuf ------------------------------------------------------------------------
  Result<std::string> jsonToBytes(const std::string& type, const json& body) {
    const pb::Descriptor* d = pool_.FindMessageTypeByName(type);
    if (d == nullptr) return NotFound("no message type " + type + " in the descriptor set");
    std::unique_ptr<pb::Message> m(factory_.GetPrototype(d)->New());
    pb::util::JsonParseOptions o;
    auto s = pb::util::JsonStringToMessage(body.dump(), m.get(), o);
    if (!s.ok()) return InvalidArgument("body does not fit " + type + ": " + std::string(s.message()));
    return m->SerializeAsString();
  }

  Result<json> bytesToJson(const std::string& type, const std::string& bytes) {
    const pb::Descriptor* d = pool_.FindMessageTypeByName(type);
    if (d == nullptr) return NotFound("no message type " + type + " in the descriptor set");
    std::unique_ptr<pb::Message> m(factory_.GetPrototype(d)->New());
    if (!m->ParseFromString(bytes)) return InvalidArgument("bytes do not parse as " + type);
    std::string out;
    pb::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    o.always_print_primitive_fields = true;
    (void)pb::util::MessageToJsonString(*m, &out, o);
    json j = json::parse(out, nullptr, false);
    numbersForInt64(j, d);
    return j;
  }

  // proto3 JSON prints 64-bit integers as strings; scripts compare numbers, so turn the
  // ones that fit a double exactly back into numbers.
  static void numbersForInt64(json& j, const pb::Descriptor* d) {
    if (!j.is_object() || d == nullptr) return;
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      auto it = j.find(f->name());
      if (it == j.end()) continue;
      auto fix = [&](json& v) {
        using T = pb::FieldDescriptor;
        if (f->cpp_type() == T::CPPTYPE_MESSAGE) {
          if (f->is_map()) {
            if (v.is_object())
              for (auto& [k, mv] : v.items()) numbersForInt64(mv, f->message_type()->map_value()->message_type());
          } else {
            numbersForInt64(v, f->message_type());
          }
        } else if ((f->cpp_type() == T::CPPTYPE_INT64 || f->cpp_type() == T::CPPTYPE_UINT64) && v.is_string()) {
          try {
            long long n = std::stoll(v.get<std::string>());
            if (n <= (1LL << 53) && n >= -(1LL << 53)) v = n;
          } catch (...) {
          }
        }
      };
      if (f->is_repeated() && !f->is_map() && it->is_array()) {
        for (auto& v : *it) fix(v);
      } else {
        fix(*it);
      }
    }
  }

  Result<MethodInfo> resolve(const std::string& name, std::string* service) {
    // "ledger.PostEntrySet", "card-processor.Authorise", or "ledger/sandbank.bank.ledger.Ledger/PostEntrySet".
    if (auto slash = name.find('/'); slash != std::string::npos && name.find('/', slash + 1) != std::string::npos) {
      *service = name.substr(0, slash);
      auto it = by_full_.find(name.substr(slash + 1));
      if (it == by_full_.end()) return NotFound("no method " + name.substr(slash + 1) + " in the descriptor set");
      return it->second;
    }
    auto dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0) return InvalidArgument("rpc('" + name + "'): name it as service.Method, e.g. ledger.PostEntrySet");
    if (service->empty()) *service = name.substr(0, dot);
    const std::string method = name.substr(dot + 1);
    auto it = methods_.find(method);
    if (it == methods_.end()) return NotFound("no service in the descriptor set has a method " + method);
    if (it->second.size() == 1) return it->second[0];
    const std::string want = normalise(*service);
    for (const auto& m : it->second) {
      std::string pkg_last = m.package.substr(m.package.rfind('.') + 1);
      if (normalise(pkg_last) == want || normalise(m.service) == want) return m;
    }
    std::string all;
    for (const auto& m : it->second) all += " " + m.full;
    return InvalidArgument("rpc('" + name + "'): " + method + " is ambiguous; name it as " + *service + "/<full method>:" + all);
  }

  // ---- rpc -------------------------------------------------------------------------------
  Result<json> rpc(const json& a) {
    std::string service = a.value("service", "");
    SANDBANK_ASSIGN_OR_RETURN(MethodInfo m, resolve(a.value("method", ""), &service));
    SANDBANK_ASSIGN_OR_RETURN(std::string request, jsonToBytes(m.input, a.value("body", json::object())));
    auto& channel = channels_[service];
    if (!channel) {
      grpc::ChannelArguments args;
      args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, service);
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
      args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
      SANDBANK_ASSIGN_OR_RETURN(std::string mesh, bank_->meshAddress());
      channel = grpc::CreateCustomChannel(mesh, grpc::InsecureChannelCredentials(), args);
    }
    std::string trace = a.value("trace", "");
    if (trace.empty()) trace = hexId(rng_, 32);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(a.value("timeout_ms", 5000)));
    ctx.AddMetadata("traceparent", "00-" + trace + "-" + hexId(rng_, 16) + "-01");
    ctx.AddMetadata("sandbank-source", a.value("as", "scenario"));
    if (a.contains("metadata") && a["metadata"].is_object())
      for (auto& [k, v] : a["metadata"].items()) ctx.AddMetadata(k, v.is_string() ? v.get<std::string>() : v.dump());
    // The call completes on this link's own queue, drained here on the script thread, so
    // no hand-off to gRPC's callback threads and back (bench-scenario showed no clear gain
    // on a loaded machine; it is simpler than a callback, a mutex and a condition).
    grpc::GenericStub stub(channel);
    grpc::Slice slice(request);
    grpc::ByteBuffer req(&slice, 1), resp;
    grpc::Status status;
    auto call = stub.PrepareUnaryCall(&ctx, "/" + m.full, req, &cq_);
    call->StartCall();
    int tag = 0;
    call->Finish(&resp, &status, &tag);
    void* got = nullptr;
    bool ok = false;
    if (!cq_.Next(&got, &ok) || got != &tag) return Internal("rpc " + m.full + ": the completion queue shut down");
    json out = {{"trace", trace}, {"method", m.full}};
    if (!status.ok()) {
      static const char* kCodes[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                                     "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                                     "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                     "UNAUTHENTICATED"};
      int c = static_cast<int>(status.error_code());
      out["ok"] = false;
      out["code"] = c >= 0 && c <= 16 ? kCodes[c] : std::to_string(c);
      out["message"] = status.error_message();
      return out;
    }
    std::vector<grpc::Slice> slices;
    (void)resp.Dump(&slices);
    std::string bytes;
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    SANDBANK_ASSIGN_OR_RETURN(json body, bytesToJson(m.output, bytes));
    out["ok"] = true;
    out["body"] = std::move(body);
    return out;
  }

  // ---- control API -----------------------------------------------------------------------
  void prepare(grpc::ClientContext& ctx, std::chrono::milliseconds timeout = 10s) {
    ctx.AddMetadata("authorization", "Bearer " + token_);
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  }

  Result<control::ListServicesResponse> listServices(const std::string& service) {
    grpc::ClientContext ctx;
    prepare(ctx);
    control::ListServicesRequest req;
    req.set_service(service);
    control::ListServicesResponse resp;
    auto s = control_->ListServices(&ctx, req, &resp);
    if (!s.ok()) return fromGrpc(s, "ListServices");
    return resp;
  }

  static json messageJson(const pb::Message& m) {
    std::string out;
    pb::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    o.always_print_primitive_fields = true;
    (void)pb::util::MessageToJsonString(m, &out, o);
    json j = json::parse(out, nullptr, false);
    numbersForInt64(j, m.GetDescriptor());
    return j;
  }

  // The edge's HTTP port (or, without an edge, the first service that announced one).
  Result<int> edgePort() {
    SANDBANK_ASSIGN_OR_RETURN(auto list, listServices(""));
    int port = 0;
    for (const auto& i : list.instances())
      if (i.http_port() > 0 && (port == 0 || i.service() == "edge")) port = i.http_port();
    if (port == 0) return FailedPrecondition("no service announced an http_port (is the edge up?)");
    return port;
  }

  Result<json> http(const json& a) {
    SANDBANK_ASSIGN_OR_RETURN(int port, edgePort());
    std::string trace = a.value("trace", "");
    if (trace.empty()) trace = hexId(rng_, 32);
    std::vector<std::pair<std::string, std::string>> headers = {{"traceparent", "00-" + trace + "-" + hexId(rng_, 16) + "-01"}};
    if (!a.value("token", "").empty()) headers.emplace_back("Authorization", "Bearer " + a.value("token", ""));
    if (a.contains("headers") && a["headers"].is_object())
      for (auto& [k, v] : a["headers"].items()) headers.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    std::string body;
    if (a.contains("body") && !a["body"].is_null()) body = a["body"].is_string() ? a["body"].get<std::string>() : a["body"].dump();
    HttpAnswer r = httpRequest(port, a.value("method", "GET"), a.value("path", "/"), body, headers,
                               std::chrono::milliseconds(a.value("timeout_ms", 10000)));
    if (r.status == 0) return Unavailable("http " + a.value("path", "/") + ": " + r.error);
    json h = json::object();
    for (const auto& [k, v] : r.headers) h[k] = v;
    if (auto tp = r.headers.find("traceparent"); tp != r.headers.end() && tp->second.size() >= 35) trace = tp->second.substr(3, 32);
    return json{{"status", r.status}, {"headers", h}, {"body", r.body}, {"trace", trace}};
  }

  Result<json> faultsOp(const std::string& op, const json& a) {
    grpc::ClientContext ctx;
    prepare(ctx);
    if (op == "add") {
      json rule = a;
      if (rule.contains("times")) rule["max_hits"] = rule["times"], rule.erase("times");
      control::FaultRule req, resp;
      pb::util::JsonParseOptions o;
      if (auto s = pb::util::JsonStringToMessage(rule.dump(), &req, o); !s.ok())
        return InvalidArgument("faults.add: " + std::string(s.message()));
      auto s = control_->AddFault(&ctx, req, &resp);
      if (!s.ok()) return fromGrpc(s, "faults.add");
      return messageJson(resp);
    }
    if (op == "remove") {
      control::FaultId req;
      req.set_id(a.value("id", ""));
      control::ServiceActionResponse resp;
      auto s = control_->RemoveFault(&ctx, req, &resp);
      if (!s.ok()) return fromGrpc(s, "faults.remove");
      return json{{"message", resp.message()}};
    }
    if (op == "list") {
      control::FaultList resp;
      auto s = control_->ListFaults(&ctx, control::ListFaultsRequest(), &resp);
      if (!s.ok()) return fromGrpc(s, "faults.list");
      return messageJson(resp).value("rules", json::array());
    }
    return InvalidArgument("unknown operation faults." + op);
  }

  Result<json> servicesOp(const std::string& op, const json& a) {
    if (op == "list") {
      SANDBANK_ASSIGN_OR_RETURN(auto list, listServices(a.value("service", "")));
      json out = json::array();
      for (const auto& i : list.instances()) out.push_back(messageJson(i));
      return out;
    }
    grpc::ClientContext ctx;
    prepare(ctx, 60s);
    control::ServiceRequest req;
    req.set_service(a.value("service", ""));
    req.set_signal(a.value("signal", ""));
    control::ServiceActionResponse resp;
    grpc::Status s;
    if (op == "kill") s = control_->KillService(&ctx, req, &resp);
    else if (op == "stop") s = control_->StopService(&ctx, req, &resp);
    else if (op == "start") s = control_->StartService(&ctx, req, &resp);
    else if (op == "restart") s = control_->RestartService(&ctx, req, &resp);
    else return InvalidArgument("unknown operation services." + op);
    if (!s.ok()) return fromGrpc(s, "services." + op + " " + req.service());
    return json{{"message", resp.message()}};
  }

  Result<json> clockOp(const json& a) {
    grpc::ClientContext ctx;
    prepare(ctx);
    control::ClockRequest req;
    req.set_advance(a.value("advance", ""));
    control::ClockState resp;
    auto s = control_->Clock(&ctx, req, &resp);
    if (!s.ok()) return fromGrpc(s, "clock");
    return json{{"now", resp.now()}, {"offset_seconds", resp.offset_seconds()}};
  }

  Result<std::optional<control::CheckResponse>> runCheck(const std::string& consistency, int64_t settle_ms) {
    grpc::ClientContext ctx;
    prepare(ctx, 120s);
    control::CheckRequest req;
    req.set_consistency(consistency);
    req.set_settle_ms(settle_ms);
    control::CheckResponse resp;
    auto s = control_->Check(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) return std::optional<control::CheckResponse>();
    if (!s.ok()) return fromGrpc(s, "Check");
    return std::optional<control::CheckResponse>(std::move(resp));
  }

  Result<json> checkOp(const json& a) {
    SANDBANK_ASSIGN_OR_RETURN(auto r, runCheck(a.value("consistency", ""), a.value("settle_ms", 5000)));
    if (!r) return FailedPrecondition("this run has no invariant checker");
    return messageJson(*r);
  }

  // ---- flow ------------------------------------------------------------------------------
  Result<json> flowEvents(const json& a) {
    std::optional<flow::FlowKind> kind;
    if (a.contains("kind")) {
      flow::FlowKind k;
      if (!flow::parseFlowKind(a.value("kind", ""), &k)) return InvalidArgument("unknown flow kind '" + a.value("kind", "") + "'");
      kind = k;
    }
    const uint64_t after = std::max<uint64_t>(a.value("after", uint64_t{0}), flow_mark_);
    SANDBANK_ASSIGN_OR_RETURN(auto events, bank_->recentFlow(kind, a.value("trace", ""), flow_mark_));
    auto glob = [&](const char* key, const std::string& v) {
      return !a.contains(key) || flow::globMatch(a.value(key, ""), v);
    };
    json out = json::array();
    for (const auto& ev : events) {
      const flow::FlowEvent* e = &ev;
      if (e->id <= after) continue;
      std::string method = e->method;
      if (!method.empty() && method[0] == '/') method.erase(0, 1);
      if (!glob("topic", e->topic) || !glob("source", e->source) || !glob("destination", e->destination) ||
          !glob("method", method) || !glob("table", e->table) || !glob("keyspace", e->keyspace) ||
          !glob("status", e->status) || !glob("group", e->consumer_group) || !glob("key", e->partition_key))
        continue;
      json j = {{"id", e->id}, {"kind", std::string(flow::flowKindName(e->kind))}, {"trace", e->trace_id},
                {"source", e->source}, {"destination", e->destination}, {"method", method}, {"topic", e->topic},
                {"partition", e->partition}, {"offset", e->offset}, {"group", e->consumer_group},
                {"keyspace", e->keyspace}, {"table", e->table}, {"key", e->partition_key}, {"status", e->status},
                {"detail", e->detail}, {"sim_ms", e->start_sim_us / 1000}, {"json", nullptr}};
      std::string type = e->payload_type;
      if (type.empty() && e->kind == flow::FlowKind::kRpc)
        if (auto it = by_full_.find(method); it != by_full_.end()) type = it->second.input;
      if (!type.empty() && !e->payload.empty())
        if (auto d = bytesToJson(type, e->payload); d.ok()) j["json"] = std::move(*d);
      out.push_back(std::move(j));
      if (out.size() >= 1000) break;
    }
    return out;
  }

  // ---- bus -------------------------------------------------------------------------------
  json deliveryJson(const bus::Delivery& d, const std::string& type_hint) {
    json h = json::object();
    for (const auto& x : d.record->headers) h[x.key] = x.value;
    json j = {{"topic", d.topic}, {"partition", d.partition}, {"offset", d.offset},
              {"key", d.record->key ? json(*d.record->key) : json(nullptr)}, {"headers", h},
              {"attempt", d.delivery_attempt}, {"json", nullptr}};
    std::string type = type_hint;
    if (type.empty())
      if (const std::string* t = d.record->header("type")) type = *t;
    std::string trace, span;
    if (const std::string* tp = d.record->header(bus::kTraceparentHeader)) bus::parseTraceparent(*tp, &trace, &span);
    j["trace"] = trace;
    j["type"] = type;
    if (!type.empty()) {
      if (auto r = bytesToJson(type, d.record->value); r.ok()) {
        j["json"] = std::move(*r);
        j["value"] = "";
        return j;
      }
    }
    j["value"] = d.record->value;
    return j;
  }


  Result<json> busOp(const std::string& op, const json& a) {
    const std::string topic = a.value("topic", "");
    const std::string group = a.value("group", "");
    if (op == "produce") {
      bus::Record r;
      if (a.contains("key") && a["key"].is_string()) r.key = a["key"].get<std::string>();
      const std::string type = a.value("type", "");
      if (!type.empty()) {
        SANDBANK_ASSIGN_OR_RETURN(r.value, jsonToBytes(type, a.contains("object") && !a["object"].is_null() ? a["object"] : json::object()));
        r.headers.push_back({"type", type});
      } else {
        r.value = a.value("value", "");
      }
      if (a.contains("headers") && a["headers"].is_object())
        for (auto& [k, v] : a["headers"].items()) r.headers.push_back({k, v.is_string() ? v.get<std::string>() : v.dump()});
      const std::string trace = hexId(rng_, 32);
      r.headers.push_back({bus::kTraceparentHeader, "00-" + trace + "-" + hexId(rng_, 16) + "-01"});
      r.partition = a.value("partition", -1);
      SANDBANK_ASSIGN_OR_RETURN(auto at, bank_->produce(topic, std::move(r)));
      return json{{"partition", at.partition}, {"offset", at.offset}, {"trace", trace}};
    }
    if (op == "browse") {
      SANDBANK_ASSIGN_OR_RETURN(auto desc, bank_->describeTopic(topic));
      const std::string from = a.value("from", "scenario");
      const int32_t max = a.value("max", 10000);
      json out = json::array();
      for (const auto& p : desc.partitions) {
        int64_t offset = p.log_start;
        const std::string pk = std::to_string(p.partition);
        if (a.contains("positions") && a["positions"].contains(pk)) {
          offset = a["positions"][pk].get<int64_t>();
        } else if (from == "scenario") {
          auto it = marks_.find(topic + "#" + pk);
          offset = it == marks_.end() ? p.log_start : it->second;
        }
        offset = std::clamp(offset, p.log_start, p.log_end);
        if (offset >= p.log_end) continue;
        SANDBANK_ASSIGN_OR_RETURN(auto records, bank_->fetch(topic, p.partition, offset, max));
        for (const auto& d : records) out.push_back(deliveryJson(d, a.value("type", "")));
      }
      return out;
    }
    if (op == "lag") {
      SANDBANK_ASSIGN_OR_RETURN(auto lag, bank_->lag(group));
      int64_t total = 0;
      json parts = json::array();
      for (const auto& l : lag) {
        total += l.lag;
        parts.push_back({{"topic", l.tp.topic}, {"partition", l.tp.partition}, {"committed", l.committed},
                         {"log_end", l.log_end}, {"lag", l.lag}});
      }
      return json{{"total", total}, {"partitions", parts}};
    }
    if (op == "stallGroup") {
      SANDBANK_RETURN_IF_ERROR(bank_->stallGroup(group, a.value("stalled", true)));
      return json::object();
    }
    if (op == "duplicateDeliveries") {
      SANDBANK_RETURN_IF_ERROR(bank_->duplicateDeliveries(group, a.value("count", 1)));
      return json::object();
    }
    if (op == "delayDelivery") {
      SANDBANK_RETURN_IF_ERROR(bank_->delayDelivery(group, std::chrono::milliseconds(a.value("delay_ms", int64_t{0}))));
      return json::object();
    }
    if (op == "forceRebalance") {
      SANDBANK_RETURN_IF_ERROR(bank_->forceRebalance(group));
      return json::object();
    }
    if (op == "loseAcks") {
      SANDBANK_RETURN_IF_ERROR(bank_->loseAcks(topic, a.value("count", 1)));
      return json::object();
    }
    if (op == "createTopic") {
      bus::TopicConfig c;
      c.partitions = a.value("partitions", 1);
      SANDBANK_RETURN_IF_ERROR(bank_->createTopic(topic, c));
      return json::object();
    }
    if (op == "topics") {
      SANDBANK_ASSIGN_OR_RETURN(auto topics, bank_->describeTopics());
      json out = json::array();
      for (const auto& t : topics) {
        int64_t records = 0;
        for (const auto& p : t.partitions) records += p.log_end - p.log_start;
        out.push_back({{"name", t.name}, {"partitions", t.partitions.size()}, {"records", records}});
      }
      return out;
    }
    if (op == "groups") {
      SANDBANK_ASSIGN_OR_RETURN(auto groups, bank_->listGroups());
      return json(groups);
    }
    return InvalidArgument("unknown operation bus." + op);
  }

  // ---- store -----------------------------------------------------------------------------
  static Result<int> node(const json& a) {
    if (!a.contains("node") || !a["node"].is_number_integer()) return InvalidArgument("give the node as a number, 1-based");
    return a["node"].get<int>();
  }

  Result<json> storeOp(const std::string& op, const json& a) {
    if (op == "cql")
      return bank_->cql(a.value("query", ""), a.contains("params") && a["params"].is_array() ? a["params"] : json::array(),
                        a.value("consistency", "LOCAL_QUORUM"), a.value("keyspace", ""), a.value("client", ""));
    if (op == "replicas") return bank_->replicas(a.value("keyspace", ""), a.value("table", ""), a.value("key", json::array()));
    if (op == "nodes") {
      SANDBANK_ASSIGN_OR_RETURN(auto nodes, bank_->nodes());
      json out = json::array();
      for (const auto& n : nodes)
        out.push_back({{"node", n.id}, {"name", n.name}, {"datacenter", n.datacenter}, {"up", n.up}, {"isolated", n.isolated}});
      return out;
    }
    if (op == "hints") return bank_->hints();
    if (op == "deliverHints") {
      SANDBANK_ASSIGN_OR_RETURN(auto n, bank_->deliverHints());
      return json{{"delivered", n}};
    }
    if (op == "repair") {
      SANDBANK_ASSIGN_OR_RETURN(auto n, bank_->repair(a.value("keyspace", "")));
      return json{{"repaired", n}};
    }
    if (op == "rebuild") {
      std::optional<int> only;
      if (a.contains("node")) only = a["node"].get<int>();
      SANDBANK_ASSIGN_OR_RETURN(auto n, bank_->rebuild(only));
      return json{{"streamed", n}};
    }
    if (op == "addNode") {
      SANDBANK_ASSIGN_OR_RETURN(auto id, bank_->addNode(a.value("datacenter", "dc1"), a.value("stream", false)));
      return json{{"node", id}};
    }
    if (op == "clientSkew") {
      const std::string client = a.value("client", "");
      SANDBANK_RETURN_IF_ERROR(bank_->setClientSkew(client, std::chrono::milliseconds(a.value("skew_ms", int64_t{0}))));
      skewed_clients_.insert(client);
      return json::object();
    }
    SANDBANK_ASSIGN_OR_RETURN(int n, node(a));
    if (op == "nodeDown") SANDBANK_RETURN_IF_ERROR(bank_->nodeDown(n));
    else if (op == "nodeUp") SANDBANK_RETURN_IF_ERROR(bank_->nodeUp(n));
    else if (op == "slow") SANDBANK_RETURN_IF_ERROR(bank_->setSlow(n, std::chrono::milliseconds(a.value("delay_ms", int64_t{0}))));
    else if (op == "isolate") SANDBANK_RETURN_IF_ERROR(bank_->setIsolated(n, a.value("isolated", true)));
    else return InvalidArgument("unknown operation store." + op);
    return json::object();
  }

  std::unique_ptr<BankAccess> bank_;
  LinkOptions options_;
  pb::DescriptorPool pool_;
  pb::DynamicMessageFactory factory_{&pool_};
  std::map<std::string, std::vector<MethodInfo>> methods_;  // by method name
  std::map<std::string, MethodInfo> by_full_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;  // by service (authority)
  grpc::CompletionQueue cq_;  // rpc() completions; one call at a time, so one tag in flight
  std::unique_ptr<control::Control::Stub> control_;
  std::string token_;
  std::mt19937_64 rng_;
  uint64_t flow_mark_ = 0;
  std::map<std::string, int64_t> marks_;  // "topic#partition" -> log end when the scenario began
  std::set<std::string> skewed_clients_;
  std::map<std::string, std::unique_ptr<load::LoadGenerator>> loads_;  // background load by id
  int load_seq_ = 0;
};

}  // namespace

Result<std::unique_ptr<BankLink>> makeOperationLink(std::unique_ptr<BankAccess> access, LinkOptions options) {
  auto link = std::make_unique<OperationLink>(std::move(access), std::move(options));
  SANDBANK_RETURN_IF_ERROR(link->init());
  return std::unique_ptr<BankLink>(std::move(link));
}

}  // namespace sandbank::scenario
