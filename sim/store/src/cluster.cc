// The coordinator: replica placement on the token ring, consistency levels, simulated
// timeouts, hinted handoff, blocking read repair, LWT, anti-entropy repair and faults.
// Thread-safety: schema/topology under Impl::mu (shared for requests, exclusive for
// changes); node data inside ReplicaStore; hints under NodeRuntime::hints_mu; client
// clocks under ClientClocks' stripe mutexes; LWTs under the Paxos stripe of the partition.
#include "sandbank/store/cluster.h"

#include "sandbank/faults/fault_engine.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "replica_store.h"
#include "sharded_shared_mutex.h"
#include "sandbank/store/murmur3.h"

namespace sandbank::store {

namespace {

constexpr int64_t kNever = INT64_MAX;

struct Hint {
  NodeId target;
  std::shared_ptr<const TableSchema> table;
  PartitionUpdate update;
  int64_t created_us = 0;
};

struct NodeRuntime {
  NodeRuntime(NodeId i, std::string d, size_t retained, StripeLocks& stripes)
      : id(i), name("node-" + std::to_string(i.value())), dc(std::move(d)), store(retained, stripes) {}
  NodeId id;
  std::string name;
  std::string dc;
  std::vector<int64_t> tokens;
  std::atomic<bool> down{false};
  std::atomic<bool> isolated{false};
  std::atomic<int64_t> slow_ns{0};
  std::atomic<int64_t> down_since_us{0};
  std::atomic<int64_t> hints_replayed{0}, repairs{0};
  ReplicaStore store;
  mutable std::mutex hints_mu;
  std::vector<Hint> hints;  // guarded by hints_mu: hints this node holds as coordinator
};

struct KeyspaceRuntime {
  std::shared_ptr<const KeyspaceSchema> schema;
  std::vector<std::vector<int>> placement;  // ring index -> replica node indices
};

struct ClientClock {
  int64_t skew_us = 0;
  int64_t last_us = 0;
};

std::string keyText(const std::vector<Value>& key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    if (i) out += ":";
    out += key[i].kind == Value::Kind::kText ? key[i].s : formatValue(key[i]);
  }
  return out;
}

bool isSerial(ConsistencyLevel cl) {
  return cl == ConsistencyLevel::kSerial || cl == ConsistencyLevel::kLocalSerial;
}

bool isLocal(ConsistencyLevel cl) {
  return cl == ConsistencyLevel::kLocalQuorum || cl == ConsistencyLevel::kLocalOne ||
         cl == ConsistencyLevel::kLocalSerial;
}

}  // namespace

struct Cluster::Impl {
  Impl(const ClusterOptions& o, Clock& c, flow::FlowSink& s)
      : options(o), clock(c), sink(s), flow_enabled(&s != &flow::NullFlowSink::instance()) {}

  const ClusterOptions& options;
  Clock& clock;
  flow::FlowSink& sink;
  const bool flow_enabled;

  mutable ShardedSharedMutex mu;
  StripeLocks stripes;  // the memtable shards' locks, shared by every node (outlives nodes)
  std::vector<std::unique_ptr<NodeRuntime>> nodes;       // guarded by mu (append only)
  std::vector<int64_t> ring_tokens;                      // guarded by mu, sorted
  std::vector<int> ring_owner;                           // guarded by mu
  std::vector<uint32_t> ring_bucket_start;               // guarded by mu: see ringIndex
  std::map<std::string, std::unique_ptr<KeyspaceRuntime>> keyspaces;  // guarded by mu
  std::map<std::string, std::shared_ptr<const TableSchema>> tables;   // guarded by mu
  std::unordered_map<uint32_t, KeyspaceRuntime*> table_keyspace;      // guarded by mu
  std::vector<KeyspaceRuntime*> keyspace_by_table;                     // guarded by mu; same, by id

  // The keyspace runtime of a live table, or nullptr (callers hold mu).
  KeyspaceRuntime* keyspaceOf(uint32_t table_id) const {
    return table_id < keyspace_by_table.size() ? keyspace_by_table[table_id] : nullptr;
  }
  void setKeyspaceOf(uint32_t table_id, KeyspaceRuntime* ks) {
    if (table_id >= keyspace_by_table.size()) keyspace_by_table.resize(table_id + 1, nullptr);
    keyspace_by_table[table_id] = ks;
    if (ks) table_keyspace[table_id] = ks;
    else table_keyspace.erase(table_id);
  }
  uint32_t next_table_id = 1;                                          // guarded by mu

  static constexpr size_t kClockStripes = 16;
  struct ClockStripe {
    std::mutex mu;
    std::unordered_map<std::string, ClientClock> clocks;  // guarded by mu
  };
  std::array<ClockStripe, kClockStripes> client_clocks;
  std::atomic<bool> any_skew{false};  // set once any client gets a skew

  std::array<std::mutex, 256> paxos;  // one stripe per group of partitions
  std::atomic<uint64_t> round_robin{0};

  int64_t nowUs() const { return toMicros(clock.now()); }

  // A client's write timestamp: its skewed clock, strictly increasing per client (as the
  // drivers' monotonic timestamp generators do).
  int64_t clientTimestamp(const std::string& client, int64_t now) {
    if (!any_skew.load(std::memory_order_relaxed)) {
      // No client is skewed: each thread keeps its own monotonic generator (as the
      // drivers' thread-local timestamp generators do), so the hot path takes no lock.
      thread_local int64_t last = 0;
      last = std::max(now, last + 1);
      return last;
    }
    ClockStripe& s = client_clocks[std::hash<std::string>{}(client) % kClockStripes];
    std::lock_guard lock(s.mu);
    ClientClock& c = s.clocks[client];
    int64_t ts = std::max(now + c.skew_us, c.last_us + 1);
    c.last_us = ts;
    return ts;
  }

  void emit(flow::FlowKind kind, const std::string& from, const std::string& to, std::string_view method,
            const TableSchema& t, const std::vector<Value>& key, std::string status, std::string detail,
            const RequestContext* ctx, int64_t start_us, int64_t latency_us) {
    if (!flow_enabled) return;
    flow::FlowEvent e;
    if (ctx) e.trace_id = ctx->trace_id;
    e.start_sim_us = start_us;
    e.end_sim_us = latency_us == kNever ? start_us : start_us + latency_us;
    auto real = toMicros(std::chrono::system_clock::now());
    e.start_real_us = real;
    e.end_real_us = real;
    e.kind = kind;
    e.source = from;
    e.destination = to;
    e.method = std::string(method);
    e.keyspace = t.keyspace;
    e.table = t.name;
    e.partition_key = keyText(key);
    e.status = std::move(status);
    e.detail = std::move(detail);
    sink.emit(std::move(e));
  }

  // --- topology (callers hold mu)

  // The ring position owning `token`: the first ring token >= token, wrapping to 0. A
  // bucket table over the token's top bits jumps close, then a short scan finishes (a
  // binary search here mispredicts a branch per level on every request).
  static constexpr int kRingBucketBits = 12;
  static size_t ringBucket(int64_t token) {
    return static_cast<size_t>((static_cast<uint64_t>(token) ^ 0x8000000000000000ULL) >> (64 - kRingBucketBits));
  }
  int ringIndex(int64_t token) const {
    size_t i = ring_bucket_start[ringBucket(token)];
    const size_t n = ring_tokens.size();
    while (i < n && ring_tokens[i] < token) ++i;
    return i == n ? 0 : static_cast<int>(i);
  }
  void rebuildRingBuckets() {
    ring_bucket_start.assign(size_t{1} << kRingBucketBits, 0);
    size_t i = 0;
    for (size_t b = 0; b < ring_bucket_start.size(); ++b) {
      // Smallest token of bucket b, in signed order (bucket 0 holds INT64_MIN...).
      int64_t first = static_cast<int64_t>((static_cast<uint64_t>(b) << (64 - kRingBucketBits)) ^ 0x8000000000000000ULL);
      while (i < ring_tokens.size() && ring_tokens[i] < first) ++i;
      ring_bucket_start[b] = static_cast<uint32_t>(i);
    }
  }

