// RemoteAccess: BankAccess over the control port of a bank started elsewhere (`sandbank
// up`): Control for the flow, faults and services; Bus and Store, served on the same port
// behind the same token, for the engines. makeRemoteLink puts the operation table on it.
// Thread-safety: used from the script thread only (BankLink's contract).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <thread>

#include "bank_access.h"
#include "operation_link.h"
#include "sandbank/bus.grpc.pb.h"
#include "sandbank/control.grpc.pb.h"
#include "sandbank/control/flow_proto.h"
#include "sandbank/control/run_state.h"
#include "sandbank/scenario/bank_link.h"
#include "sandbank/store.grpc.pb.h"
#include "store_json.h"

namespace sandbank::scenario {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// The engine's own error text: the bus and the store lead with the Kafka or Cassandra
// name ("Unavailable: ..."), which the script sees as e.code, so nothing goes in front.
Status engineError(const grpc::Status& s) {
  return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

Status controlError(const grpc::Status& s, const std::string& what) {
  return Status(static_cast<StatusCode>(s.error_code()), what + ": " + s.error_message());
}

bool isDownState(const std::string& state) { return state == "stopped" || state == "exited" || state == "failed"; }
bool isReadyState(const std::string& state) { return state == "healthy" || state == "running"; }

store::TypedValue toTyped(const store::Value& v) {
  store::TypedValue t;
  switch (v.kind) {
    case store::Value::Kind::kNull: break;
    case store::Value::Kind::kInt: t.set_int_(v.i); break;
    case store::Value::Kind::kBool: t.set_boolean(v.i != 0); break;
    case store::Value::Kind::kBytes: t.set_blob(v.s); break;
    case store::Value::Kind::kDecimal: t.set_decimal(v.s); break;
    default: t.set_text(v.s); break;
  }
  return t;
}

store::Value fromTyped(const store::TypedValue& t) {
  switch (t.value_case()) {
    case store::TypedValue::kText: return store::Value::text(t.text());
    case store::TypedValue::kInt: return store::Value::integer(t.int_());
    case store::TypedValue::kBoolean: return store::Value::boolean(t.boolean());
    case store::TypedValue::kBlob: return store::Value::bytes(t.blob());
    case store::TypedValue::kUuid: return store::Value::text(t.uuid());
    case store::TypedValue::kDecimal: return store::Value::decimal(t.decimal());
    case store::TypedValue::kTimestampMs: return store::Value::integer(t.timestamp_ms());
    default: return store::Value::null();
  }
}

// A returned value as the in-process link shows it, by its column's CQL type name.
json typedJson(const std::string& type_name, const store::TypedValue& t) {
  store::ColumnType type = store::ColumnType::kText;
  if (!store::parseColumnType(type_name, &type)) {
    if (t.value_case() == store::TypedValue::kInt || t.value_case() == store::TypedValue::kTimestampMs) type = store::ColumnType::kBigint;
    else if (t.value_case() == store::TypedValue::kBoolean) type = store::ColumnType::kBoolean;
    else if (t.value_case() == store::TypedValue::kBlob) type = store::ColumnType::kBlob;
  }
  return storeValueToJson(type, fromTyped(t));
}

class RemoteAccess final : public BankAccess {
 public:
  explicit RemoteAccess(control::RunState state) : state_(std::move(state)) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 256 << 20);
    auto channel = grpc::CreateCustomChannel(state_.address, grpc::InsecureChannelCredentials(), args);
    control_ = control::Control::NewStub(channel);
    bus_ = bus::Bus::NewStub(channel);
    store_ = store::Store::NewStub(channel);
  }

  // The mesh's address, from the run-state file the simulator wrote.
  Result<std::string> meshAddress() override {
    if (state_.mesh.empty()) {
      return FailedPrecondition("rpc: the run-state file names no mesh address; it was written by an older sandbank "
                                "(restart the bank with `sandbank up`)");
    }
    return state_.mesh;
  }

  Result<uint64_t> flowMark() override {
    grpc::ClientContext ctx;
    prepare(ctx);
    control::FlowQueryRequest req;
    req.mutable_filter()->set_limit(1);
    control::FlowEvents resp;
    if (auto s = control_->QueryFlow(&ctx, req, &resp); !s.ok()) return controlError(s, "QueryFlow");
    uint64_t mark = 0;
    for (const auto& e : resp.events())
      if (e.id() >= mark) mark = e.id(), mark_sim_us_ = e.start_sim_us();
    mark_ = mark;
    return mark;
  }

