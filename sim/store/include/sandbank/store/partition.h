// The cell-level data model shared by replicas, the coordinator, hints and repair:
// cells with a write timestamp and optional TTL, tombstones, rows and partition updates.
// A PartitionUpdate is both a mutation and a replica's answer to a read, because merging
// by last-write-wins is the same operation in both cases.
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sandbank/store/schema.h"
#include "sandbank/store/value.h"

namespace sandbank::store {

constexpr int64_t kNoTimestamp = std::numeric_limits<int64_t>::min();

// A regular column's cell. Absent when ts == kNoTimestamp.
struct Cell {
  int64_t ts = kNoTimestamp;     // write timestamp, microseconds
  int64_t local_time_us = 0;     // tombstone: when deleted; live with TTL: when it expires
  int32_t ttl_seconds = 0;       // 0: no TTL
  bool tombstone = false;
  Value value;

  bool present() const { return ts != kNoTimestamp; }
  bool liveAt(int64_t now_us) const {
    return present() && !tombstone && (ttl_seconds == 0 || now_us < local_time_us);
  }
};

// A deletion (row or partition): shadows everything written at or before `ts`.
struct Deletion {
  int64_t ts = kNoTimestamp;
  int64_t local_time_us = 0;
  bool present() const { return ts != kNoTimestamp; }
};

// INSERT's row marker: keeps a row alive even when all its regular cells are null.
struct RowMarker {
  int64_t ts = kNoTimestamp;
  int64_t expires_us = 0;  // 0: never
  int32_t ttl_seconds = 0;
  bool present() const { return ts != kNoTimestamp; }
  bool liveAt(int64_t now_us) const { return present() && (expires_us == 0 || now_us < expires_us); }
};

// A range tombstone: deletes every row whose clustering key lies between `start` and
// `end` (clustering prefixes in the table's clustering order; an empty inclusive prefix is
// unbounded), shadowing data written at or before `deletion.ts`.
struct RangeTombstone {
  std::vector<Value> start;
  bool start_inclusive = true;
  std::vector<Value> end;
  bool end_inclusive = true;
  Deletion deletion;
};

struct RowData {
  std::vector<Value> clustering;
  RowMarker marker;
  Deletion deletion;
  std::vector<Cell> cells;  // one per regular column (TableSchema::regular order)
};

struct PartitionUpdate {
  uint32_t table_id = 0;
  std::vector<Value> key;  // partition key values
  std::string key_bytes;   // serialized partition key (what Murmur3 hashes)
  int64_t token = 0;
  Deletion deletion;
  std::vector<RangeTombstone> ranges;  // range deletions within the partition
  std::vector<RowData> rows;  // in clustering order

  bool empty() const { return !deletion.present() && rows.empty() && ranges.empty(); }
};

// Last-write-wins for one cell: true when `incoming` beats `existing`. Higher timestamp
// wins; on a tie a tombstone beats a live cell, then the larger value wins (then the later
// expiry).
bool cellWins(const Cell& incoming, const Cell& existing, ColumnType type);

// Compares two clustering keys (or prefixes: a shorter prefix sorts before its
// extensions) using the table's clustering orders.
int compareClustering(const TableSchema& t, const std::vector<Value>& a, const std::vector<Value>& b);

// A 64-bit digest of everything a replica holds for a slice (timestamps included), used
// to detect replicas that disagree.
uint64_t digestOf(const TableSchema& t, const PartitionUpdate& p);

}  // namespace sandbank::store