  std::vector<int> computeReplicas(const KeyspaceSchema& ks, int start) const {
    std::vector<int> out;
    const size_t n = ring_tokens.size();
    if (ks.replication == ReplicationClass::kSimple) {
      for (size_t k = 0; k < n && static_cast<int>(out.size()) < ks.replication_factor; ++k) {
        int owner = ring_owner[(start + k) % n];
        if (std::find(out.begin(), out.end(), owner) == out.end()) out.push_back(owner);
      }
      return out;
    }
    std::map<std::string, int> have;
    for (size_t k = 0; k < n; ++k) {
      int owner = ring_owner[(start + k) % n];
      if (std::find(out.begin(), out.end(), owner) != out.end()) continue;
      const std::string& dc = nodes[owner]->dc;
      auto want = ks.dc_factors.find(dc);
      if (want == ks.dc_factors.end() || have[dc] >= want->second) continue;
      ++have[dc];
      out.push_back(owner);
    }
    return out;
  }

  void computePlacement(KeyspaceRuntime& k) const {
    k.placement.clear();
    k.placement.reserve(ring_tokens.size());
    for (size_t i = 0; i < ring_tokens.size(); ++i) k.placement.push_back(computeReplicas(*k.schema, static_cast<int>(i)));
  }

  void addNodeLocked(const std::string& dc) {
    int index = static_cast<int>(nodes.size());
    auto node = std::make_unique<NodeRuntime>(NodeId(index + 1), dc, options.commit_log_retained, stripes);
    std::mt19937_64 rng(options.token_seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(index + 1));
    for (int i = 0; i < std::max(1, options.num_tokens); ++i) {
      int64_t t = static_cast<int64_t>(rng());
      while (std::binary_search(ring_tokens.begin(), ring_tokens.end(), t)) t = static_cast<int64_t>(rng());
      node->tokens.push_back(t);
      auto pos = std::lower_bound(ring_tokens.begin(), ring_tokens.end(), t) - ring_tokens.begin();
      ring_tokens.insert(ring_tokens.begin() + pos, t);
      ring_owner.insert(ring_owner.begin() + pos, index);
    }
    std::sort(node->tokens.begin(), node->tokens.end());
    nodes.push_back(std::move(node));
    rebuildRingBuckets();
    for (auto& [name, k] : keyspaces) computePlacement(*k);
  }

  const std::vector<int>& replicasOf(const KeyspaceRuntime& k, int64_t token) const {
    return k.placement[ringIndex(token)];
  }

  NodeRuntime* node(NodeId id) const {
    int i = id.value() - 1;
    return i >= 0 && i < static_cast<int>(nodes.size()) ? nodes[i].get() : nullptr;
  }

  // The coordinator for a request. An isolated coordinator never answers the client, so
  // the request times out with `timeout` (WriteTimeout or ReadTimeout).
  Result<int> pickCoordinator(const RequestContext& ctx, StoreError timeout) {
    if (ctx.coordinator) {
      NodeRuntime* n = node(*ctx.coordinator);
      if (n == nullptr) return storeError(StoreError::kInvalidQuery, "no such coordinator node " + std::to_string(ctx.coordinator->value()));
      if (n->down.load()) {
        return storeError(StoreError::kUnavailable, "coordinator " + n->name + " is down (NoHostAvailable)");
      }
      if (n->isolated.load()) {
        return storeError(timeout, "coordinator " + n->name + " is isolated and never answered");
      }
      return ctx.coordinator->value() - 1;
    }
    const size_t n = nodes.size();
    // Each client thread rotates on its own, like a driver's round-robin policy, so the
    // hot path shares no counter between threads.
    thread_local uint64_t rotation = round_robin.fetch_add(1, std::memory_order_relaxed);
    uint64_t start = rotation++;
    for (size_t k = 0; k < n; ++k) {
      size_t i = (start + k) % n;
      if (nodes[i]->down.load(std::memory_order_relaxed)) continue;
      if (nodes[i]->isolated.load(std::memory_order_relaxed)) {
        return storeError(timeout, "coordinator " + nodes[i]->name + " is isolated and never answered");
      }
      return static_cast<int>(i);
    }
    return storeError(StoreError::kUnavailable, "all nodes are down (NoHostAvailable)");
  }

  // The time at which `cl` is satisfied given each replica's response latency (kNever
  // for no response), or kNever. `required` receives the number of responses needed.
  int64_t satisfiedAt(ConsistencyLevel cl, const std::vector<int>& replicas, const std::vector<int64_t>& lat,
                      const std::string& local_dc, int* required) const {
    // The k-th smallest latency, without allocating (replica sets are small).
    auto kth = [](const std::vector<int64_t>& v, int k) -> int64_t {
      if (k <= 0) return 0;
      if (static_cast<int>(v.size()) < k) return kNever;
      int64_t buf[64];
      if (v.size() > 64) {
        std::vector<int64_t> copy(v);
        std::nth_element(copy.begin(), copy.begin() + (k - 1), copy.end());
        return copy[k - 1];
      }
      std::copy(v.begin(), v.end(), buf);
      if (v.size() <= 8) {
        // An insertion sort beats nth_element's set-up on a replica set's few entries.
        for (size_t i = 1; i < v.size(); ++i) {
          int64_t x = buf[i];
          size_t j = i;
          for (; j > 0 && buf[j - 1] > x; --j) buf[j] = buf[j - 1];
          buf[j] = x;
        }
        return buf[k - 1];
      }
      std::nth_element(buf, buf + (k - 1), buf + v.size());
      return buf[k - 1];
    };
    switch (cl) {
      case ConsistencyLevel::kAny:
      case ConsistencyLevel::kOne:
        *required = 1;
        return kth(lat, 1);
      case ConsistencyLevel::kTwo:
        *required = 2;
        return kth(lat, 2);
      case ConsistencyLevel::kThree:
        *required = 3;
        return kth(lat, 3);
      case ConsistencyLevel::kQuorum:
      case ConsistencyLevel::kSerial:
        *required = static_cast<int>(replicas.size()) / 2 + 1;
        return kth(lat, *required);
      case ConsistencyLevel::kAll:
        *required = static_cast<int>(replicas.size());
        return kth(lat, *required);
      case ConsistencyLevel::kLocalOne:
      case ConsistencyLevel::kLocalQuorum:
      case ConsistencyLevel::kLocalSerial: {
        std::vector<int64_t> local;
        int rf = 0;
        for (size_t i = 0; i < replicas.size(); ++i) {
          if (nodes[replicas[i]]->dc != local_dc) continue;
          ++rf;
          local.push_back(lat[i]);
        }
        *required = cl == ConsistencyLevel::kLocalOne ? 1 : rf / 2 + 1;
        return kth(local, *required);
      }
      case ConsistencyLevel::kEachQuorum: {
        std::map<std::string, std::vector<int64_t>> per_dc;
        for (size_t i = 0; i < replicas.size(); ++i) per_dc[nodes[replicas[i]]->dc].push_back(lat[i]);
        int64_t worst = 0;
        *required = 0;
        for (auto& [dc, v] : per_dc) {
          int need = static_cast<int>(v.size()) / 2 + 1;
          *required += need;
          worst = std::max(worst, kth(v, need));
        }
        return worst;
      }
    }
    return kNever;
  }

  // How many replica responses `cl` needs (counting only the local DC for LOCAL_*).
  int blockFor(ConsistencyLevel cl, const std::vector<int>& replicas, const std::string& local_dc) const {
    switch (cl) {
      case ConsistencyLevel::kAny:
      case ConsistencyLevel::kOne: return 1;
      case ConsistencyLevel::kTwo: return 2;
      case ConsistencyLevel::kThree: return 3;
      case ConsistencyLevel::kQuorum:
      case ConsistencyLevel::kSerial: return static_cast<int>(replicas.size()) / 2 + 1;
      case ConsistencyLevel::kAll: return static_cast<int>(replicas.size());
      default: {
        std::vector<int64_t> zero(replicas.size(), 0);
        int required = 0;
        satisfiedAt(cl, replicas, zero, local_dc, &required);
        return required;
      }
    }
  }

  int64_t responseLatencyNs(const NodeRuntime& n) const {
    if (n.isolated.load(std::memory_order_relaxed)) return kNever;
    return options.base_latency.count() + n.slow_ns.load(std::memory_order_relaxed);
  }

