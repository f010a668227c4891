// StoreServiceImpl: sandbank.store.Store over a Cluster. Converts typed values, runs CQL
// through a Session, keeps prepared statements by id, and maps store errors onto gRPC
// codes with the Cassandra error name leading the message.
// Thread-safety: gRPC calls handlers concurrently; the prepared-statement cache is guarded
// by prepared_mu_, everything else is the thread-safe Cluster/Session.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "sandbank/store.grpc.pb.h"
#include "sandbank/store/cluster.h"
#include "sandbank/store/murmur3.h"
#include "sandbank/store/session.h"
#include "sandbank/store/store_service.h"

namespace sandbank::store {
namespace {

namespace pb = ::sandbank::store;  // generated types share the namespace

grpc::Status toGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

grpc::Status badRequest(const std::string& why) { return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, why); }

// The longest time a request may name. Milliseconds become nanoseconds (Duration) and are
// added to simulated latencies and clocks, which overflows int64 past ~292 years.
constexpr int64_t kMaxRequestMs = 10LL * 365 * 24 * 3600 * 1000;  // ten years

Value fromProto(const pb::TypedValue& v) {
  switch (v.value_case()) {
    case pb::TypedValue::kText: return Value::text(v.text());
    case pb::TypedValue::kInt: return Value::integer(v.int_());
    case pb::TypedValue::kBoolean: return Value::boolean(v.boolean());
    case pb::TypedValue::kBlob: return Value::bytes(v.blob());
    case pb::TypedValue::kUuid: return Value::text(v.uuid());
    case pb::TypedValue::kDecimal: return Value::decimal(v.decimal());
    case pb::TypedValue::kTimestampMs: return Value::integer(v.timestamp_ms());
    case pb::TypedValue::VALUE_NOT_SET: return Value::null();
  }
  return Value::null();
}

void toProto(const Value& v, ColumnType type, pb::TypedValue* out) {
  if (v.isNull()) return;
  switch (type) {
    case ColumnType::kText: out->set_text(v.s); break;
    case ColumnType::kInt:
    case ColumnType::kBigint: out->set_int_(v.i); break;
    case ColumnType::kBoolean: out->set_boolean(v.i != 0); break;
    case ColumnType::kTimestamp: out->set_timestamp_ms(v.i); break;
    case ColumnType::kUuid:
    case ColumnType::kTimeuuid: out->set_uuid(v.s); break;
    case ColumnType::kBlob: out->set_blob(v.s); break;
    case ColumnType::kDecimal: out->set_decimal(v.s); break;
  }
}

bool toConsistency(pb::Consistency c, ConsistencyLevel fallback, ConsistencyLevel* out) {
  switch (c) {
    case pb::CL_UNSET: *out = fallback; return true;
    case pb::CL_ANY: *out = ConsistencyLevel::kAny; return true;
    case pb::CL_ONE: *out = ConsistencyLevel::kOne; return true;
    case pb::CL_TWO: *out = ConsistencyLevel::kTwo; return true;
    case pb::CL_THREE: *out = ConsistencyLevel::kThree; return true;
    case pb::CL_QUORUM: *out = ConsistencyLevel::kQuorum; return true;
    case pb::CL_LOCAL_QUORUM: *out = ConsistencyLevel::kLocalQuorum; return true;
    case pb::CL_EACH_QUORUM: *out = ConsistencyLevel::kEachQuorum; return true;
    case pb::CL_ALL: *out = ConsistencyLevel::kAll; return true;
    case pb::CL_LOCAL_ONE: *out = ConsistencyLevel::kLocalOne; return true;
    case pb::CL_SERIAL: *out = ConsistencyLevel::kSerial; return true;
    case pb::CL_LOCAL_SERIAL: *out = ConsistencyLevel::kLocalSerial; return true;
    default: return false;
  }
}

class StoreServiceImpl final : public pb::Store::Service {
 public:
  explicit StoreServiceImpl(Cluster& cluster) : cluster_(cluster), session_(cluster) {}

