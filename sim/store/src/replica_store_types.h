// The memtable's stored forms of rows and partitions (as opposed to PartitionUpdate, the
// form that travels between coordinator and replicas).
// Thread-safety: plain data; guarded by the owning memtable shard's mutex.
#pragma once

#include <map>
#include <vector>

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
  // Tables with clustering columns keep rows ordered here...
  std::map<std::vector<Value>, StoredRow, ClusteringLess> rows;
  // ...tables without them have at most one row, kept inline (no tree node to chase).
  StoredRow solo;
  bool has_solo = false;
};

}  // namespace sandbank::store