  // Fills `u` with the mutation a write makes at timestamp `ts`. It overwrites every field
  // and reuses the vectors and strings `u` already holds, so a per-thread scratch update
  // makes the single-row write path allocation-free.
  static void fillUpdate(const PartitionWrite& w, int64_t ts, int64_t now_us, const std::string& key_bytes,
                         int64_t token, PartitionUpdate& u) {
    const TableSchema& t = *w.table;
    u.table_id = t.id;
    assignValues(u.key, w.key);
    u.key_bytes = key_bytes;
    u.token = token;
    int32_t ttl = w.ttl_seconds.value_or(t.default_ttl_seconds);
    int64_t expires = ttl > 0 ? now_us + static_cast<int64_t>(ttl) * 1'000'000 : 0;
    u.deletion = w.delete_partition ? Deletion{ts, now_us} : Deletion{};
    u.ranges.clear();
    for (const RangeDelete& rd : w.range_deletes) {
      u.ranges.push_back(RangeTombstone{rd.start.prefix, rd.start.inclusive, rd.end.prefix, rd.end.inclusive,
                                        Deletion{ts, now_us}});
    }
    u.rows.resize(w.rows.size());
    for (size_t i = 0; i < w.rows.size(); ++i) {
      const RowWrite& rw = w.rows[i];
      RowData& rd = u.rows[i];
      assignValues(rd.clustering, rw.clustering);
      rd.deletion = rw.delete_row ? Deletion{ts, now_us} : Deletion{};
      rd.marker = rw.insert_marker ? RowMarker{ts, expires, ttl} : RowMarker{};
      if (rw.cells.empty()) {
        rd.cells.clear();
        continue;
      }
      rd.cells.resize(t.regular.size());
      for (Cell& c : rd.cells) c.ts = kNoTimestamp;  // unwritten until set below
      for (const CellWrite& cw : rw.cells) {
        Cell& c = rd.cells[t.columns[cw.column].position];
        c.ts = ts;
        c.tombstone = cw.remove || cw.value.isNull();
        c.local_time_us = c.tombstone ? now_us : expires;
        c.ttl_seconds = c.tombstone ? 0 : ttl;
        if (c.tombstone) {
          setNull(c.value);
        } else {
          assignValue(c.value, cw.value);
        }
      }
      for (Cell& c : rd.cells) {
        if (c.ts != kNoTimestamp) continue;
        c.local_time_us = 0;
        c.ttl_seconds = 0;
        c.tombstone = false;
        setNull(c.value);
      }
    }
  }

  PartitionUpdate buildUpdate(const PartitionWrite& w, int64_t ts, int64_t now_us, const std::string& key_bytes,
                              int64_t token) const {
    const TableSchema& t = *w.table;
    PartitionUpdate u;
    fillUpdate(w, ts, now_us, key_bytes, token, u);
    if (u.rows.size() > 1) {
      // Several statements on one partition (a batch): normalize through a merge so rows
      // are ordered and duplicates resolved by last-write-wins.
      StoredPartition tmp(&t);
      tmp.key = u.key;
      tmp.token = u.token;
      mergeInto(t, tmp, u);
      PartitionUpdate merged = sliceOf(t, tmp, u.key_bytes, SliceBounds{});
      merged.deletion = u.deletion;
      return merged;
    }
    return u;
  }

  void storeHint(NodeRuntime& holder, NodeRuntime& target, const std::shared_ptr<const TableSchema>& t,
                 const PartitionUpdate& u, int64_t now_us, const RequestContext* ctx, const char* why) {
    {
      std::lock_guard lock(holder.hints_mu);
      holder.hints.push_back(Hint{target.id, t, u, now_us});
    }
    emit(flow::FlowKind::kHint, holder.name, target.name, "HINT", *t, u.key, "OK",
         std::string("stored: ") + why, ctx, now_us, 0);
  }

  bool withinHintWindow(const NodeRuntime& target, int64_t now_us) const {
    int64_t since = target.down_since_us.load();
    return now_us - since <= std::chrono::duration_cast<std::chrono::microseconds>(options.max_hint_window).count();
  }

  int64_t replayHintsTo(NodeRuntime& target) {
    if (target.down.load() || target.isolated.load()) return 0;
    int64_t delivered = 0;
    int64_t now = nowUs();
    for (auto& holder : nodes) {
      if (holder->down.load() || holder->isolated.load()) continue;
      std::vector<Hint> mine;
      {
        std::lock_guard lock(holder->hints_mu);
        auto it = std::stable_partition(holder->hints.begin(), holder->hints.end(),
                                        [&](const Hint& h) { return h.target != target.id; });
        mine.assign(std::make_move_iterator(it), std::make_move_iterator(holder->hints.end()));
        holder->hints.erase(it, holder->hints.end());
      }
      for (const Hint& h : mine) {
        target.store.apply(h.table, h.update, now);
        holder->hints_replayed.fetch_add(1, std::memory_order_relaxed);
        emit(flow::FlowKind::kHint, holder->name, target.name, "HINT", *h.table, h.update.key, "OK", "replayed",
             nullptr, now, options.base_latency.count() / 1000);
        ++delivered;
      }
    }
    return delivered;
  }

  static std::vector<Value> rowValues(const TableSchema& t, const PartitionUpdate& p, const RowData& r) {
    std::vector<Value> out(t.columns.size());
    for (size_t i = 0; i < t.partition_key.size(); ++i) out[t.partition_key[i]] = p.key[i];
    for (size_t i = 0; i < t.clustering.size() && i < r.clustering.size(); ++i) out[t.clustering[i]] = r.clustering[i];
    for (size_t i = 0; i < t.regular.size() && i < r.cells.size(); ++i) out[t.regular[i]] = r.cells[i].value;
    return out;
  }

  // Live rows of a merged slice, as result rows.
  static void liveRows(const TableSchema& t, const PartitionUpdate& p, int64_t now_us, int64_t limit, bool reversed,
                       const std::vector<int>* projection, RowWriter& out) {
    auto emitRow = [&](const RowData& r) {
      appendLiveRow(t, p.key, r.clustering, r.marker, r.cells, now_us, projection, out);
    };
    if (reversed) {
      for (auto it = p.rows.rbegin(); it != p.rows.rend(); ++it) {
        if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
        emitRow(*it);
      }
    } else {
      for (const RowData& r : p.rows) {
        if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
        emitRow(r);
      }
    }
  }
  static std::vector<std::vector<Value>> liveRows(const TableSchema& t, const PartitionUpdate& p, int64_t now_us,
                                                  int64_t limit, bool reversed) {
    std::vector<std::vector<Value>> rows;
    RowWriter out(&rows);
    liveRows(t, p, now_us, limit, reversed, nullptr, out);
    out.finish();
    return rows;
  }

  static int64_t maxTimestamp(const PartitionUpdate& p) {
    int64_t m = p.deletion.ts;
    for (const RowData& r : p.rows) {
      m = std::max({m, r.marker.ts, r.deletion.ts});
      for (const Cell& c : r.cells) m = std::max(m, c.ts);
    }
    return m;
  }

  PartitionUpdate mergeAll(const TableSchema& t, const std::vector<PartitionUpdate>& slices) const {
    StoredPartition tmp(&t);
    tmp.key = slices[0].key;
    tmp.token = slices[0].token;
    for (const PartitionUpdate& s : slices) mergeInto(t, tmp, s);
    return sliceOf(t, tmp, slices[0].key_bytes, SliceBounds{});
  }
};

std::string_view consistencyName(ConsistencyLevel cl) {
  switch (cl) {
    case ConsistencyLevel::kAny: return "ANY";
    case ConsistencyLevel::kOne: return "ONE";
    case ConsistencyLevel::kTwo: return "TWO";
    case ConsistencyLevel::kThree: return "THREE";
    case ConsistencyLevel::kQuorum: return "QUORUM";
    case ConsistencyLevel::kLocalQuorum: return "LOCAL_QUORUM";
    case ConsistencyLevel::kEachQuorum: return "EACH_QUORUM";
    case ConsistencyLevel::kAll: return "ALL";
    case ConsistencyLevel::kLocalOne: return "LOCAL_ONE";
    case ConsistencyLevel::kSerial: return "SERIAL";
    case ConsistencyLevel::kLocalSerial: return "LOCAL_SERIAL";
  }
  return "?";
}

