// ReplicaStore: one node's memtable and commit log. Partitions live in per-table hash
// maps split into shards by token, each shard behind its own mutex, so replicas of
// different partitions are written in parallel.
// Thread-safety: all methods are safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <deque>
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

namespace sandbank::store {

// A slice of clustering keys in the table's clustering order. An empty optional bound
// is unbounded on that side.
struct SliceBounds {
  const ClusteringBound* start = nullptr;
  const ClusteringBound* end = nullptr;
};

// Appends the row as result values (all columns, schema order) when it is live at
// `now_us`: a live row marker or at least one live cell.
inline void appendLiveRow(const TableSchema& t, const std::vector<Value>& key, const std::vector<Value>& clustering,
                          const RowMarker& marker, const std::vector<Cell>& cells, int64_t now_us,
                          std::vector<std::vector<Value>>* out) {
  bool live = marker.liveAt(now_us);
  std::vector<Value> values(t.columns.size());
  for (size_t i = 0; i < t.partition_key.size() && i < key.size(); ++i) values[t.partition_key[i]] = key[i];
  for (size_t i = 0; i < t.clustering.size() && i < clustering.size(); ++i) values[t.clustering[i]] = clustering[i];
  for (size_t i = 0; i < t.regular.size() && i < cells.size(); ++i) {
    if (cells[i].liveAt(now_us)) {
      live = true;
      values[t.regular[i]] = cells[i].value;
    }
  }
  if (live) out->push_back(std::move(values));
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

class ReplicaStore {
 public:
  static constexpr size_t kShards = 16;
  static constexpr uint32_t kMaxTables = 4096;  // table ids are below this

  explicit ReplicaStore(size_t commit_log_retained) : retained_(commit_log_retained) {}

  // Appends to the commit log, then merges into the memtable.
  void apply(const std::shared_ptr<const TableSchema>& t, const PartitionUpdate& u, int64_t now_us);
  PartitionUpdate read(const std::shared_ptr<const TableSchema>& t, const std::string& key_bytes,
                       const std::vector<Value>& key, int64_t token, const SliceBounds& bounds);
  // The live rows within `bounds`, straight from the memtable (no intermediate copy): the
  // fast path for reads answered by a single replica.
  std::vector<std::vector<Value>> readLive(const std::shared_ptr<const TableSchema>& t, const std::string& key_bytes,
                                           const std::vector<Value>& key, int64_t token, const SliceBounds& bounds,
                                           int64_t now_us, int64_t limit, bool reversed);
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
  struct alignas(64) Shard {
    std::mutex mu;
    PartitionIndex partitions;  // guarded by mu: partitions by (token, key bytes)
    std::deque<CommitLogEntry> log;                                                // guarded by mu
    int64_t appended = 0;                                                          // guarded by mu
    int64_t reads = 0;                                                             // guarded by mu
  };
  struct TableStore {
    std::shared_ptr<const TableSchema> schema;
    std::array<Shard, kShards> shards;
  };
  TableStore* find(uint32_t table_id);
  TableStore* findOrCreate(const std::shared_ptr<const TableSchema>& t);
  std::vector<TableStore*> allTables();
  static size_t shardOf(int64_t token) { return static_cast<uint64_t>(token) >> 60; }

  const size_t retained_;
  // Tables by id, readable without a lock; created under create_mu_ and never removed.
  std::array<std::atomic<TableStore*>, kMaxTables> tables_{};
  std::mutex create_mu_;
  std::vector<std::unique_ptr<TableStore>> owned_;  // guarded by create_mu_
};

}  // namespace sandbank::store
