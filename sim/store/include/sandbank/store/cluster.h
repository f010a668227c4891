// Cluster: the store's engine. N nodes in datacenters, a Murmur3 token ring, per-node
// commit log and memtable, and a coordinator that enforces consistency levels, stores
// hints, runs blocking read repair and lightweight transactions, plus the fault controls
// (down, slow, isolated, clock skew, join without streaming, repair).
//
//   client ──request──▶ coordinator (any node) ──kReplicaWrite/kReplicaRead──▶ replicas
//                              │                                   (ring walk, RF)
//                              └─kHint (down replica)   kRepair (read repair / repair)
//
// Timeouts are simulated, not slept: each replica's response latency is computed
// (base latency + the node's added latency; an isolated node never answers) and compared
// with the request timeout, so outcomes are deterministic under a ManualClock.
// Thread-safety: every public method may be called from any thread. Schema and topology
// are guarded by a shared mutex; node data by per-node sharded mutexes; LWTs on one
// partition are serialized by a striped Paxos lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/core/strong_id.h"
#include "sandbank/flow/flow_event.h"
#include "sandbank/store/errors.h"
#include "sandbank/store/partition.h"
#include "sandbank/store/schema.h"

namespace sandbank::faults {
class FaultEngine;
}  // namespace sandbank::faults

