// ReplicaStore: one node's memtable and commit log. Partitions live in per-table hash
// maps split into shards by token. A shard is guarded by the stripe lock of its token
// range, and every node of a cluster shares the same stripe locks, so a coordinator
// applies a mutation to all its replicas under one lock acquisition, while partitions in
// other stripes are written in parallel.
// Thread-safety: all methods are safe from any thread; the *Locked methods require the
// caller to hold stripeFor(token).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "sandbank/store/cluster.h"
#include "sandbank/store/partition.h"
#include "partition_index.h"
#include "replica_store_types.h"
#include "spin_mutex.h"

namespace sandbank::store {

// A slice of clustering keys in the table's clustering order. An empty optional bound
// is unbounded on that side.
struct SliceBounds {
  const ClusteringBound* start = nullptr;
  const ClusteringBound* end = nullptr;
};

// Result rows written in place: rows the vector already holds are overwritten, reusing
// their storage, so a caller that reads in a loop with one ReadOutcome allocates nothing
// once warm. finish() drops rows left over from an earlier, longer result.
class RowWriter {
 public:
  explicit RowWriter(std::vector<std::vector<Value>>* rows) : rows_(rows) {}
  // The next row to fill, sized to `columns` (contents unspecified until written).
  std::vector<Value>& next(size_t columns) {
    if (used_ == rows_->size()) rows_->emplace_back();
    std::vector<Value>& r = (*rows_)[used_];
    r.resize(columns);
    return r;
  }
  void commit() { ++used_; }
  size_t size() const { return used_; }
  void truncate(size_t n) { used_ = std::min(used_, n); }
  // Reverses the committed rows from index `from` on (a read against the clustering order).
  void reverse(size_t from) {
    std::reverse(rows_->begin() + static_cast<std::ptrdiff_t>(from), rows_->begin() + static_cast<std::ptrdiff_t>(used_));
  }
  void finish() { rows_->resize(used_); }

 private:
  std::vector<std::vector<Value>>* rows_;
  size_t used_ = 0;
};

inline void setNull(Value& v) {
  v.kind = Value::Kind::kNull;
  v.i = 0;
  v.s.clear();
}

// Writes the row as result values when it is live at `now_us` (a live row marker or at
// least one live cell): the columns `projection` lists (indices into t.columns), or all
// columns in schema order when it is null or empty. A dead row costs no copying.
inline void appendLiveRow(const TableSchema& t, const std::vector<Value>& key, const std::vector<Value>& clustering,
                          const RowMarker& marker, const std::vector<Cell>& cells, int64_t now_us,
                          const std::vector<int>* projection, RowWriter& out) {
  bool live = marker.liveAt(now_us);
  for (size_t i = 0; i < cells.size() && !live; ++i) live = cells[i].liveAt(now_us);
  if (!live) return;
  auto copy = [&](int column, Value& into) {
    const ColumnDef& d = t.columns[column];
    const size_t pos = static_cast<size_t>(d.position);
    switch (d.kind) {
      case ColumnKind::kPartitionKey:
        if (pos < key.size()) assignValue(into, key[pos]);
        else setNull(into);
        return;
      case ColumnKind::kClustering:
        if (pos < clustering.size()) assignValue(into, clustering[pos]);
        else setNull(into);
        return;
      case ColumnKind::kRegular:
        if (pos < cells.size() && cells[pos].liveAt(now_us)) assignValue(into, cells[pos].value);
        else setNull(into);
        return;
    }
  };
  if (projection == nullptr || projection->empty()) {
    std::vector<Value>& values = out.next(t.columns.size());
    for (size_t c = 0; c < t.columns.size(); ++c) copy(static_cast<int>(c), values[c]);
  } else {
    std::vector<Value>& values = out.next(projection->size());
    for (size_t j = 0; j < projection->size(); ++j) copy((*projection)[j], values[j]);
  }
  out.commit();
}

// Merges an update into a partition by last-write-wins, dropping data that a deletion
// shadows. Returns nothing: merging is total.
void mergeInto(const TableSchema& t, StoredPartition& p, const PartitionUpdate& u);
// Copies the rows within `bounds` (tombstones included) out of a partition.
PartitionUpdate sliceOf(const TableSchema& t, const StoredPartition& p, const std::string& key_bytes,
                        const SliceBounds& bounds);
// True when the partition holds nothing at all.
bool isEmpty(const StoredPartition& p);
// Drops tombstones and expired cells whose gc_grace has passed. Returns items purged.
int64_t purge(const TableSchema& t, StoredPartition& p, int64_t now_us);

// The locks of the token-range stripes, shared by every node's ReplicaStore in a cluster.
class StripeLocks {
 public:
  static constexpr size_t kStripes = 16;
  static size_t stripeOf(int64_t token) { return static_cast<uint64_t>(token) >> 60; }
  SpinMutex& forToken(int64_t token) { return locks_[stripeOf(token)].mu; }
  SpinMutex& at(size_t stripe) { return locks_[stripe].mu; }