bool parseConsistency(std::string_view name, ConsistencyLevel* out) {
  std::string n(name);
  for (char& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (int i = 0; i <= static_cast<int>(ConsistencyLevel::kLocalSerial); ++i) {
    auto cl = static_cast<ConsistencyLevel>(i);
    if (consistencyName(cl) == n) {
      *out = cl;
      return true;
    }
  }
  return false;
}

Cluster::Cluster(ClusterOptions options, Clock& clock, flow::FlowSink& sink)
    : options_(std::move(options)), clock_(clock), impl_(std::make_unique<Impl>(options_, clock, sink)) {
  std::unique_lock lock(impl_->mu);
  for (const std::string& dc : options_.node_datacenters) impl_->addNodeLocked(dc);
}

Cluster::~Cluster() = default;

// ---------------------------------------------------------------- schema

Status Cluster::createKeyspace(const KeyspaceSchema& ks, bool if_not_exists) {
  std::unique_lock lock(impl_->mu);
  if (impl_->keyspaces.count(ks.name)) {
    if (if_not_exists) return OkStatus();
    return storeError(StoreError::kAlreadyExists, "Keyspace " + ks.name + " already exists");
  }
  if (ks.replication == ReplicationClass::kSimple && ks.replication_factor < 1) {
    return storeError(StoreError::kConfigurationError, "replication_factor must be at least 1");
  }
  if (ks.replication == ReplicationClass::kNetworkTopology) {
    if (ks.dc_factors.empty()) return storeError(StoreError::kConfigurationError, "NetworkTopologyStrategy needs at least one datacenter");
    for (const auto& [dc, rf] : ks.dc_factors) {
      bool known = std::any_of(impl_->nodes.begin(), impl_->nodes.end(), [&dc = dc](const auto& n) { return n->dc == dc; });
      if (!known) return storeError(StoreError::kConfigurationError, "Unrecognized datacenter '" + dc + "'");
      if (rf < 0) return storeError(StoreError::kConfigurationError, "replication factor for " + dc + " must not be negative");
    }
  }
  auto rt = std::make_unique<KeyspaceRuntime>();
  rt->schema = std::make_shared<const KeyspaceSchema>(ks);
  impl_->computePlacement(*rt);
  impl_->keyspaces[ks.name] = std::move(rt);
  return OkStatus();
}

Status Cluster::createTable(TableSchema table, bool if_not_exists) {
  std::unique_lock lock(impl_->mu);
  auto ks = impl_->keyspaces.find(table.keyspace);
  if (ks == impl_->keyspaces.end()) return storeError(StoreError::kInvalidQuery, "Keyspace " + table.keyspace + " does not exist");
  std::string qn = table.qualifiedName();
  if (impl_->tables.count(qn)) {
    if (if_not_exists) return OkStatus();
    return storeError(StoreError::kAlreadyExists, "Table " + qn + " already exists");
  }
  table.finalize();
  if (table.partition_key.empty()) return storeError(StoreError::kInvalidQuery, "Table " + qn + " has no partition key");
  table.id = impl_->next_table_id++;
  auto schema = std::make_shared<const TableSchema>(std::move(table));
  impl_->setKeyspaceOf(schema->id, ks->second.get());
  impl_->tables[qn] = std::move(schema);
  return OkStatus();
}

Status Cluster::dropKeyspace(const std::string& keyspace, bool if_exists) {
  std::unique_lock lock(impl_->mu);
  auto it = impl_->keyspaces.find(keyspace);
  if (it == impl_->keyspaces.end()) {
    if (if_exists) return OkStatus();
    return storeError(StoreError::kInvalidQuery, "Keyspace " + keyspace + " does not exist");
  }
  for (auto t = impl_->tables.begin(); t != impl_->tables.end();) {
    if (t->second->keyspace == keyspace) {
      for (auto& n : impl_->nodes) n->store.truncate(t->second->id);
      impl_->setKeyspaceOf(t->second->id, nullptr);
      t = impl_->tables.erase(t);
    } else {
      ++t;
    }
  }
  impl_->keyspaces.erase(it);
  return OkStatus();
}

Status Cluster::dropTable(const std::string& keyspace, const std::string& table, bool if_exists) {
  std::unique_lock lock(impl_->mu);
  auto it = impl_->tables.find(keyspace + "." + table);
  if (it == impl_->tables.end()) {
    if (if_exists) return OkStatus();
    return storeError(StoreError::kInvalidQuery, "Table " + keyspace + "." + table + " does not exist");
  }
  for (auto& n : impl_->nodes) n->store.truncate(it->second->id);
  impl_->setKeyspaceOf(it->second->id, nullptr);
  impl_->tables.erase(it);
  return OkStatus();
}

Status Cluster::truncate(const std::string& keyspace, const std::string& table) {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->tables.find(keyspace + "." + table);
  if (it == impl_->tables.end()) return storeError(StoreError::kInvalidQuery, "Table " + keyspace + "." + table + " does not exist");
  for (auto& n : impl_->nodes) {
    if (n->down.load()) {
      return storeError(StoreError::kUnavailable, "Cannot achieve consistency level ALL for TRUNCATE: " + n->name + " is down");
    }
  }
  uint32_t id = it->second->id;
  for (auto& n : impl_->nodes) {
    n->store.truncate(id);
    std::lock_guard hl(n->hints_mu);
    std::erase_if(n->hints, [&](const Hint& h) { return h.table->id == id; });
  }
  return OkStatus();
}

std::shared_ptr<const TableSchema> Cluster::table(const std::string& keyspace, const std::string& table) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->tables.find(keyspace + "." + table);
  return it == impl_->tables.end() ? nullptr : it->second;
}

std::shared_ptr<const KeyspaceSchema> Cluster::keyspace(const std::string& keyspace) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->keyspaces.find(keyspace);
  return it == impl_->keyspaces.end() ? nullptr : it->second->schema;
}

std::vector<std::shared_ptr<const KeyspaceSchema>> Cluster::keyspaces() const {
  std::shared_lock lock(impl_->mu);
  std::vector<std::shared_ptr<const KeyspaceSchema>> out;
  out.reserve(impl_->keyspaces.size());
  for (const auto& [name, k] : impl_->keyspaces) out.push_back(k->schema);
  return out;
}

std::vector<std::shared_ptr<const TableSchema>> Cluster::tables() const {
  std::shared_lock lock(impl_->mu);
  std::vector<std::shared_ptr<const TableSchema>> out;
  out.reserve(impl_->tables.size());
  for (const auto& [name, t] : impl_->tables) out.push_back(t);
  return out;
}

// ---------------------------------------------------------------- writes

Status Cluster::applyFaultRules(const RequestContext& ctx, const TableSchema* table, const char* op, bool is_read) {
  faults::FaultEngine* fe = fault_engine_.load();
  if (!fe || !table) return OkStatus();
  faults::FaultSubject subject;
  subject.layer = faults::SubjectLayer::kStore;
  subject.source = ctx.client_id.empty() ? "client" : ctx.client_id;
  subject.destination = "store";
  subject.method = op;
  subject.table = table->keyspace + "." + table->name;
  subject.trace_id = ctx.trace_id;
  faults::FaultDecision d = fe->decide(subject);
  if (!d.faulted()) {
    subject.table = table->name;  // rules may name the table alone
    d = fe->decide(subject);
  }
  if (!d.faulted()) return OkStatus();
  // The client's request waits out any delay; a drop reaches no replica.
  return faults::holdAndAnswer(d, storeError(is_read ? StoreError::kReadTimeout : StoreError::kWriteTimeout,
                                             "no replica answered (" + d.summary() + ")"));
}