namespace sandbank::store {

struct StoreNodeIdTag {};
using NodeId = StrongId<StoreNodeIdTag, int>;  // 1-based: node-1, node-2, ...

enum class ConsistencyLevel : uint8_t {
  kAny, kOne, kTwo, kThree, kQuorum, kLocalQuorum, kEachQuorum, kAll, kLocalOne,
  kSerial, kLocalSerial,
};
std::string_view consistencyName(ConsistencyLevel cl);  // "QUORUM", "LOCAL_QUORUM", ...
bool parseConsistency(std::string_view name, ConsistencyLevel* out);  // case-insensitive

struct ClusterOptions {
  // One entry per node: its datacenter. Default: three nodes in "dc1".
  std::vector<std::string> node_datacenters = {"dc1", "dc1", "dc1"};
  int num_tokens = 16;                 // vnodes per node
  uint64_t token_seed = 0x5eed;        // token placement is deterministic per seed
  Duration write_timeout = std::chrono::seconds(2);
  Duration read_timeout = std::chrono::seconds(5);
  Duration base_latency = std::chrono::microseconds(300);  // simulated network + disk
  Duration max_hint_window = std::chrono::hours(3);
  bool hinted_handoff = true;
  size_t commit_log_retained = 64;     // recent commit log entries kept per node shard (16 shards)
};

// Per-request settings.
struct RequestContext {
  ConsistencyLevel consistency = ConsistencyLevel::kOne;
  ConsistencyLevel serial_consistency = ConsistencyLevel::kSerial;
  std::optional<NodeId> coordinator;     // default: round robin over nodes not down
  std::string client_id;                 // selects the client's clock skew
  std::optional<int64_t> timestamp_us;   // client-supplied write timestamp
  std::string trace_id;                  // copied onto flow events
};

struct CellWrite {
  int column = 0;       // index into TableSchema::columns (a regular column)
  bool remove = false;  // write a cell tombstone (SET x = null, DELETE x)
  Value value;          // already coerced to the column type
};

struct RowWrite {
  std::vector<Value> clustering;  // full clustering key (empty when the table has none)
  bool insert_marker = false;     // INSERT: the row exists even with null cells
  bool delete_row = false;
  std::vector<CellWrite> cells;
};

struct ClusteringBound {
  std::vector<Value> prefix;  // a clustering prefix
  bool inclusive = true;
};

// DELETE over a clustering range: rows between the bounds (an empty inclusive prefix is
// unbounded), in the table's clustering order.
struct RangeDelete {
  ClusteringBound start;
  ClusteringBound end;
};

struct PartitionWrite {
  std::shared_ptr<const TableSchema> table;
  std::vector<Value> key;  // partition key values, coerced, none null
  bool delete_partition = false;
  std::vector<RangeDelete> range_deletes;
  std::vector<RowWrite> rows;
  std::optional<int64_t> timestamp_us;  // USING TIMESTAMP
  std::optional<int32_t> ttl_seconds;   // USING TTL
};

// One or more partitions written together (a batch is atomic per partition).
struct WriteRequest {
  std::vector<PartitionWrite> partitions;
  RequestContext ctx;
};

struct WriteOutcome {
  int acks = 0;           // replicas that acknowledged in time (minimum over partitions)
  int required = 0;
  int hints_stored = 0;
  Duration simulated_latency{0};
};

struct ReadRequest {
  std::shared_ptr<const TableSchema> table;
  std::vector<Value> key;
  std::vector<Value> clustering_eq;      // equality on a clustering prefix
  std::optional<ClusteringBound> start;  // range on the prefix (including clustering_eq)
  std::optional<ClusteringBound> end;
  int64_t limit = -1;                    // -1: no limit
  bool reversed = false;                 // the opposite of the table's clustering order
  // The columns to return (indices into TableSchema::columns), in this order; empty: all
  // columns in schema order. Replicas copy out only these.
  std::vector<int> columns;
  RequestContext ctx;
};

struct ReadOutcome {
  std::vector<std::vector<Value>> rows;  // ReadRequest::columns (all, in schema order, when empty)
  int replicas_contacted = 0;
  int replicas_repaired = 0;
  Duration simulated_latency{0};
};

struct CasCondition {
  bool if_not_exists = false;
  bool if_exists = false;
  std::vector<std::pair<int, Value>> equals;  // column index -> expected value (null ok)
};

struct CasRequest {
  PartitionWrite write;     // exactly one row when the condition is on a row
  CasCondition condition;
  RequestContext ctx;       // consistency: the commit CL; serial_consistency: the Paxos CL
};

struct CasOutcome {
  bool applied = false;
  std::optional<std::vector<Value>> current;  // the row as it was (when it existed)
};

enum class NodeState : uint8_t { kUp, kDown };

struct NodeInfo {
  NodeId id;
  std::string name;  // "node-1"
  std::string datacenter;
  NodeState state = NodeState::kUp;
  bool isolated = false;
  Duration added_latency{0};
  std::vector<int64_t> tokens;
};

struct NodeStats {
  NodeId id;
  int64_t writes = 0;          // mutations applied (client writes, hints, repairs)
  int64_t reads = 0;           // data or digest reads served
  int64_t hints_stored = 0;    // hints this node holds as coordinator (pending)
  int64_t hints_replayed = 0;  // hints this node delivered
  int64_t repairs = 0;         // repair mutations received
  int64_t commit_log_entries = 0;
  int64_t partitions = 0;      // live memtable partitions
};

struct HintInfo {
  NodeId holder;  // the coordinator keeping the hint
  NodeId target;
  std::string table;  // keyspace.table
  std::vector<Value> key;
  int64_t created_us = 0;
};

// What one replica holds for a partition, for divergence inspection.
struct ReplicaView {
  NodeId node;
  bool up = true;
  PartitionUpdate data;  // empty when the replica has nothing
};

struct CommitLogEntry {
  int64_t position = 0;  // sequence within its segment (one segment per memtable shard)
  int64_t written_us = 0;
  uint32_t table_id = 0;
  int64_t token = 0;
  size_t bytes = 0;
};

class Cluster {
 public:
  // Rules of the shared fault engine that name a table are applied to requests on it:
  // delay holds the request, fail answers with the rule's code, drop answers
  // WriteTimeout/ReadTimeout without touching any replica. Not owned; null turns it off.
  void setFaultEngine(faults::FaultEngine* faults) { fault_engine_.store(faults); }