 private:
  struct alignas(64) Padded {
    SpinMutex mu;
  };
  std::array<Padded, kStripes> locks_;
};

class ReplicaStore {
 public:
  static constexpr size_t kShards = StripeLocks::kStripes;
  static constexpr uint32_t kMaxTables = 4096;  // table ids are below this

  // `stripes` is shared with the cluster's other nodes and must outlive this store.
  ReplicaStore(size_t commit_log_retained, StripeLocks& stripes) : retained_(commit_log_retained), stripes_(stripes) {}

  // Appends to the commit log, then merges into the memtable.
  void apply(const std::shared_ptr<const TableSchema>& t, const PartitionUpdate& u, int64_t now_us);
  // The same, for a caller that holds stripeFor(u.token).
  void applyLocked(const std::shared_ptr<const TableSchema>& t, const PartitionUpdate& u, int64_t now_us);
  SpinMutex& stripeFor(int64_t token) { return stripes_.forToken(token); }
  PartitionUpdate read(const std::shared_ptr<const TableSchema>& t, const std::string& key_bytes,
                       const std::vector<Value>& key, int64_t token, const SliceBounds& bounds);
  // The live rows within `bounds`, straight from the memtable (no intermediate copy): the
  // fast path for reads answered by a single replica.
  void readLive(const std::shared_ptr<const TableSchema>& t, const std::string& key_bytes,
                const std::vector<Value>& key, int64_t token, const SliceBounds& bounds, int64_t now_us,
                int64_t limit, bool reversed, const std::vector<int>* projection, RowWriter& out);
  void truncate(uint32_t table_id);
  int64_t compact(int64_t now_us);
  // Calls `fn` with a copy of every partition of the table (whole partitions).
  void forEachPartition(uint32_t table_id, const std::function<void(const PartitionUpdate&)>& fn);
  std::shared_ptr<const TableSchema> schemaOf(uint32_t table_id);
  int64_t partitionCount();
  std::vector<CommitLogEntry> commitLog();
  int64_t commitLogEntries();
  int64_t readsServed();

 private:
  // All fields are guarded by the stripe lock of the shard's token range.
  struct alignas(64) Shard {
    PartitionIndex partitions;  // partitions by (token, key bytes)
    // The last `retained_` entries as a ring (allocated on first append),
    // so an append writes one slot in place instead of allocating.
    std::vector<CommitLogEntry> log;
    size_t log_next = 0;
    int64_t appended = 0;
    int64_t reads = 0;
  };
  struct TableStore {
    std::shared_ptr<const TableSchema> schema;
    std::array<Shard, kShards> shards;
  };
  TableStore* find(uint32_t table_id) {
    return table_id < kMaxTables ? tables_[table_id].load(std::memory_order_acquire) : nullptr;
  }
  TableStore* findOrCreate(const std::shared_ptr<const TableSchema>& t) {
    if (TableStore* ts = find(t->id)) return ts;
    return create(t);
  }
  TableStore* create(const std::shared_ptr<const TableSchema>& t);
  std::vector<TableStore*> allTables();
  static size_t shardOf(int64_t token) { return StripeLocks::stripeOf(token); }

  const size_t retained_;
  StripeLocks& stripes_;
  // Tables by id, readable without a lock; created under create_mu_ and never removed.
  std::array<std::atomic<TableStore*>, kMaxTables> tables_{};
  std::mutex create_mu_;
  std::vector<std::unique_ptr<TableStore>> owned_;  // guarded by create_mu_
};

}  // namespace sandbank::store