Result<WriteOutcome> Cluster::write(const WriteRequest& request) {
  Impl& m = *impl_;
  const RequestContext& ctx = request.ctx;
  if (!request.partitions.empty())
    SANDBANK_RETURN_IF_ERROR(applyFaults(ctx, request.partitions.front().table.get(), "write", false));
  if (isSerial(ctx.consistency)) {
    return storeError(StoreError::kInvalidQuery, "SERIAL is not supported as conditional update commit consistency. Use ANY if you mean \"make sure it is accepted but I don't care how many replicas commit it for non-SERIAL reads\"");
  }
  std::shared_lock lock(m.mu);
  SANDBANK_ASSIGN_OR_RETURN(int coord, m.pickCoordinator(ctx, StoreError::kWriteTimeout));
  NodeRuntime& cn = *m.nodes[coord];
  const int64_t now = m.nowUs();
  const int64_t default_ts = ctx.timestamp_us ? *ctx.timestamp_us : m.clientTimestamp(ctx.client_id, now);

  struct Planned {
    const PartitionWrite* w;
    const std::vector<int>* replicas;
    std::string key_bytes;
    int64_t token;
  };
  thread_local std::vector<Planned> plan;
  plan.clear();
  // Availability first: a request the failure detector already knows cannot succeed
  // writes nothing anywhere.
  for (const PartitionWrite& w : request.partitions) {
    if (!w.table) return storeError(StoreError::kInvalidQuery, "write without a table");
    KeyspaceRuntime* ks = m.keyspaceOf(w.table->id);
    if (ks == nullptr) return storeError(StoreError::kInvalidQuery, "Table " + w.table->qualifiedName() + " does not exist");
    std::string key_bytes = serializePartitionKey(w.table->partition_key_types, w.key);
    const int64_t token = murmur3Token(key_bytes);
    const std::vector<int>& replicas = m.replicasOf(*ks, token);
    if (ctx.consistency != ConsistencyLevel::kAny) {
      int alive_count = 0;
      for (int r : replicas) alive_count += !m.nodes[r]->down.load(std::memory_order_relaxed);
      std::vector<int64_t> alive;
      int required = 0;
      bool enough = false;
      const bool simple = ctx.consistency == ConsistencyLevel::kOne || ctx.consistency == ConsistencyLevel::kQuorum ||
                          ctx.consistency == ConsistencyLevel::kAll;
      if (simple && alive_count == static_cast<int>(replicas.size()) && alive_count > 0) {
        enough = true;  // every replica up: these CLs are available
      } else {
        alive.resize(replicas.size());
        for (size_t i = 0; i < replicas.size(); ++i) alive[i] = m.nodes[replicas[i]]->down.load(std::memory_order_relaxed) ? kNever : 0;
        enough = m.satisfiedAt(ctx.consistency, replicas, alive, cn.dc, &required) != kNever;
      }
      if (!enough) {
        return storeError(StoreError::kUnavailable,
                          "Cannot achieve consistency level " + std::string(consistencyName(ctx.consistency)) +
                              " (required " + std::to_string(required) + ", alive " + std::to_string(alive_count) + ")");
      }
    }
    plan.push_back({&w, &replicas, std::move(key_bytes), token});
  }

  WriteOutcome out;
  out.acks = INT32_MAX;
  int64_t worst_latency = 0;
  for (const Planned& p : plan) {
    const PartitionWrite& w = *p.w;
    const std::vector<int>& replicas = *p.replicas;
    // A single-row mutation is built in a per-thread scratch update (no allocation once
    // warm); batches on one partition are normalized by buildUpdate.
    thread_local PartitionUpdate scratch;
    PartitionUpdate batch_update;
    const int64_t ts = w.timestamp_us.value_or(default_ts);
    if (w.rows.size() <= 1) {
      Impl::fillUpdate(w, ts, now, p.key_bytes, p.token, scratch);
    } else {
      batch_update = m.buildUpdate(w, ts, now, p.key_bytes, p.token);
    }
    const PartitionUpdate& u = w.rows.size() <= 1 ? scratch : batch_update;
    thread_local std::vector<int64_t> lat;
    thread_local std::vector<int64_t> response;  // per replica: kDown, kNever (isolated) or latency
    constexpr int64_t kDown = -1;
    lat.assign(replicas.size(), kNever);
    response.resize(replicas.size());
    bool any_applies = false;
    for (size_t i = 0; i < replicas.size(); ++i) {
      const NodeRuntime& r = *m.nodes[replicas[i]];
      response[i] = r.down.load(std::memory_order_relaxed) ? kDown : m.responseLatencyNs(r);
      any_applies = any_applies || (response[i] != kDown && response[i] != kNever);
    }
    // Every replica that receives the mutation applies it under one acquisition of the
    // partition's stripe lock (shared by all nodes), so the write is atomic per partition
    // on each replica and costs one lock, not one per replica.
    if (any_applies) {
      std::lock_guard stripe(m.stripes.forToken(p.token));
      for (size_t i = 0; i < replicas.size(); ++i) {
        if (response[i] != kDown && response[i] != kNever) m.nodes[replicas[i]]->store.applyLocked(w.table, u, now);
      }
    }
    int hints = 0;
    for (size_t i = 0; i < replicas.size(); ++i) {
      NodeRuntime& r = *m.nodes[replicas[i]];
      const int64_t l = response[i];
      if (l == kDown) {
        if (m.options.hinted_handoff && m.withinHintWindow(r, now)) {
          m.storeHint(cn, r, w.table, u, now, &ctx, "replica down");
          ++hints;
        }
        continue;
      }
      if (l == kNever) {
        // Isolated: the message is lost; the coordinator will time out and hint it.
        m.emit(flow::FlowKind::kReplicaWrite, cn.name, r.name, "MUTATION", *w.table, u.key, "Timeout",
               "no response (isolated)", &ctx, now, kNever);
        if (m.options.hinted_handoff) {
          m.storeHint(cn, r, w.table, u, now, &ctx, "write timed out");
          ++hints;
        }
        continue;
      }
      lat[i] = l <= m.options.write_timeout.count() ? l : kNever;
      if (m.flow_enabled) {
        m.emit(flow::FlowKind::kReplicaWrite, cn.name, r.name, "MUTATION", *w.table, u.key,
               lat[i] == kNever ? "Timeout" : "OK", "CL=" + std::string(consistencyName(ctx.consistency)), &ctx, now,
               l / 1000);
      }
    }
    int required = 0;
    int acks = static_cast<int>(std::count_if(lat.begin(), lat.end(), [](int64_t l) { return l != kNever; }));
    int64_t at = m.satisfiedAt(ctx.consistency, replicas, lat, cn.dc, &required);
    if (ctx.consistency == ConsistencyLevel::kAny && at == kNever && hints > 0) at = 0;
    out.hints_stored += hints;
    out.acks = std::min(out.acks, acks);
    out.required = std::max(out.required, required);
    if (at == kNever) {
      m.emit(flow::FlowKind::kStoreRequest, ctx.client_id.empty() ? "client" : ctx.client_id, cn.name,
             "WRITE", *w.table, u.key, "WriteTimeout", "", &ctx, now, 0);
      return storeError(StoreError::kWriteTimeout,
                        "Operation timed out - received only " + std::to_string(acks) + " responses from " +
                            std::to_string(required) + " required (CL=" + std::string(consistencyName(ctx.consistency)) +
                            ", write_type=" + (request.partitions.size() > 1 ? "BATCH" : "SIMPLE") + ")");
    }
    worst_latency = std::max(worst_latency, at);
    if (m.flow_enabled) m.emit(flow::FlowKind::kStoreRequest, ctx.client_id.empty() ? "client" : ctx.client_id, cn.name, "WRITE",
           *w.table, u.key, "OK",
           "CL=" + std::string(consistencyName(ctx.consistency)) + " acks " + std::to_string(acks) + "/" +
               std::to_string(replicas.size()),
           &ctx, now, at / 1000);
  }
  if (plan.empty()) out.acks = 0;
  out.simulated_latency = Duration(worst_latency);
  return out;
}

// ---------------------------------------------------------------- reads

Result<ReadOutcome> Cluster::read(const ReadRequest& request) {
  ReadOutcome out;
  SANDBANK_RETURN_IF_ERROR(read(request, &out));
  return out;
}

