// The memtable's stored forms of rows and partitions (as opposed to PartitionUpdate, the
// form that travels between coordinator and replicas).
// Thread-safety: plain data; guarded by the owning memtable shard's mutex.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sandbank/store/partition.h"

namespace sandbank::store {

// Copies a value into `into`, reusing its string storage; leaves the bytes alone when
// they are already equal (rewriting an unchanged column is common).
inline void assignValue(Value& into, const Value& from) {
  into.kind = from.kind;
  into.i = from.i;
  if (into.s.size() == from.s.size() && std::char_traits<char>::compare(into.s.data(), from.s.data(), from.s.size()) == 0) {
    return;
  }
  into.s = from.s;
}

inline void assignCell(Cell& into, const Cell& from) {
  into.ts = from.ts;
  into.local_time_us = from.local_time_us;
  into.ttl_seconds = from.ttl_seconds;
  into.tombstone = from.tombstone;
  assignValue(into.value, from.value);
}

// Copies a vector of values element by element, reusing the storage already there.
inline void assignValues(std::vector<Value>& into, const std::vector<Value>& from) {
  into.resize(from.size());
  for (size_t i = 0; i < from.size(); ++i) assignValue(into[i], from[i]);
}

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
  std::vector<RangeTombstone> ranges;  // kept until gc_grace, like other tombstones
  // Tables with clustering columns keep rows ordered here...
  std::map<std::vector<Value>, StoredRow, ClusteringLess> rows;
  // ...tables without them have at most one row, kept inline (no tree node to chase).
  StoredRow solo;
  bool has_solo = false;
};

}  // namespace sandbank::store
