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

namespace sandbank::store {

struct ClusteringLess {
  const TableSchema* table;
  bool operator()(const std::vector<Value>& a, const std::vector<Value>& b) const {
    return compareClustering(*table, a, b) < 0;
  }
};

struct StoredRow {
  RowMarker marker;
  Deletion deletion;
  std::vector<Cell> cells;
};

struct StoredPartition {
  explicit StoredPartition(const TableSchema* t) : rows(ClusteringLess{t}) {}
  std::vector<Value> key;
  int64_t token = 0;
  Deletion deletion;
  std::map<std::vector<Value>, StoredRow, ClusteringLess> rows;
};

// A slice of clustering keys in the table's clustering order. An empty optional bound
// is unbounded on that side.
struct SliceBounds {
  const ClusteringBound* start = nullptr;
  const ClusteringBound* end = nullptr;
};

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

  explicit ReplicaStore(size_t commit_log_retained) : retained_(commit_log_retained) {}

  // Appends to the commit log, then merges into the memtable.
  void apply(const std::shared_ptr<const TableSchema>& t, const PartitionUpdate& u, int64_t now_us);
  PartitionUpdate read(const std::shared_ptr<const TableSchema>& t, const std::string& key_bytes,
                       const std::vector<Value>& key, int64_t token, const SliceBounds& bounds);
  void truncate(uint32_t table_id);
  int64_t compact(int64_t now_us);
  // Calls `fn` with a copy of every partition of the table (whole partitions).
  void forEachPartition(uint32_t table_id, const std::function<void(const PartitionUpdate&)>& fn);
  std::shared_ptr<const TableSchema> schemaOf(uint32_t table_id);
  int64_t partitionCount();
  std::vector<CommitLogEntry> commitLog();
  int64_t commitLogEntries() const { return log_position_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, StoredPartition> partitions;  // guarded by mu
    std::deque<CommitLogEntry> log;                                // guarded by mu
  };
  struct TableStore {
    std::shared_ptr<const TableSchema> schema;
    std::array<Shard, kShards> shards;
  };
  TableStore* find(uint32_t table_id);
  TableStore* findOrCreate(const std::shared_ptr<const TableSchema>& t);
  static size_t shardOf(int64_t token) { return static_cast<uint64_t>(token) >> 60; }

  const size_t retained_;
  std::atomic<int64_t> log_position_{0};
  std::shared_mutex tables_mu_;
  std::unordered_map<uint32_t, std::unique_ptr<TableStore>> tables_;  // guarded by tables_mu_
};

}  // namespace sandbank::store
