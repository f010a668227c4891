// SimulatorAccess: BankAccess over a control::Simulator in this process - the flow hub,
// the bus and the store engines and the supervisor, called directly - and
// makeSimulatorLink, the operation table over it.
// Thread-safety: used from the script thread only (BankLink's contract); the engines it
// calls are thread-safe.
#include <algorithm>

#include "bank_access.h"
#include "operation_link.h"
#include "sandbank/bus/broker.h"
#include "sandbank/control/simulator.h"
#include "sandbank/faults/fault_engine.h"
#include "sandbank/flow/flow_hub.h"
#include "sandbank/scenario/bank_link.h"
#include "sandbank/store/cluster.h"
#include "sandbank/store/session.h"
#include "store_json.h"

namespace sandbank::scenario {
namespace {

using json = nlohmann::json;

bool isDown(supervisor::InstanceState s) {
  return s == supervisor::InstanceState::kStopped || s == supervisor::InstanceState::kExited ||
         s == supervisor::InstanceState::kFailed;
}

class SimulatorAccess final : public BankAccess {
 public:
  explicit SimulatorAccess(control::Simulator& sim) : sim_(sim), session_(sim.store()) {
    flow::FlowFilter f;
    f.addKind(flow::FlowKind::kStoreRequest);
    tables_sub_ = sim_.flow().subscribe("scenario-tables", f, 100000);
  }

  Result<std::string> meshAddress() override { return sim_.meshAddress(); }

  Result<uint64_t> flowMark() override { return sim_.flow().stats().emitted; }

  Result<std::vector<flow::FlowEvent>> recentFlow(std::optional<flow::FlowKind> kind, const std::string& trace,
                                                  uint64_t after) override {
    flow::FlowFilter f;
    if (kind) f.addKind(*kind);
    f.trace_id = trace;
    std::vector<flow::FlowEvent> out;
    for (const auto& e : sim_.flow().recent(f))
      if (e->id > after) out.push_back(*e);
    return out;
  }

  // ---- bus
  Result<bus::RecordPosition> produce(const std::string& topic, bus::Record record) override {
    bus::ProduceOptions po;
    po.client_id = "scenario";
    std::vector<bus::Record> records;
    records.push_back(std::move(record));
    SANDBANK_ASSIGN_OR_RETURN(auto ack, sim_.bus().produce(topic, std::move(records), po));
    return ack.positions.at(0);
  }
  Result<std::vector<bus::TopicDescription>> describeTopics() override { return sim_.bus().describeTopics(); }
  Result<bus::TopicDescription> describeTopic(const std::string& topic) override { return sim_.bus().describeTopic(topic); }
  Result<std::vector<bus::Delivery>> fetch(const std::string& topic, int32_t partition, int64_t offset, int32_t max) override {
    return sim_.bus().fetch({topic, partition}, offset, max);
  }
  Result<std::vector<bus::PartitionLag>> lag(const std::string& group) override { return sim_.bus().lag(group); }
  Result<std::vector<std::string>> listGroups() override { return sim_.bus().listGroups(); }
  Status stallGroup(const std::string& group, bool stalled) override { return sim_.bus().stallGroup(group, stalled); }
  Status duplicateDeliveries(const std::string& group, int count) override { return sim_.bus().duplicateDeliveries(group, count); }
  Status delayDelivery(const std::string& group, std::chrono::milliseconds delay) override {
    return sim_.bus().delayDelivery(group, delay);
  }
  Status forceRebalance(const std::string& group) override { return sim_.bus().forceRebalance(group); }
  Status loseAcks(const std::string& topic, int count) override { return sim_.bus().loseProduceAcks(topic, count); }
  Status createTopic(const std::string& topic, const bus::TopicConfig& config) override { return sim_.bus().createTopic(topic, config); }
  Status deleteTopic(const std::string& topic) override { return sim_.bus().deleteTopic(topic); }
  Status clearFaults() override {
    sim_.faults().clear();
    sim_.bus().clearFaults();
    return OkStatus();
  }

  // ---- store
  Result<json> cql(const std::string& query, const json& params, const std::string& consistency, const std::string& keyspace,
                   const std::string& client) override {
    store::QueryOptions qo;
    if (!store::parseConsistency(consistency, &qo.ctx.consistency)) return InvalidArgument("unknown consistency level '" + consistency + "'");
    qo.keyspace = keyspace;
    qo.ctx.client_id = client;
    std::vector<store::Value> binds;
    for (const auto& p : params) binds.push_back(jsonToStoreValue(p));
    SANDBANK_ASSIGN_OR_RETURN(auto rs, session_.execute(query, binds, qo));
    json rows = json::array();
    for (const auto& row : rs.rows) {
      json r = json::object();
      for (size_t c = 0; c < rs.columns.size() && c < row.size(); ++c) r[rs.columns[c].name] = storeValueToJson(rs.columns[c].type, row[c]);
      rows.push_back(std::move(r));
    }
    return json{{"rows", rows}, {"applied", rs.applied ? json(*rs.applied) : json(nullptr)}};
  }

