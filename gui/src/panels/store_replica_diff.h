// The store panel's replica comparison, free of Qt: one partition as each replica holds
// it, lined up row by row and cell by cell, with every place where the replicas disagree
// marked - a row or cell one replica lacks, a value that differs, a tombstone that only
// some replicas hold. Tombstones are always flagged, so a deletion is visible even where
// every replica agrees on it.
// Thread-safety: pure functions over plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sandbank::gui {

// What one replica holds (a copy of store.ReplicaPartition, values already as text).
struct ReplicaCellData {
  std::string column;
  std::string value;  // as displayed; empty for a tombstone
  int64_t write_time_us = 0;
  int32_t ttl_seconds = 0;
  bool tombstone = false;
};

struct ReplicaRowData {
  std::string clustering;  // the clustering key as displayed ("" for a table without one)
  int64_t marker_time_us = 0;
  int64_t deletion_time_us = 0;  // 0: no row tombstone
  std::vector<ReplicaCellData> cells;
};

struct ReplicaData {
  int node = 0;
  std::string name;  // "n1"; the node number when empty
  bool up = true;
  int64_t partition_deletion_time_us = 0;
  std::vector<ReplicaRowData> rows;
};

// One cell of the comparison: what one replica has at one (row, column).
struct ReplicaDiffCell {
  bool present = false;    // the replica has the row (for a row line) or the cell
  bool tombstone = false;  // a deletion: row tombstone, cell tombstone or partition deletion
  bool diverges = false;   // differs from what most replicas have here
  std::string text;        // what to show: the value, "deleted", "(missing)", ...
  int64_t write_time_us = 0;
};

enum class DiffLineKind {
  kPartition,  // the partition-level deletion
  kRow,        // a row: present, missing or deleted
  kCell,       // one regular column of a row
};

struct ReplicaDiffLine {
  DiffLineKind kind = DiffLineKind::kCell;
  std::string clustering;  // the row this line belongs to
  std::string column;      // the cell's column (kCell only)
  bool diverges = false;   // replicas disagree on this line
  std::vector<ReplicaDiffCell> cells;  // one per replica, in ReplicaDiff::replicas order
};

struct ReplicaDiff {
  std::vector<ReplicaData> replicas;  // the input, for the column headers
  std::vector<ReplicaDiffLine> lines;
  int divergent_lines = 0;
  int tombstones = 0;  // cells flagged as tombstones
  bool agrees() const { return divergent_lines == 0; }
};

// Lines up the replicas: a partition line when any replica holds a partition deletion,
// then for each clustering key (in the order the replicas list them, first replica first)
// a row line and one line per column any replica holds for that row. Two replicas agree
// on a cell when both lack it, or both hold the same value (or both a tombstone); write
// times are shown but do not count as a divergence. In a divergent line, the cells that
// differ from the majority are marked (all of them when there is no majority).
ReplicaDiff diffReplicas(std::vector<ReplicaData> replicas);

}  // namespace sandbank::gui