Status Cluster::read(const ReadRequest& request, ReadOutcome* dest) {
  Impl& m = *impl_;
  dest->replicas_contacted = 0;
  dest->replicas_repaired = 0;
  dest->simulated_latency = Duration(0);
  RowWriter rows(&dest->rows);
  const RequestContext& ctx = request.ctx;
  ConsistencyLevel cl = ctx.consistency;
  if (cl == ConsistencyLevel::kAny) return storeError(StoreError::kInvalidQuery, "ANY ConsistencyLevel is only supported for writes");
  if (cl == ConsistencyLevel::kEachQuorum) return storeError(StoreError::kInvalidQuery, "EACH_QUORUM ConsistencyLevel is only supported for writes");
  if (!request.table) return storeError(StoreError::kInvalidQuery, "read without a table");
  SANDBANK_RETURN_IF_ERROR(applyFaults(ctx, request.table.get(), "read", true));
  const TableSchema& t = *request.table;
  std::shared_lock lock(m.mu);
  KeyspaceRuntime* ks = m.keyspaceOf(t.id);
  if (ks == nullptr) return storeError(StoreError::kInvalidQuery, "Table " + t.qualifiedName() + " does not exist");
  SANDBANK_ASSIGN_OR_RETURN(int coord, m.pickCoordinator(ctx, StoreError::kReadTimeout));
  NodeRuntime& cn = *m.nodes[coord];
  const int64_t now = m.nowUs();
  std::string key_bytes = serializePartitionKey(t.partition_key_types, request.key);
  const int64_t token = murmur3Token(key_bytes);
  const std::vector<int>& replicas = m.replicasOf(*ks, token);

  // How many replicas to ask: the CL's block-for, counted on all replicas as if alive.
  int required = m.blockFor(cl, replicas, cn.dc);
  // Candidates known alive (isolated nodes look alive), in snitch order: the coordinator
  // itself, then the replicas with the lowest known latency, then ring order.
  // Scratch vectors are per thread so the hot path does not allocate.
  thread_local std::vector<int> candidates;
  candidates.clear();
  auto snitch = [&](int x) { return std::make_pair(m.nodes[x]->slow_ns.load(std::memory_order_relaxed), x != coord ? 1 : 0); };
  if (required == 1) {
    // One replica answers (ONE, LOCAL_ONE): pick the best live one in a single pass.
    int best = -1;
    size_t alive = 0;
    for (int r : replicas) {
      const NodeRuntime& n = *m.nodes[r];
      if (n.down.load(std::memory_order_relaxed)) continue;
      if (isLocal(cl) && n.dc != cn.dc) continue;
      ++alive;
      if (best < 0 || snitch(r) < snitch(best)) best = r;
    }
    if (best >= 0) candidates.push_back(best);
    if (alive == 0) {
      return storeError(StoreError::kUnavailable, "Cannot achieve consistency level " + std::string(consistencyName(cl)) +
                                                      " (required 1, alive 0)");
    }
  } else {
    for (int r : replicas) {
      const NodeRuntime& n = *m.nodes[r];
      if (n.down.load(std::memory_order_relaxed)) continue;
      if (isLocal(cl) && n.dc != cn.dc) continue;
      candidates.push_back(r);
    }
  }
  if (candidates.size() > 1) {
    // A stable insertion sort: replica sets are tiny and std::stable_sort would allocate.
    for (size_t i = 1; i < candidates.size(); ++i) {
      int v = candidates[i];
      size_t j = i;
      for (; j > 0 && snitch(v) < snitch(candidates[j - 1]); --j) candidates[j] = candidates[j - 1];
      candidates[j] = v;
    }
  }
  if (static_cast<int>(candidates.size()) < required || required > static_cast<int>(replicas.size())) {
    return storeError(StoreError::kUnavailable,
                      "Cannot achieve consistency level " + std::string(consistencyName(cl)) + " (required " +
                          std::to_string(required) + ", alive " + std::to_string(candidates.size()) + ")");
  }
  candidates.resize(required);

  ClusteringBound eq_bound;
  SliceBounds bounds;
  if (!request.clustering_eq.empty()) {
    eq_bound.prefix = request.clustering_eq;
    bounds.start = &eq_bound;
    bounds.end = &eq_bound;
  }
  if (request.start) bounds.start = &*request.start;
  if (request.end) bounds.end = &*request.end;

  thread_local std::vector<PartitionUpdate> slices;
  slices.clear();
  int answered = 0;
  int64_t slowest = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    NodeRuntime& r = *m.nodes[candidates[i]];
    int64_t l = m.responseLatencyNs(r);
    const char* what = i == 0 ? "data" : "digest";
    if (l == kNever || l > m.options.read_timeout.count()) {
      m.emit(flow::FlowKind::kReplicaRead, cn.name, r.name, "READ", t, request.key, "Timeout",
             std::string(what) + " request: no response in time", &ctx, now, l == kNever ? kNever : l / 1000);
      continue;
    }
    ++answered;
    slowest = std::max(slowest, l);
    if (candidates.size() == 1) {
      // One replica answers alone (CL ONE): no digest to compare, read straight out.
      dest->replicas_contacted = 1;
      dest->simulated_latency = Duration(l);
      r.store.readLive(request.table, key_bytes, request.key, token, bounds, now, request.limit, request.reversed,
                       &request.columns, rows);
      rows.finish();
      if (m.flow_enabled) {
        m.emit(flow::FlowKind::kReplicaRead, cn.name, r.name, "READ", t, request.key, "OK", what, &ctx, now, l / 1000);
        m.emit(flow::FlowKind::kStoreRequest, ctx.client_id.empty() ? "client" : ctx.client_id, cn.name, "READ", t,
               request.key, "OK", "CL=" + std::string(consistencyName(cl)) + " rows " + std::to_string(rows.size()),
               &ctx, now, l / 1000);
      }
      return OkStatus();
    }
    slices.push_back(r.store.read(request.table, key_bytes, request.key, token, bounds));
    if (m.flow_enabled) m.emit(flow::FlowKind::kReplicaRead, cn.name, r.name, "READ", t, request.key, "OK", what, &ctx, now, l / 1000);
  }
  if (answered < required) {
    m.emit(flow::FlowKind::kStoreRequest, ctx.client_id.empty() ? "client" : ctx.client_id, cn.name, "READ", t,
           request.key, "ReadTimeout", "", &ctx, now, 0);
    return storeError(StoreError::kReadTimeout,
                      "Operation timed out - received only " + std::to_string(answered) + " responses from " +
                          std::to_string(required) + " required (CL=" + std::string(consistencyName(cl)) + ")");
  }

  ReadOutcome& out = *dest;
  out.replicas_contacted = static_cast<int>(candidates.size());
  out.simulated_latency = Duration(slowest);
  const PartitionUpdate* result = &slices[0];
  PartitionUpdate merged;
  if (slices.size() > 1) {
    uint64_t d0 = digestOf(t, slices[0]);
    bool mismatch = false;
    for (size_t i = 1; i < slices.size() && !mismatch; ++i) mismatch = digestOf(t, slices[i]) != d0;
    if (mismatch) {
      // Blocking read repair: resolve by last-write-wins and write the result back to the
      // replicas that took part and disagree with it.
      merged = m.mergeAll(t, slices);
      uint64_t dm = digestOf(t, merged);
      for (size_t i = 0; i < slices.size(); ++i) {
        if (digestOf(t, slices[i]) == dm) continue;
        NodeRuntime& r = *m.nodes[candidates[i]];
        r.store.apply(request.table, merged, now);
        r.repairs.fetch_add(1, std::memory_order_relaxed);
        ++out.replicas_repaired;
        m.emit(flow::FlowKind::kRepair, cn.name, r.name, "READ_REPAIR", t, request.key, "OK",
               "digest mismatch", &ctx, now, m.responseLatencyNs(r) / 1000);
      }
      out.simulated_latency += Duration(2 * slowest);
      result = &merged;
    }
  }
  Impl::liveRows(t, *result, now, request.limit, request.reversed, &request.columns, rows);
  rows.finish();
  if (m.flow_enabled) m.emit(flow::FlowKind::kStoreRequest, ctx.client_id.empty() ? "client" : ctx.client_id, cn.name, "READ", t,
         request.key, "OK",
         "CL=" + std::string(consistencyName(cl)) + " rows " + std::to_string(rows.size()) +
             (out.replicas_repaired ? " repaired " + std::to_string(out.replicas_repaired) : ""),
         &ctx, now, out.simulated_latency.count() / 1000);
  return OkStatus();
}

// ---------------------------------------------------------------- LWT