  Result<std::vector<flow::FlowEvent>> recentFlow(std::optional<flow::FlowKind> kind, const std::string& trace,
                                                  uint64_t after) override {
    grpc::ClientContext ctx;
    prepare(ctx, 30s);
    control::FlowQueryRequest req;
    if (kind) req.mutable_filter()->add_kinds(std::string(flow::flowKindName(*kind)));
    req.mutable_filter()->set_trace_id(trace);
    // Events after the last mark began at most a while before it (an event is emitted
    // when it ends): the server leaves out the rest of what it keeps.
    if (after != 0 && after == mark_) req.mutable_filter()->set_from_sim_us(std::max<int64_t>(0, mark_sim_us_ - kMarkSlackUs));
    control::FlowEvents resp;
    if (auto s = control_->QueryFlow(&ctx, req, &resp); !s.ok()) return controlError(s, "QueryFlow");
    std::vector<flow::FlowEvent> out;
    out.reserve(resp.events_size());
    for (const auto& e : resp.events())
      if (e.id() > after) out.push_back(control::flowEventFromProto(e));
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  }

  // ---- bus
  Result<bus::RecordPosition> produce(const std::string& topic, bus::Record record) override {
    bus::ProduceRequest req;
    req.set_topic(topic);
    req.set_client_id("scenario");
    auto* r = req.add_records();
    if (record.key) r->set_key(*record.key);
    r->set_value(record.value);
    for (const auto& h : record.headers) {
      auto* ph = r->add_headers();
      ph->set_key(h.key);
      ph->set_value(h.value);
    }
    if (record.partition >= 0) r->set_partition(record.partition);
    bus::ProduceResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&bus::Bus::Stub::Produce, bus_, req, &resp));
    if (resp.partitions_size() < 1 || resp.offsets_size() < 1) return Internal("bus.produce: the bus acknowledged no record");
    return bus::RecordPosition{resp.partitions(0), resp.offsets(0)};
  }

  Result<std::vector<bus::TopicDescription>> describeTopics() override { return topics({}); }

  Result<bus::TopicDescription> describeTopic(const std::string& topic) override {
    SANDBANK_ASSIGN_OR_RETURN(auto list, topics({topic}));
    for (auto& t : list)
      if (t.name == topic) return std::move(t);
    return NotFound("UnknownTopicOrPartition: topic '" + topic + "' does not exist");
  }

  Result<std::vector<bus::Delivery>> fetch(const std::string& topic, int32_t partition, int64_t offset, int32_t max) override {
    std::vector<bus::Delivery> out;
    while (static_cast<int32_t>(out.size()) < max) {
      bus::BrowseRequest req;
      req.set_topic(topic);
      req.set_partition(partition);
      req.set_offset(offset);
      req.set_max_records(std::min<int32_t>(max - static_cast<int32_t>(out.size()), 1000));
      bus::BrowseResponse resp;
      SANDBANK_RETURN_IF_ERROR(call(&bus::Bus::Stub::Browse, bus_, req, &resp));
      if (resp.records_size() == 0) break;
      for (const auto& c : resp.records()) {
        bus::Delivery d;
        d.topic = c.topic();
        d.partition = c.partition();
        d.offset = c.offset();
        d.append_us = c.append_us();
        d.delivery_attempt = c.delivery_attempt();
        auto rec = std::make_shared<bus::Record>();
        if (c.has_key()) rec->key = c.key();
        rec->value = c.value();
        for (const auto& h : c.headers()) rec->headers.push_back({h.key(), h.value()});
        rec->timestamp_us = c.timestamp_us();
        d.record = std::move(rec);
        offset = c.offset() + 1;
        out.push_back(std::move(d));
      }
      if (offset >= resp.log_end()) break;
    }
    return out;
  }

  Result<std::vector<bus::PartitionLag>> lag(const std::string& group) override {
    bus::DescribeGroupRequest req;
    req.set_group(group);
    bus::LagResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&bus::Bus::Stub::Lag, bus_, req, &resp));
    std::vector<bus::PartitionLag> out;
    for (const auto& p : resp.partitions()) {
      bus::PartitionLag l;
      l.tp = {p.topic(), p.partition()};
      l.log_start = p.log_start();
      l.log_end = p.log_end();
      l.committed = p.committed();
      l.lag = p.lag();
      out.push_back(l);
    }
    return out;
  }

  Result<std::vector<std::string>> listGroups() override {
    bus::ListGroupsResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&bus::Bus::Stub::ListGroups, bus_, bus::Empty(), &resp));
    return std::vector<std::string>(resp.groups().begin(), resp.groups().end());
  }

  Status stallGroup(const std::string& group, bool stalled) override {
    bus::FaultRequest f;
    f.mutable_stall_group()->set_group(group);
    f.mutable_stall_group()->set_stalled(stalled);
    return busFault(f);
  }
  Status duplicateDeliveries(const std::string& group, int count) override {
    bus::FaultRequest f;
    f.mutable_duplicate_deliveries()->set_group(group);
    f.mutable_duplicate_deliveries()->set_count(count);
    return busFault(f);
  }
  Status delayDelivery(const std::string& group, std::chrono::milliseconds delay) override {
    bus::FaultRequest f;
    f.mutable_delay_delivery()->set_group(group);
    f.mutable_delay_delivery()->set_delay_ms(delay.count());
    return busFault(f);
  }
  Status forceRebalance(const std::string& group) override {
    bus::FaultRequest f;
    f.mutable_force_rebalance()->set_group(group);
    return busFault(f);
  }
  Status loseAcks(const std::string& topic, int count) override {
    bus::FaultRequest f;
    f.mutable_lose_produce_acks()->set_topic(topic);
    f.mutable_lose_produce_acks()->set_count(count);
    return busFault(f);
  }
  Status createTopic(const std::string& topic, const bus::TopicConfig& config) override {
    bus::CreateTopicRequest req;
    req.set_name(topic);
    req.set_partitions(config.partitions);
    req.set_retention_ms(std::chrono::duration_cast<std::chrono::milliseconds>(config.retention_time).count());
    req.set_retention_bytes(config.retention_bytes);
    req.set_compacted(config.compacted);
    bus::Empty resp;
    return call(&bus::Bus::Stub::CreateTopic, bus_, req, &resp);
  }
  Status deleteTopic(const std::string& topic) override {
    bus::DeleteTopicRequest req;
    req.set_name(topic);
    bus::Empty resp;
    return call(&bus::Bus::Stub::DeleteTopic, bus_, req, &resp);
  }
  Status clearFaults() override {
    grpc::ClientContext ctx;
    prepare(ctx);
    control::ServiceActionResponse resp;
    if (auto s = control_->RemoveFault(&ctx, control::FaultId(), &resp); !s.ok()) return controlError(s, "RemoveFault");
    bus::FaultRequest f;
    f.mutable_clear();
    return busFault(f);
  }

  // ---- store
  Result<json> cql(const std::string& query, const json& params, const std::string& consistency, const std::string& keyspace,
                   const std::string& client) override {
    store::ExecuteRequest req;
    store::Consistency cl;
    if (!store::Consistency_Parse("CL_" + consistency, &cl) || consistency.empty())
      return InvalidArgument("unknown consistency level '" + consistency + "'");
    req.set_cql(query);
    req.set_consistency(cl);
    req.set_keyspace(keyspace);
    req.set_client_id(client);
    for (const auto& p : params) *req.add_values() = toTyped(jsonToStoreValue(p));
    store::ExecuteResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&store::Store::Stub::Execute, store_, req, &resp, 30s));
    json rows = json::array();
    for (const auto& row : resp.rows()) {
      json r = json::object();
      for (int c = 0; c < resp.columns_size() && c < row.values_size(); ++c)
        r[resp.columns(c).name()] = typedJson(resp.columns(c).type(), row.values(c));
      rows.push_back(std::move(r));
    }
    return json{{"rows", rows}, {"applied", resp.has_applied() ? json(resp.applied()) : json(nullptr)}};
  }

  Result<json> replicas(const std::string& keyspace, const std::string& table, const json& k) override {
    // Column types from system_schema, so key values are bound and rows read as in process.
    SANDBANK_ASSIGN_OR_RETURN(
        json cols, cql("SELECT column_name, kind, position, type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
                       json::array({keyspace, table}), "ONE", "", ""));
    std::vector<std::pair<int64_t, std::string>> pk, ck;  // position -> column
    std::map<std::string, std::string> types;
    for (const auto& c : cols["rows"]) {
      const std::string name = c.value("column_name", "");
      types[name] = c.value("type", "");
      const int64_t pos = c.contains("position") && c["position"].is_number() ? c["position"].get<int64_t>() : 0;
      if (c.value("kind", "") == "partition_key") pk.emplace_back(pos, name);
      if (c.value("kind", "") == "clustering") ck.emplace_back(pos, name);
    }
    if (types.empty()) return InvalidArgument("no table " + keyspace + "." + table);
    std::sort(pk.begin(), pk.end());
    std::sort(ck.begin(), ck.end());
    if (k.size() != pk.size())
      return InvalidArgument("the partition key of " + keyspace + "." + table + " has " + std::to_string(pk.size()) + " columns");
    store::PartitionRequest req;
    req.set_keyspace(keyspace);
    req.set_table(table);
    for (size_t i = 0; i < k.size(); ++i) {
      store::ColumnType type = store::ColumnType::kText;
      (void)store::parseColumnType(types[pk[i].second], &type);
      SANDBANK_ASSIGN_OR_RETURN(auto v, store::coerceValue(jsonToStoreValue(k[i]), type, pk[i].second));
      *req.add_key() = toTyped(v);
    }
    store::PartitionResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&store::Store::Stub::GetPartition, store_, req, &resp));
    json out = json::array();
    for (const auto& rp : resp.replicas()) {
      json rows = json::array();
      for (const auto& row : rp.rows()) {
        json r = json::object();
        for (int i = 0; i < row.clustering_size() && i < static_cast<int>(ck.size()); ++i)
          r[ck[i].second] = typedJson(types[ck[i].second], row.clustering(i));
        for (const auto& cell : row.cells())
          r[cell.column()] = cell.tombstone() ? json(nullptr) : typedJson(types[cell.column()], cell.value());
        rows.push_back(std::move(r));
      }
      out.push_back({{"node", rp.node()}, {"up", rp.up()}, {"rows", rows}, {"deleted", rp.partition_deletion_time_us() != 0}});
    }
    return out;
  }

  Result<std::vector<StoreNodeView>> nodes() override {
    store::NodeStatsResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&store::Store::Stub::GetNodeStats, store_, store::Empty(), &resp));
    std::vector<StoreNodeView> out;
    for (const auto& n : resp.nodes()) out.push_back({n.node(), n.name(), n.datacenter(), n.up(), n.isolated(), n.added_latency_ms()});
    return out;
  }
  Result<json> hints() override {
    store::HintsResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&store::Store::Stub::ListHints, store_, store::Empty(), &resp));
    json out = json::array();
    for (const auto& h : resp.hints()) out.push_back({{"holder", h.holder()}, {"target", h.target()}, {"table", h.table()}});
    return out;
  }
  Result<int64_t> deliverHints() override {
    store::CountResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&store::Store::Stub::DeliverHints, store_, store::Empty(), &resp));
    return resp.count();
  }
  Result<int64_t> repair(const std::string& keyspace) override {
    store::RepairRequest req;
    req.set_keyspace(keyspace);
    store::RepairResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&store::Store::Stub::Repair, store_, req, &resp, 120s));
    return resp.partitions_repaired();
  }
  Result<int64_t> rebuild(std::optional<int> only) override {
    // Every node, or the one given, as in process.
    SANDBANK_ASSIGN_OR_RETURN(std::vector<StoreNodeView> all, nodes());
    int64_t streamed = 0;
    for (const StoreNodeView& n : all) {
      if (only && *only != n.id) continue;
      store::NodeRequest req;
      req.set_node(n.id);
      store::CountResponse resp;
      SANDBANK_RETURN_IF_ERROR(call(&store::Store::Stub::Rebuild, store_, req, &resp, 120s));
      streamed += resp.count();
    }
    return streamed;
  }
  Result<int> addNode(const std::string& datacenter, bool stream) override {
    store::AddNodeRequest req;
    req.set_datacenter(datacenter);
    req.set_stream(stream);
    store::AddNodeResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&store::Store::Stub::AddNode, store_, req, &resp, 120s));
    return resp.node();
  }
  Status setClientSkew(const std::string& client, std::chrono::milliseconds skew) override {
    store::ClientSkewRequest req;
    req.set_client_id(client);
    req.set_skew_ms(skew.count());
    store::Empty resp;
    return call(&store::Store::Stub::SetClientSkew, store_, req, &resp);
  }
  Status nodeDown(int node) override {
    store::NodeRequest req;
    req.set_node(node);
    store::Empty resp;
    return call(&store::Store::Stub::NodeDown, store_, req, &resp);
  }
  Status nodeUp(int node) override {
    store::NodeRequest req;
    req.set_node(node);
    store::Empty resp;
    return call(&store::Store::Stub::NodeUp, store_, req, &resp, 60s);
  }
  Status setSlow(int node, std::chrono::milliseconds delay) override {
    store::SlowRequest req;
    req.set_node(node);
    req.set_added_latency_ms(delay.count());
    store::Empty resp;
    return call(&store::Store::Stub::SetSlow, store_, req, &resp);
  }
  Status setIsolated(int node, bool isolated) override {
    store::IsolateRequest req;
    req.set_node(node);
    req.set_isolated(isolated);
    store::Empty resp;
    return call(&store::Store::Stub::SetIsolated, store_, req, &resp);
  }
  Status truncate(const std::string& keyspace, const std::string& table) override {
    return cql("TRUNCATE " + keyspace + "." + table, json::array(), "ALL", "", "").status();
  }
  // Every table outside the system keyspaces: a bank started elsewhere may have written
  // to any of them before this link saw its flow.
  Result<std::set<std::string>> tablesToTruncate() override {
    SANDBANK_ASSIGN_OR_RETURN(json r, cql("SELECT keyspace_name, table_name FROM system_schema.tables", json::array(), "ONE", "", ""));
    std::set<std::string> out;
    for (const auto& row : r["rows"]) {
      const std::string ks = row.value("keyspace_name", "");
      if (ks.empty() || ks.rfind("system", 0) == 0) continue;
      out.insert(ks + "." + row.value("table_name", ""));
    }
    return out;
  }

  // ---- supervisor
  Result<std::vector<std::string>> serviceNames() override {
    SANDBANK_ASSIGN_OR_RETURN(auto list, listServices(""));
    std::vector<std::string> out;
    for (const auto& i : list.instances())
      if (std::find(out.begin(), out.end(), i.service()) == out.end()) out.push_back(i.service());
    return out;
  }
  Result<std::vector<std::string>> stoppedServices() override {
    SANDBANK_ASSIGN_OR_RETURN(auto list, listServices(""));
    std::vector<std::string> out;
    for (const auto& i : list.instances())
      if (isDownState(i.state()) && std::find(out.begin(), out.end(), i.service()) == out.end()) out.push_back(i.service());
    return out;
  }
  Status stopService(const std::string& service) override { return serviceAction(&control::Control::Stub::StopService, "stop", service); }
  Status startService(const std::string& service) override { return serviceAction(&control::Control::Stub::StartService, "start", service); }
  bool waitAllStopped(std::chrono::milliseconds timeout) override {
    return pollServices(timeout, [](const control::ListServicesResponse& l) {
      return std::all_of(l.instances().begin(), l.instances().end(), [](const auto& i) { return isDownState(i.state()); });
    });
  }
  Status waitUntilReady(std::chrono::milliseconds timeout) override {
    // As Supervisor::waitUntilReady: an instance that failed or exited ends the wait.
    std::string failed;
    const bool done = pollServices(timeout, [&](const control::ListServicesResponse& l) {
      for (const auto& i : l.instances())
        if (i.state() == "failed" || i.state() == "exited") {
          failed = i.instance() + " " + i.state() + ": " + i.reason();
          return true;
        }
      return std::all_of(l.instances().begin(), l.instances().end(), [](const auto& i) { return isReadyState(i.state()); });
    });
    if (!failed.empty()) return Unavailable(failed);
    if (done) return OkStatus();
    std::string slow;
    if (auto list = listServices(""); list.ok())
      for (const auto& i : list->instances())
        if (!isReadyState(i.state()))
          slow += (slow.empty() ? "" : "; ") + i.instance() + " " + i.state() + (i.reason().empty() ? "" : " (" + i.reason() + ")");
    return DeadlineExceeded("not ready in time: " + slow);
  }

 private:
  void prepare(grpc::ClientContext& ctx, std::chrono::milliseconds timeout = 10s) const {
    ctx.AddMetadata("authorization", "Bearer " + state_.token);
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  }

  template <class Stub, class Req, class Resp>
  Status call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const std::unique_ptr<Stub>& stub,
              const Req& req, Resp* resp, std::chrono::milliseconds timeout = 10s) {
    grpc::ClientContext ctx;
    prepare(ctx, timeout);
    auto s = ((*stub).*method)(&ctx, req, resp);
    return s.ok() ? OkStatus() : engineError(s);
  }

  Status busFault(const bus::FaultRequest& f) {
    bus::Empty resp;
    return call(&bus::Bus::Stub::InjectFault, bus_, f, &resp);
  }

  Result<std::vector<bus::TopicDescription>> topics(const std::vector<std::string>& names) {
    bus::DescribeTopicsRequest req;
    for (const auto& n : names) req.add_names(n);
    bus::DescribeTopicsResponse resp;
    SANDBANK_RETURN_IF_ERROR(call(&bus::Bus::Stub::DescribeTopics, bus_, req, &resp));
    std::vector<bus::TopicDescription> out;
    for (const auto& t : resp.topics()) {
      bus::TopicDescription d;
      d.name = t.name();
      d.config.partitions = t.partitions();
      d.config.retention_time = std::chrono::milliseconds(t.retention_ms());
      d.config.retention_bytes = t.retention_bytes();
      d.config.compacted = t.compacted();
      for (const auto& p : t.partition_info()) {
        bus::PartitionInfo pi;
        pi.partition = p.partition();
        pi.log_start = p.log_start();
        pi.log_end = p.log_end();
        pi.bytes = p.bytes();
        pi.leader_available = p.leader_available();
        d.partitions.push_back(pi);
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  Result<control::ListServicesResponse> listServices(const std::string& service) {
    grpc::ClientContext ctx;
    prepare(ctx);
    control::ListServicesRequest req;
    req.set_service(service);
    control::ListServicesResponse resp;
    if (auto s = control_->ListServices(&ctx, req, &resp); !s.ok()) return controlError(s, "ListServices");
    return resp;
  }

  Status serviceAction(grpc::Status (control::Control::Stub::*method)(grpc::ClientContext*, const control::ServiceRequest&,
                                                                      control::ServiceActionResponse*),
                       const std::string& what, const std::string& service) {
    grpc::ClientContext ctx;
    prepare(ctx, 60s);
    control::ServiceRequest req;
    req.set_service(service);
    control::ServiceActionResponse resp;
    auto s = ((*control_).*method)(&ctx, req, &resp);
    return s.ok() ? OkStatus() : controlError(s, what + " " + service);
  }

  // Polls the control API's service list (another process's state: there is nothing to
  // wait on but the answers) until `done` holds or `timeout` passes.
  template <class Pred>
  bool pollServices(std::chrono::milliseconds timeout, Pred done) {
    const auto limit = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto list = listServices(""); list.ok() && done(*list)) return true;
      if (std::chrono::steady_clock::now() >= limit) return false;
      std::this_thread::sleep_for(50ms);
    }
  }

  control::RunState state_;
  std::unique_ptr<control::Control::Stub> control_;
  std::unique_ptr<bus::Bus::Stub> bus_;
  std::unique_ptr<store::Store::Stub> store_;
  uint64_t mark_ = 0;         // the last flowMark()
  int64_t mark_sim_us_ = 0;   // when the event of that mark started, simulated time
  static constexpr int64_t kMarkSlackUs = 120'000'000;
};

}  // namespace

Result<std::unique_ptr<BankLink>> makeRemoteLink(LinkOptions options) {
  auto state = control::readRunState(options.state_file);
  if (!state.ok()) return state.status().withContext("the bank's run-state file");
  auto access = std::make_unique<RemoteAccess>(*state);
  // One call up front, so a bank that does not answer (or a wrong token) is reported
  // before any scenario starts.
  SANDBANK_RETURN_IF_ERROR(access->serviceNames().status());
  return makeOperationLink(std::move(access), std::move(options));
}

}  // namespace sandbank::scenario
