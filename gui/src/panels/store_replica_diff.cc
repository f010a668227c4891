// diffReplicas: the per-replica comparison of one partition.
#include "store_replica_diff.h"

#include <algorithm>
#include <map>
#include <set>

namespace sandbank::gui {
namespace {

// What two replicas are compared on: presence, deletion and value (not write time).
std::string signature(const ReplicaDiffCell& c) {
  if (!c.present) return "\x01missing";
  if (c.tombstone) return "\x01tombstone";
  return "=" + c.text;
}

// Marks the cells that differ from the most common signature; all when no signature is
// held by more than the others (two replicas that disagree, or three that all differ).
void markLine(ReplicaDiffLine& line) {
  std::map<std::string, int> counts;
  for (const auto& c : line.cells) ++counts[signature(c)];
  if (counts.size() <= 1) return;
  line.diverges = true;
  int best = 0, ties = 0;
  std::string majority;
  for (const auto& [sig, n] : counts) {
    if (n > best) {
      best = n;
      majority = sig;
      ties = 1;
    } else if (n == best) {
      ++ties;
    }
  }
  for (auto& c : line.cells) c.diverges = ties > 1 || signature(c) != majority;
}

const ReplicaRowData* findRow(const ReplicaData& r, const std::string& clustering) {
  for (const auto& row : r.rows)
    if (row.clustering == clustering) return &row;
  return nullptr;
}

const ReplicaCellData* findCell(const ReplicaRowData& row, const std::string& column) {
  for (const auto& c : row.cells)
    if (c.column == column) return &c;
  return nullptr;
}

}  // namespace

ReplicaDiff diffReplicas(std::vector<ReplicaData> replicas) {
  ReplicaDiff out;
  out.replicas = std::move(replicas);
  const auto& reps = out.replicas;

  bool any_partition_deletion = false;
  for (const auto& r : reps) any_partition_deletion |= r.partition_deletion_time_us != 0;
  if (any_partition_deletion) {
    ReplicaDiffLine line;
    line.kind = DiffLineKind::kPartition;
    for (const auto& r : reps) {
      ReplicaDiffCell c;
      c.present = r.partition_deletion_time_us != 0;
      c.tombstone = c.present;
      c.write_time_us = r.partition_deletion_time_us;
      c.text = c.present ? "partition deleted" : "(no partition deletion)";
      line.cells.push_back(c);
    }
    // A replica without the deletion is "missing" it: the majority rule applies as usual.
    markLine(line);
    out.lines.push_back(std::move(line));
  }

  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const auto& r : reps)
    for (const auto& row : r.rows)
      if (seen.insert(row.clustering).second) keys.push_back(row.clustering);

  for (const auto& key : keys) {
    ReplicaDiffLine row_line;
    row_line.kind = DiffLineKind::kRow;
    row_line.clustering = key;
    std::vector<std::string> columns;
    std::set<std::string> seen_columns;
    for (const auto& r : reps) {
      const ReplicaRowData* row = findRow(r, key);
      ReplicaDiffCell c;
      c.present = row != nullptr;
      if (row == nullptr) {
        c.text = "(missing)";
      } else if (row->deletion_time_us != 0) {
        c.tombstone = true;
        c.write_time_us = row->deletion_time_us;
        c.text = "row deleted";
      } else {
        c.write_time_us = row->marker_time_us;
        c.text = "row";
      }
      row_line.cells.push_back(c);
      if (row != nullptr)
        for (const auto& cell : row->cells)
          if (seen_columns.insert(cell.column).second) columns.push_back(cell.column);
    }
    markLine(row_line);
    out.lines.push_back(std::move(row_line));

    for (const auto& column : columns) {
      ReplicaDiffLine line;
      line.kind = DiffLineKind::kCell;
      line.clustering = key;
      line.column = column;
      for (const auto& r : reps) {
        const ReplicaRowData* row = findRow(r, key);
        const ReplicaCellData* cell = row ? findCell(*row, column) : nullptr;
        ReplicaDiffCell c;
        c.present = cell != nullptr;
        if (cell == nullptr) {
          c.text = "(missing)";
        } else {
          c.tombstone = cell->tombstone;
          c.write_time_us = cell->write_time_us;
          c.text = cell->tombstone ? "deleted" : cell->value;
          if (!cell->tombstone && cell->ttl_seconds > 0) c.text += " (ttl " + std::to_string(cell->ttl_seconds) + "s)";
        }
        line.cells.push_back(c);
      }
      markLine(line);
      out.lines.push_back(std::move(line));
    }
  }

  for (const auto& l : out.lines) {
    out.divergent_lines += l.diverges;
    for (const auto& c : l.cells) out.tombstones += c.tombstone;
  }
  return out;
}

}  // namespace sandbank::gui