Result<CasOutcome> Cluster::cas(const CasRequest& request) {
  Impl& m = *impl_;
  const RequestContext& ctx = request.ctx;
  const PartitionWrite& w = request.write;
  if (!w.table) return storeError(StoreError::kInvalidQuery, "conditional write without a table");
  SANDBANK_RETURN_IF_ERROR(applyFaults(ctx, w.table.get(), "cas", false));
  const TableSchema& t = *w.table;
  if (!isSerial(ctx.serial_consistency)) {
    return storeError(StoreError::kInvalidQuery, "Invalid consistency for conditional update: " +
                                                     std::string(consistencyName(ctx.serial_consistency)) +
                                                     ", must be one of SERIAL or LOCAL_SERIAL");
  }
  if (isSerial(ctx.consistency)) return storeError(StoreError::kInvalidQuery, "SERIAL is not supported as the commit consistency");
  if (w.rows.size() > 1) return storeError(StoreError::kInvalidQuery, "a conditional write may touch only one row");

  std::shared_lock lock(m.mu);
  KeyspaceRuntime* ks = m.keyspaceOf(t.id);
  if (ks == nullptr) return storeError(StoreError::kInvalidQuery, "Table " + t.qualifiedName() + " does not exist");
  SANDBANK_ASSIGN_OR_RETURN(int coord, m.pickCoordinator(ctx, StoreError::kWriteTimeout));
  NodeRuntime& cn = *m.nodes[coord];
  std::string key_bytes = serializePartitionKey(t.partition_key_types, w.key);
  const int64_t token = murmur3Token(key_bytes);
  const std::vector<int>& replicas = m.replicasOf(*ks, token);

  std::lock_guard paxos(m.paxos[(std::hash<std::string>{}(key_bytes) ^ t.id) % m.paxos.size()]);
  const int64_t now = m.nowUs();
  const bool local = ctx.serial_consistency == ConsistencyLevel::kLocalSerial;
  std::vector<int> participants;
  for (int r : replicas) {
    if (!local || m.nodes[r]->dc == cn.dc) participants.push_back(r);
  }
  const int quorum = static_cast<int>(participants.size()) / 2 + 1;
  std::vector<int> alive, responders;
  for (int r : participants) {
    if (m.nodes[r]->down.load()) continue;
    alive.push_back(r);
    int64_t l = m.responseLatencyNs(*m.nodes[r]);
    if (l != kNever && l <= m.options.write_timeout.count()) responders.push_back(r);
  }
  const std::string serial_name(consistencyName(ctx.serial_consistency));
  if (static_cast<int>(alive.size()) < quorum) {
    return storeError(StoreError::kUnavailable, "Cannot achieve consistency level " + serial_name + " (required " +
                                                    std::to_string(quorum) + ", alive " + std::to_string(alive.size()) + ")");
  }
  if (static_cast<int>(responders.size()) < quorum) {
    return storeError(StoreError::kWriteTimeout, "Operation timed out - received only " + std::to_string(responders.size()) +
                                                     " responses from " + std::to_string(quorum) +
                                                     " required (CL=" + serial_name + ", write_type=CAS)");
  }

  // Paxos prepare + read: learn the current state from a quorum and repair it.
  ClusteringBound row_bound;
  SliceBounds bounds;
  if (!w.rows.empty() && !t.clustering.empty()) {
    row_bound.prefix = w.rows[0].clustering;
    bounds.start = &row_bound;
    bounds.end = &row_bound;
  }
  std::vector<PartitionUpdate> slices;
  for (int r : responders) {
    slices.push_back(m.nodes[r]->store.read(w.table, key_bytes, w.key, token, bounds));
    m.emit(flow::FlowKind::kReplicaRead, cn.name, m.nodes[r]->name, "PAXOS_PREPARE", t, w.key, "OK",
           "CL=" + serial_name, &ctx, now, m.responseLatencyNs(*m.nodes[r]) / 1000);
  }
  PartitionUpdate current = m.mergeAll(t, slices);
  uint64_t dm = digestOf(t, current);
  for (size_t i = 0; i < slices.size(); ++i) {
    if (digestOf(t, slices[i]) == dm) continue;
    NodeRuntime& r = *m.nodes[responders[i]];
    r.store.apply(w.table, current, now);
    r.repairs.fetch_add(1, std::memory_order_relaxed);
    m.emit(flow::FlowKind::kRepair, cn.name, r.name, "PAXOS_REPAIR", t, w.key, "OK", "", &ctx, now, 0);
  }
  auto rows = Impl::liveRows(t, current, now, 1, false);
  CasOutcome out;
  if (!rows.empty()) out.current = rows[0];
  const CasCondition& c = request.condition;
  bool ok = true;
  if (c.if_not_exists) ok = rows.empty();
  if (c.if_exists) ok = ok && !rows.empty();
  for (const auto& [col, expected] : c.equals) {
    const Value actual = rows.empty() ? Value::null() : rows[0][col];
    if (compareValues(t.columns[col].type, actual, expected) != 0) ok = false;
  }
  if (!ok) {
    m.emit(flow::FlowKind::kStoreRequest, ctx.client_id.empty() ? "client" : ctx.client_id, cn.name, "CAS", t, w.key,
           "OK", "not applied", &ctx, now, 0);
    return out;
  }

  // Propose + commit with a ballot timestamp above anything the partition has seen.
  int64_t ts = std::max(m.clientTimestamp(ctx.client_id, now), Impl::maxTimestamp(current) + 1);
  PartitionUpdate u = m.buildUpdate(w, ts, now, key_bytes, token);
  std::vector<int64_t> lat(replicas.size(), kNever);
  for (size_t i = 0; i < replicas.size(); ++i) {
    NodeRuntime& r = *m.nodes[replicas[i]];
    if (r.down.load()) {
      if (m.options.hinted_handoff && m.withinHintWindow(r, now)) m.storeHint(cn, r, w.table, u, now, &ctx, "replica down");
      continue;
    }
    int64_t l = m.responseLatencyNs(r);
    if (l == kNever) {
      if (m.options.hinted_handoff) m.storeHint(cn, r, w.table, u, now, &ctx, "commit timed out");
      continue;
    }
    r.store.apply(w.table, u, now);
    lat[i] = l <= m.options.write_timeout.count() ? l : kNever;
    m.emit(flow::FlowKind::kReplicaWrite, cn.name, r.name, "PAXOS_COMMIT", t, w.key, "OK", "", &ctx, now, l / 1000);
  }
  int required = 0;
  if (m.satisfiedAt(ctx.consistency, replicas, lat, cn.dc, &required) == kNever &&
      !(ctx.consistency == ConsistencyLevel::kAny)) {
    return storeError(StoreError::kWriteTimeout, "Operation timed out - commit received fewer than " +
                                                     std::to_string(required) + " responses (CL=" +
                                                     std::string(consistencyName(ctx.consistency)) + ", write_type=CAS)");
  }
  out.applied = true;
  m.emit(flow::FlowKind::kStoreRequest, ctx.client_id.empty() ? "client" : ctx.client_id, cn.name, "CAS", t, w.key,
         "OK", "applied", &ctx, now, 0);
  return out;
}

// ---------------------------------------------------------------- faults

Status Cluster::nodeDown(NodeId id) {
  std::shared_lock lock(impl_->mu);
  NodeRuntime* n = impl_->node(id);
  if (!n) return NotFound("no store node " + std::to_string(id.value()));
  if (!n->down.exchange(true)) n->down_since_us.store(impl_->nowUs());
  return OkStatus();
}

Status Cluster::nodeUp(NodeId id) {
  std::shared_lock lock(impl_->mu);
  NodeRuntime* n = impl_->node(id);
  if (!n) return NotFound("no store node " + std::to_string(id.value()));
  n->down.store(false);
  impl_->replayHintsTo(*n);
  return OkStatus();
}

Status Cluster::setSlow(NodeId id, Duration added) {
  std::shared_lock lock(impl_->mu);
  NodeRuntime* n = impl_->node(id);
  if (!n) return NotFound("no store node " + std::to_string(id.value()));
  n->slow_ns.store(std::max<int64_t>(0, added.count()));
  return OkStatus();
}

Status Cluster::setIsolated(NodeId id, bool isolated) {
  std::shared_lock lock(impl_->mu);
  NodeRuntime* n = impl_->node(id);
  if (!n) return NotFound("no store node " + std::to_string(id.value()));
  n->isolated.store(isolated);
  return OkStatus();
}

void Cluster::setClientSkew(const std::string& client_id, Duration skew) {
  auto& s = impl_->client_clocks[std::hash<std::string>{}(client_id) % Impl::kClockStripes];
  std::lock_guard lock(s.mu);
  s.clocks[client_id].skew_us = std::chrono::duration_cast<std::chrono::microseconds>(skew).count();
  impl_->any_skew.store(true);
}