  Cluster(ClusterOptions options, Clock& clock,
          flow::FlowSink& sink = flow::NullFlowSink::instance());
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // --- schema. Errors: AlreadyExists, ConfigurationError (unknown DC, RF < 1),
  // InvalidQuery (unknown keyspace/table).
  Status createKeyspace(const KeyspaceSchema& ks, bool if_not_exists = false);
  Status createTable(TableSchema table, bool if_not_exists = false);
  Status dropKeyspace(const std::string& keyspace, bool if_exists = false);
  Status dropTable(const std::string& keyspace, const std::string& table, bool if_exists = false);
  // Removes every row of the table on every node (all nodes must be up, as in Cassandra).
  Status truncate(const std::string& keyspace, const std::string& table);
  std::shared_ptr<const TableSchema> table(const std::string& keyspace, const std::string& table) const;
  std::shared_ptr<const KeyspaceSchema> keyspace(const std::string& keyspace) const;
  // Every keyspace and every table, by name (what system_schema shows).
  std::vector<std::shared_ptr<const KeyspaceSchema>> keyspaces() const;
  std::vector<std::shared_ptr<const TableSchema>> tables() const;

  // --- data. Errors: Unavailable, WriteTimeout / ReadTimeout, InvalidQuery.
  Result<WriteOutcome> write(const WriteRequest& request);
  Result<ReadOutcome> read(const ReadRequest& request);
  // The same read into `*out`, overwriting it and reusing the row storage it already
  // holds, so a caller that keeps one ReadOutcome per thread reads without allocating.
  // On error `*out` is left unspecified.
  Status read(const ReadRequest& request, ReadOutcome* out);
  // Linearizable per partition. Errors as write(), with "write_type=CAS" on timeouts.
  Result<CasOutcome> cas(const CasRequest& request);

  // --- faults. Errors: NotFound for an unknown node.
  Status nodeDown(NodeId node);
  // Brings a node back; coordinators that hold hints for it replay them now.
  Status nodeUp(NodeId node);
  Status setSlow(NodeId node, Duration added_latency);
  // An isolated node looks alive to the failure detector but never answers.
  Status setIsolated(NodeId node, bool isolated);
  void setClientSkew(const std::string& client_id, Duration skew);
  // Joins a node to `datacenter`. Without streaming it owns token ranges but no data.
  Result<NodeId> addNode(const std::string& datacenter, bool stream = false);
  // Streams to `node` every partition it is now a replica of, from the nodes that hold
  // it (nodetool rebuild): what an operator runs after joining nodes without streaming.
  // Returns partitions streamed. NotFound for an unknown node.
  Result<int64_t> rebuild(NodeId node);
  // Anti-entropy repair of one keyspace (all when empty): every partition is merged across
  // the replicas that are up and written back where they differ. Returns partitions fixed.
  Result<int64_t> repair(const std::string& keyspace = "");
  // Replays pending hints to every target that is up and reachable (the periodic hint
  // dispatcher). Returns hints delivered.
  int64_t deliverHints();
  // Compaction on every node: drops tombstones and expired cells older than gc_grace.
  // Returns the number of cells/rows/partitions purged.
  int64_t compact();

  // --- inspection
  std::vector<NodeInfo> nodes() const;
  std::vector<NodeStats> nodeStats() const;
  std::vector<HintInfo> pendingHints() const;
  Result<std::vector<ReplicaView>> inspectPartition(const std::string& keyspace,
                                                    const std::string& table,
                                                    const std::vector<Value>& key) const;
  Result<std::vector<NodeId>> replicasFor(const TableSchema& table, const std::vector<Value>& key) const;
  std::vector<CommitLogEntry> commitLog(NodeId node) const;
  Clock& clock() const { return clock_; }
  const ClusterOptions& options() const { return options_; }

  struct Impl;

 private:
  // OK, or the error a fault rule on the request's table answers with (after its delay).
  Status applyFaults(const RequestContext& ctx, const TableSchema* table, const char* op, bool is_read) {
    if (fault_engine_.load(std::memory_order_acquire) == nullptr) return OkStatus();  // the usual case
    return applyFaultRules(ctx, table, op, is_read);
  }
  Status applyFaultRules(const RequestContext& ctx, const TableSchema* table, const char* op, bool is_read);

  ClusterOptions options_;
  Clock& clock_;
  std::unique_ptr<Impl> impl_;
  std::atomic<faults::FaultEngine*> fault_engine_{nullptr};
};

}  // namespace sandbank::store