  Result<json> replicas(const std::string& keyspace, const std::string& table, const json& k) override {
    auto& cluster = sim_.store();
    auto schema = cluster.table(keyspace, table);
    if (!schema) return InvalidArgument("no table " + keyspace + "." + table);
    std::vector<store::Value> key;
    if (k.size() != schema->partition_key.size())
      return InvalidArgument("the partition key of " + schema->qualifiedName() + " has " + std::to_string(schema->partition_key.size()) + " columns");
    for (size_t i = 0; i < k.size(); ++i) {
      const auto& col = schema->columns[schema->partition_key[i]];
      SANDBANK_ASSIGN_OR_RETURN(auto v, store::coerceValue(jsonToStoreValue(k[i]), col.type, col.name));
      key.push_back(std::move(v));
    }
    SANDBANK_ASSIGN_OR_RETURN(auto views, cluster.inspectPartition(schema->keyspace, schema->name, key));
    json out = json::array();
    for (const auto& v : views) {
      json rows = json::array();
      for (const auto& row : v.data.rows) {
        json r = json::object();
        for (size_t i = 0; i < schema->clustering.size() && i < row.clustering.size(); ++i) {
          const auto& col = schema->columns[schema->clustering[i]];
          r[col.name] = storeValueToJson(col.type, row.clustering[i]);
        }
        for (size_t i = 0; i < schema->regular.size() && i < row.cells.size(); ++i) {
          const auto& col = schema->columns[schema->regular[i]];
          const auto& cell = row.cells[i];
          if (cell.present()) r[col.name] = cell.tombstone ? json(nullptr) : storeValueToJson(col.type, cell.value);
        }
        rows.push_back(std::move(r));
      }
      out.push_back({{"node", v.node.value()}, {"up", v.up}, {"rows", rows}, {"deleted", v.data.deletion.present()}});
    }
    return out;
  }

  Result<std::vector<StoreNodeView>> nodes() override {
    std::vector<StoreNodeView> out;
    for (const auto& n : sim_.store().nodes())
      out.push_back({n.id.value(), n.name, n.datacenter, n.state == store::NodeState::kUp, n.isolated,
                     std::chrono::duration_cast<std::chrono::milliseconds>(n.added_latency).count()});
    return out;
  }
  Result<json> hints() override {
    json out = json::array();
    for (const auto& h : sim_.store().pendingHints())
      out.push_back({{"holder", h.holder.value()}, {"target", h.target.value()}, {"table", h.table}});
    return out;
  }
  Result<int64_t> deliverHints() override { return static_cast<int64_t>(sim_.store().deliverHints()); }
  Result<int64_t> repair(const std::string& keyspace) override { return sim_.store().repair(keyspace); }
  Result<int64_t> rebuild(std::optional<int> only) override {
    // Every node, or the one given: stream what it owns from the others.
    int64_t streamed = 0;
    for (const auto& n : sim_.store().nodes()) {
      if (only && *only != n.id.value()) continue;
      SANDBANK_ASSIGN_OR_RETURN(auto k, sim_.store().rebuild(n.id));
      streamed += k;
    }
    return streamed;
  }
  Result<int> addNode(const std::string& datacenter, bool stream) override {
    SANDBANK_ASSIGN_OR_RETURN(auto id, sim_.store().addNode(datacenter, stream));
    return id.value();
  }
  Status setClientSkew(const std::string& client, std::chrono::milliseconds skew) override {
    sim_.store().setClientSkew(client, skew);
    return OkStatus();
  }
  Status nodeDown(int node) override { return sim_.store().nodeDown(store::NodeId(node)); }
  Status nodeUp(int node) override { return sim_.store().nodeUp(store::NodeId(node)); }
  Status setSlow(int node, std::chrono::milliseconds delay) override { return sim_.store().setSlow(store::NodeId(node), delay); }
  Status setIsolated(int node, bool isolated) override { return sim_.store().setIsolated(store::NodeId(node), isolated); }
  Status truncate(const std::string& keyspace, const std::string& table) override { return sim_.store().truncate(keyspace, table); }
  // The tables seen in the flow since this link began.
  Result<std::set<std::string>> tablesToTruncate() override {
    for (auto batch = tables_sub_->poll(); !batch.events.empty(); batch = tables_sub_->poll())
      for (const auto& e : batch.events)
        if (!e->keyspace.empty() && !e->table.empty()) tables_.insert(e->keyspace + "." + e->table);
    return tables_;
  }

  // ---- supervisor
  Result<std::vector<std::string>> serviceNames() override {
    std::vector<std::string> out;
    for (const auto& s : sim_.manifest().services) out.push_back(s.name);
    return out;
  }
  Result<std::vector<std::string>> stoppedServices() override {
    std::vector<std::string> out;
    for (const auto& i : sim_.supervisor().snapshot())
      if (isDown(i.state) && std::find(out.begin(), out.end(), i.service) == out.end()) out.push_back(i.service);
    return out;
  }
  Status stopService(const std::string& service) override { return sim_.supervisor().stopService(service); }
  Status startService(const std::string& service) override { return sim_.supervisor().startService(service); }
  bool waitAllStopped(std::chrono::milliseconds timeout) override {
    return sim_.supervisor().waitFor(
        [](const std::vector<supervisor::InstanceStatus>& all) {
          return std::all_of(all.begin(), all.end(), [](const auto& i) { return isDown(i.state); });
        },
        timeout);
  }
  Status waitUntilReady(std::chrono::milliseconds timeout) override { return sim_.supervisor().waitUntilReady(timeout); }

 private:
  control::Simulator& sim_;
  store::Session session_;
  std::unique_ptr<flow::FlowSubscription> tables_sub_;
  std::set<std::string> tables_;  // "keyspace.table" seen in the flow
};

}  // namespace

Result<std::unique_ptr<BankLink>> makeSimulatorLink(control::Simulator& sim, SimulatorLinkOptions options) {
  return makeOperationLink(std::make_unique<SimulatorAccess>(sim), std::move(options));
}

}  // namespace sandbank::scenario