Result<NodeId> Cluster::addNode(const std::string& datacenter, bool stream) {
  std::unique_lock lock(impl_->mu);
  impl_->addNodeLocked(datacenter);
  NodeRuntime& fresh = *impl_->nodes.back();
  if (stream) {
    const int index = static_cast<int>(impl_->nodes.size()) - 1;
    int64_t now = impl_->nowUs();
    for (auto& [qn, t] : impl_->tables) {
      KeyspaceRuntime* ks = impl_->keyspaceOf(t->id);
      for (int i = 0; i < index; ++i) {
        impl_->nodes[i]->store.forEachPartition(t->id, [&, &t = t](const PartitionUpdate& u) {
          const auto& reps = impl_->replicasOf(*ks, u.token);
          if (std::find(reps.begin(), reps.end(), index) != reps.end()) fresh.store.apply(t, u, now);
        });
      }
    }
  }
  return fresh.id;
}

Result<int64_t> Cluster::rebuild(NodeId node) {
  std::unique_lock lock(impl_->mu);
  NodeRuntime* target = impl_->node(node);
  if (!target) return NotFound("no store node " + std::to_string(node.value()));
  const int index = node.value() - 1;
  const int64_t now = impl_->nowUs();
  int64_t streamed = 0;
  for (auto& [qn, t] : impl_->tables) {
    KeyspaceRuntime* ks = impl_->keyspaceOf(t->id);
    for (int i = 0; i < static_cast<int>(impl_->nodes.size()); ++i) {
      if (i == index) continue;
      impl_->nodes[i]->store.forEachPartition(t->id, [&, &t = t](const PartitionUpdate& u) {
        const auto& reps = impl_->replicasOf(*ks, u.token);
        if (std::find(reps.begin(), reps.end(), index) == reps.end()) return;
        target->store.apply(t, u, now);
        ++streamed;
      });
    }
  }
  return streamed;
}

Result<int64_t> Cluster::repair(const std::string& keyspace) {
  Impl& m = *impl_;
  std::shared_lock lock(m.mu);
  if (!keyspace.empty() && !m.keyspaces.count(keyspace)) {
    return storeError(StoreError::kInvalidQuery, "Keyspace " + keyspace + " does not exist");
  }
  int64_t fixed = 0;
  const int64_t now = m.nowUs();
  for (auto& [qn, t] : m.tables) {
    if (!keyspace.empty() && t->keyspace != keyspace) continue;
    KeyspaceRuntime* ks = m.keyspaceOf(t->id);
    // Every partition any node holds, by key bytes.
    std::map<std::string, PartitionUpdate> keys;
    for (auto& n : m.nodes) {
      if (n->down.load() || n->isolated.load()) continue;
      n->store.forEachPartition(t->id, [&, &t = t](const PartitionUpdate& u) {
        PartitionUpdate id;
        id.table_id = t->id;
        id.key = u.key;
        id.key_bytes = u.key_bytes;
        id.token = u.token;
        keys.try_emplace(u.key_bytes, std::move(id));
      });
    }
    for (auto& [kb, id] : keys) {
      std::vector<int> reps;
      for (int r : m.replicasOf(*ks, id.token)) {
        if (!m.nodes[r]->down.load() && !m.nodes[r]->isolated.load()) reps.push_back(r);
      }
      if (reps.size() < 2) continue;
      std::vector<PartitionUpdate> views;
      for (int r : reps) views.push_back(m.nodes[r]->store.read(t, kb, id.key, id.token, SliceBounds{}));
      PartitionUpdate merged = m.mergeAll(*t, views);
      uint64_t dm = digestOf(*t, merged);
      bool any = false;
      for (size_t i = 0; i < reps.size(); ++i) {
        if (digestOf(*t, views[i]) == dm) continue;
        NodeRuntime& r = *m.nodes[reps[i]];
        r.store.apply(t, merged, now);
        r.repairs.fetch_add(1, std::memory_order_relaxed);
        m.emit(flow::FlowKind::kRepair, "repair", r.name, "REPAIR", *t, id.key, "OK", "anti-entropy", nullptr, now, 0);
        any = true;
      }
      fixed += any;
    }
  }
  return fixed;
}

int64_t Cluster::deliverHints() {
  std::shared_lock lock(impl_->mu);
  int64_t n = 0;
  for (auto& node : impl_->nodes) n += impl_->replayHintsTo(*node);
  return n;
}

int64_t Cluster::compact() {
  std::shared_lock lock(impl_->mu);
  int64_t now = impl_->nowUs();
  int64_t purged = 0;
  for (auto& n : impl_->nodes) purged += n->store.compact(now);
  return purged;
}

// ---------------------------------------------------------------- inspection

std::vector<NodeInfo> Cluster::nodes() const {
  std::shared_lock lock(impl_->mu);
  std::vector<NodeInfo> out;
  for (auto& n : impl_->nodes) {
    NodeInfo i;
    i.id = n->id;
    i.name = n->name;
    i.datacenter = n->dc;
    i.state = n->down.load() ? NodeState::kDown : NodeState::kUp;
    i.isolated = n->isolated.load();
    i.added_latency = Duration(n->slow_ns.load());
    i.tokens = n->tokens;
    out.push_back(std::move(i));
  }
  return out;
}

std::vector<NodeStats> Cluster::nodeStats() const {
  std::shared_lock lock(impl_->mu);
  std::vector<NodeStats> out;
  for (auto& n : impl_->nodes) {
    NodeStats s;
    s.id = n->id;
    s.writes = n->store.commitLogEntries();
    s.reads = n->store.readsServed();
    {
      std::lock_guard hl(n->hints_mu);
      s.hints_stored = static_cast<int64_t>(n->hints.size());
    }
    s.hints_replayed = n->hints_replayed.load();
    s.repairs = n->repairs.load();
    s.commit_log_entries = n->store.commitLogEntries();
    s.partitions = n->store.partitionCount();
    out.push_back(s);
  }
  return out;
}

std::vector<HintInfo> Cluster::pendingHints() const {
  std::shared_lock lock(impl_->mu);
  std::vector<HintInfo> out;
  for (auto& n : impl_->nodes) {
    std::lock_guard hl(n->hints_mu);
    for (const Hint& h : n->hints) out.push_back(HintInfo{n->id, h.target, h.table->qualifiedName(), h.update.key, h.created_us});
  }
  return out;
}

Result<std::vector<ReplicaView>> Cluster::inspectPartition(const std::string& keyspace, const std::string& table,
                                                           const std::vector<Value>& key) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->tables.find(keyspace + "." + table);
  if (it == impl_->tables.end()) return storeError(StoreError::kInvalidQuery, "Table " + keyspace + "." + table + " does not exist");
  const auto& t = it->second;
  if (key.size() != t->partition_key.size()) {
    return storeError(StoreError::kInvalidQuery, "partition key of " + t->qualifiedName() + " has " +
                                                     std::to_string(t->partition_key.size()) + " components");
  }
  std::vector<Value> coerced;
  for (size_t i = 0; i < key.size(); ++i) {
    const ColumnDef& c = t->columns[t->partition_key[i]];
    SANDBANK_ASSIGN_OR_RETURN(Value v, coerceValue(key[i], c.type, c.name));
    coerced.push_back(std::move(v));
  }
  std::string kb = serializePartitionKey(t->partition_key_types, coerced);
  int64_t token = murmur3Token(kb);
  std::vector<ReplicaView> out;
  for (int r : impl_->replicasOf(*impl_->table_keyspace.at(t->id), token)) {
    NodeRuntime& n = *impl_->nodes[r];
    out.push_back(ReplicaView{n.id, !n.down.load(), n.store.read(t, kb, coerced, token, SliceBounds{})});
  }
  return out;
}

Result<std::vector<NodeId>> Cluster::replicasFor(const TableSchema& table, const std::vector<Value>& key) const {
  std::shared_lock lock(impl_->mu);
  auto ks = impl_->table_keyspace.find(table.id);
  if (ks == impl_->table_keyspace.end()) return storeError(StoreError::kInvalidQuery, "Table " + table.qualifiedName() + " does not exist");
  std::vector<NodeId> out;
  for (int r : impl_->replicasOf(*ks->second, murmur3Token(serializePartitionKey(table.partition_key_types, key)))) {
    out.push_back(impl_->nodes[r]->id);
  }
  return out;
}

std::vector<CommitLogEntry> Cluster::commitLog(NodeId node) const {
  std::shared_lock lock(impl_->mu);
  NodeRuntime* n = impl_->node(node);
  return n ? n->store.commitLog() : std::vector<CommitLogEntry>{};
}

}  // namespace sandbank::store