  grpc::Status Execute(grpc::ServerContext*, const pb::ExecuteRequest* req, pb::ExecuteResponse* resp) override {
    QueryOptions o;
    o.keyspace = req->keyspace();
    if (!toConsistency(req->consistency(), ConsistencyLevel::kOne, &o.ctx.consistency) ||
        !toConsistency(req->serial_consistency(), ConsistencyLevel::kSerial, &o.ctx.serial_consistency)) {
      return badRequest("unknown consistency level value");
    }
    if (req->has_timestamp_us()) o.ctx.timestamp_us = req->timestamp_us();
    o.ctx.client_id = req->client_id();
    if (req->coordinator() < 0) return badRequest("coordinator must be a node id (1..N) or 0 for round robin");
    if (req->coordinator() > 0) o.ctx.coordinator = NodeId(req->coordinator());
    if (req->page_size() < 0) return badRequest("page_size must not be negative (0 returns every row at once)");
    o.page_size = req->page_size();
    o.paging_state = req->paging_state();
    std::vector<Value> binds;
    binds.reserve(req->values_size());
    for (const auto& v : req->values()) binds.push_back(fromProto(v));

    Result<ResultSet> rs = Status(StatusCode::kInternal, "unreachable");
    if (!req->prepared_id().empty()) {
      std::shared_ptr<const PreparedStatement> st = lookup(req->prepared_id());
      if (!st) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            "Unprepared: no prepared statement " + req->prepared_id() + "; call Prepare again");
      }
      if (o.keyspace.empty()) o.keyspace = keyspaceOf(req->prepared_id());
      rs = session_.execute(*st, binds, o);
    } else if (!req->cql().empty()) {
      rs = session_.execute(req->cql(), binds, o);
    } else {
      return badRequest("ExecuteRequest needs cql or prepared_id");
    }
    if (!rs.ok()) return toGrpc(rs.status());
    for (const ResultColumn& c : rs->columns) {
      auto* col = resp->add_columns();
      col->set_name(c.name);
      col->set_type(std::string(columnTypeName(c.type)));
    }
    for (const auto& row : rs->rows) {
      auto* r = resp->add_rows();
      for (size_t i = 0; i < row.size() && i < rs->columns.size(); ++i) toProto(row[i], rs->columns[i].type, r->add_values());
    }
    if (rs->applied) resp->set_applied(*rs->applied);
    if (!rs->paging_state.empty()) resp->set_paging_state(rs->paging_state);
    return grpc::Status::OK;
  }

  grpc::Status Prepare(grpc::ServerContext*, const pb::PrepareRequest* req, pb::PrepareResponse* resp) override {
    if (req->cql().empty()) return badRequest("PrepareRequest.cql is empty");
    auto st = session_.prepare(req->cql(), req->keyspace());
    if (!st.ok()) return toGrpc(st.status());
    auto h = cassandraMurmur3(req->keyspace() + "\n" + req->cql());
    char id[40];
    std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(h.h1),
                  static_cast<unsigned long long>(h.h2));
    {
      std::lock_guard lock(prepared_mu_);
      prepared_[id] = Entry{*st, req->keyspace()};
    }
    resp->set_prepared_id(id);
    for (const BindSpec& b : (*st)->binds()) {
      auto* c = resp->add_binds();
      c->set_name(b.name);
      c->set_type(std::string(columnTypeName(b.type)));
    }
    return grpc::Status::OK;
  }

  grpc::Status NodeDown(grpc::ServerContext*, const pb::NodeRequest* req, pb::Empty*) override {
    return toGrpc(cluster_.nodeDown(NodeId(req->node())));
  }
  grpc::Status NodeUp(grpc::ServerContext*, const pb::NodeRequest* req, pb::Empty*) override {
    return toGrpc(cluster_.nodeUp(NodeId(req->node())));
  }
  grpc::Status SetSlow(grpc::ServerContext*, const pb::SlowRequest* req, pb::Empty*) override {
    if (req->added_latency_ms() < 0 || req->added_latency_ms() > kMaxRequestMs) {
      return badRequest("added_latency_ms must be between 0 and " + std::to_string(kMaxRequestMs) +
                        " (ten years), got " + std::to_string(req->added_latency_ms()));
    }
    return toGrpc(cluster_.setSlow(NodeId(req->node()), std::chrono::milliseconds(req->added_latency_ms())));
  }
  grpc::Status SetIsolated(grpc::ServerContext*, const pb::IsolateRequest* req, pb::Empty*) override {
    return toGrpc(cluster_.setIsolated(NodeId(req->node()), req->isolated()));
  }
  grpc::Status AddNode(grpc::ServerContext*, const pb::AddNodeRequest* req, pb::AddNodeResponse* resp) override {
    if (req->datacenter().empty()) return badRequest("AddNodeRequest.datacenter is empty (e.g. \"dc1\")");
    auto id = cluster_.addNode(req->datacenter(), req->stream());
    if (!id.ok()) return toGrpc(id.status());
    resp->set_node(id->value());
    return grpc::Status::OK;
  }
  grpc::Status Repair(grpc::ServerContext*, const pb::RepairRequest* req, pb::RepairResponse* resp) override {
    auto n = cluster_.repair(req->keyspace());
    if (!n.ok()) return toGrpc(n.status());
    resp->set_partitions_repaired(*n);
    return grpc::Status::OK;
  }
  grpc::Status Rebuild(grpc::ServerContext*, const pb::NodeRequest* req, pb::CountResponse* resp) override {
    auto n = cluster_.rebuild(NodeId(req->node()));
    if (!n.ok()) return toGrpc(n.status());
    resp->set_count(*n);
    return grpc::Status::OK;
  }
  grpc::Status SetClientSkew(grpc::ServerContext*, const pb::ClientSkewRequest* req, pb::Empty*) override {
    if (req->skew_ms() < -kMaxRequestMs || req->skew_ms() > kMaxRequestMs) {
      return badRequest("skew_ms must be within ten years either way (+-" + std::to_string(kMaxRequestMs) +
                        "), got " + std::to_string(req->skew_ms()));
    }
    cluster_.setClientSkew(req->client_id(), std::chrono::milliseconds(req->skew_ms()));
    return grpc::Status::OK;
  }
  grpc::Status Compact(grpc::ServerContext*, const pb::Empty*, pb::CountResponse* resp) override {
    resp->set_count(cluster_.compact());
    return grpc::Status::OK;
  }
  grpc::Status DeliverHints(grpc::ServerContext*, const pb::Empty*, pb::CountResponse* resp) override {
    resp->set_count(cluster_.deliverHints());
    return grpc::Status::OK;
  }

  grpc::Status GetPartition(grpc::ServerContext*, const pb::PartitionRequest* req, pb::PartitionResponse* resp) override {
    auto t = cluster_.table(req->keyspace(), req->table());
    if (!t) return badRequest("unknown table " + req->keyspace() + "." + req->table());
    std::vector<Value> key;
    for (const auto& v : req->key()) key.push_back(fromProto(v));
    auto views = cluster_.inspectPartition(req->keyspace(), req->table(), key);
    if (!views.ok()) return toGrpc(views.status());
    if (!views->empty()) resp->set_token(views->front().data.token);
    for (const ReplicaView& v : *views) {
      auto* rp = resp->add_replicas();
      rp->set_node(v.node.value());
      rp->set_up(v.up);
      if (v.data.deletion.present()) rp->set_partition_deletion_time_us(v.data.deletion.ts);
      for (const RowData& r : v.data.rows) {
        auto* rv = rp->add_rows();
        for (size_t i = 0; i < r.clustering.size(); ++i) toProto(r.clustering[i], t->columns[t->clustering[i]].type, rv->add_clustering());
        if (r.marker.present()) rv->set_marker_time_us(r.marker.ts);
        if (r.deletion.present()) rv->set_deletion_time_us(r.deletion.ts);
        for (size_t i = 0; i < r.cells.size() && i < t->regular.size(); ++i) {
          const Cell& c = r.cells[i];
          if (!c.present()) continue;
          auto* cv = rv->add_cells();
          const ColumnDef& col = t->columns[t->regular[i]];
          cv->set_column(col.name);
          if (!c.tombstone) toProto(c.value, col.type, cv->mutable_value());
          cv->set_write_time_us(c.ts);
          cv->set_ttl_seconds(c.ttl_seconds);
          cv->set_tombstone(c.tombstone);
        }
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status ListHints(grpc::ServerContext*, const pb::Empty*, pb::HintsResponse* resp) override {
    for (const HintInfo& h : cluster_.pendingHints()) {
      auto* hv = resp->add_hints();
      hv->set_holder(h.holder.value());
      hv->set_target(h.target.value());
      hv->set_table(h.table);
      auto dot = h.table.find('.');
      auto t = cluster_.table(h.table.substr(0, dot), h.table.substr(dot + 1));
      for (size_t i = 0; i < h.key.size(); ++i) {
        toProto(h.key[i], t ? t->partition_key_types[i] : ColumnType::kText, hv->add_key());
      }
      hv->set_created_us(h.created_us);
    }
    return grpc::Status::OK;
  }

  grpc::Status GetNodeStats(grpc::ServerContext*, const pb::Empty*, pb::NodeStatsResponse* resp) override {
    auto infos = cluster_.nodes();
    auto stats = cluster_.nodeStats();
    for (size_t i = 0; i < infos.size() && i < stats.size(); ++i) {
      auto* n = resp->add_nodes();
      n->set_node(infos[i].id.value());
      n->set_name(infos[i].name);
      n->set_datacenter(infos[i].datacenter);
      n->set_up(infos[i].state == NodeState::kUp);
      n->set_isolated(infos[i].isolated);
      n->set_added_latency_ms(std::chrono::duration_cast<std::chrono::milliseconds>(infos[i].added_latency).count());
      n->set_writes(stats[i].writes);
      n->set_reads(stats[i].reads);
      n->set_hints_stored(stats[i].hints_stored);
      n->set_hints_replayed(stats[i].hints_replayed);
      n->set_repairs(stats[i].repairs);
      n->set_commit_log_entries(stats[i].commit_log_entries);
      n->set_partitions(stats[i].partitions);
    }
    return grpc::Status::OK;
  }

 private:
  struct Entry {
    std::shared_ptr<const PreparedStatement> statement;
    std::string keyspace;
  };
  std::shared_ptr<const PreparedStatement> lookup(const std::string& id) {
    std::lock_guard lock(prepared_mu_);
    auto it = prepared_.find(id);
    return it == prepared_.end() ? nullptr : it->second.statement;
  }
  std::string keyspaceOf(const std::string& id) {
    std::lock_guard lock(prepared_mu_);
    auto it = prepared_.find(id);
    return it == prepared_.end() ? "" : it->second.keyspace;
  }

  Cluster& cluster_;
  Session session_;
  std::mutex prepared_mu_;
  std::unordered_map<std::string, Entry> prepared_;  // guarded by prepared_mu_
};

}  // namespace

std::unique_ptr<grpc::Service> makeStoreGrpcService(Cluster& cluster) {
  return std::make_unique<StoreServiceImpl>(cluster);
}

}  // namespace sandbank::store
