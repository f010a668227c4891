// ReplicaStore and the merge/slice/purge rules of a replica's memtable.
// Thread-safety: see replica_store.h; shard state is touched only under its stripe lock.
#include "replica_store.h"

#include <algorithm>

namespace sandbank::store {
namespace {

bool deletionBeats(const Deletion& a, const Deletion& b) {
  if (!a.present()) return false;
  if (!b.present()) return true;
  if (a.ts != b.ts) return a.ts > b.ts;
  return a.local_time_us > b.local_time_us;
}

bool markerBeats(const RowMarker& a, const RowMarker& b) {
  if (!a.present()) return false;
  if (!b.present()) return true;
  if (a.ts != b.ts) return a.ts > b.ts;
  auto exp = [](const RowMarker& m) { return m.expires_us == 0 ? INT64_MAX : m.expires_us; };
  return exp(a) > exp(b);
}

bool rowEmpty(const StoredRow& r) {
  if (r.marker.present() || r.deletion.present()) return false;
  for (const Cell& c : r.cells) {
    if (c.present()) return false;
  }
  return true;
}

// Removes from `r` whatever a deletion at `shadow_ts` covers.
void shadow(StoredRow& r, int64_t shadow_ts) {
  if (shadow_ts == kNoTimestamp) return;
  if (r.marker.present() && r.marker.ts <= shadow_ts) r.marker = RowMarker{};
  for (Cell& c : r.cells) {
    if (c.present() && c.ts <= shadow_ts) c = Cell{};
  }
}

// Compares the first bound.size() clustering values of a row with a bound prefix.
int comparePrefix(const TableSchema& t, const std::vector<Value>& row, const std::vector<Value>& bound) {
  size_t n = std::min(row.size(), bound.size());
  for (size_t i = 0; i < n; ++i) {
    const ColumnDef& col = t.columns[t.clustering[i]];
    int c = compareValues(col.type, row[i], bound[i]);
    if (c != 0) return col.order == ClusteringOrder::kDesc ? -c : c;
  }
  return 0;
}

bool afterStart(const TableSchema& t, const std::vector<Value>& row, const ClusteringBound* b) {
  if (b == nullptr) return true;
  int c = comparePrefix(t, row, b->prefix);
  return b->inclusive ? c >= 0 : c > 0;
}

bool beforeEnd(const TableSchema& t, const std::vector<Value>& row, const ClusteringBound* b) {
  if (b == nullptr) return true;
  int c = comparePrefix(t, row, b->prefix);
  return b->inclusive ? c <= 0 : c < 0;
}

size_t approxBytes(const PartitionUpdate& u) {
  size_t n = u.key_bytes.size() + 16 + 32 * u.ranges.size();
  for (const RowData& r : u.rows) {
    n += 24;
    for (const Cell& c : r.cells) n += c.present() ? 24 + c.value.s.size() : 0;
  }
  return n;
}

}  // namespace

namespace {

bool covers(const TableSchema& t, const RangeTombstone& rt, const std::vector<Value>& clustering) {
  int c = comparePrefix(t, clustering, rt.start);
  if (rt.start_inclusive ? c < 0 : c <= 0) return false;
  c = comparePrefix(t, clustering, rt.end);
  return rt.end_inclusive ? c <= 0 : c < 0;
}

// The newest range deletion covering a clustering key, or kNoTimestamp.
int64_t rangeShadow(const TableSchema& t, const StoredPartition& p, const std::vector<Value>& clustering) {
  int64_t ts = kNoTimestamp;
  for (const RangeTombstone& rt : p.ranges) {
    if (rt.deletion.ts > ts && covers(t, rt, clustering)) ts = rt.deletion.ts;
  }
  return ts;
}

bool sameBounds(const RangeTombstone& a, const RangeTombstone& b) {
  return a.start == b.start && a.end == b.end && a.start_inclusive == b.start_inclusive &&
         a.end_inclusive == b.end_inclusive;
}

// Merges one incoming row into a stored row; returns false when the row ends up empty.
// `range_ts` is the newest range deletion covering the row.
bool mergeRow(const TableSchema& t, const StoredPartition& p, StoredRow& r, const RowData& ur, int64_t range_ts) {
  const size_t ncells = t.regular.size();
  if (r.cells.size() != ncells) r.cells.resize(ncells);
  if (deletionBeats(ur.deletion, r.deletion)) r.deletion = ur.deletion;
  int64_t shadow_ts = std::max({p.deletion.ts, r.deletion.ts, range_ts});
  if (markerBeats(ur.marker, r.marker) && ur.marker.ts > shadow_ts) r.marker = ur.marker;
  for (size_t i = 0; i < ur.cells.size() && i < ncells; ++i) {
    const Cell& in = ur.cells[i];
    if (!in.present() || in.ts <= shadow_ts) continue;
    Cell& have = r.cells[i];
    // Distinct timestamps decide alone; only a tie needs the full rule.
    const bool wins = !have.present() || in.ts > have.ts ||
                      (in.ts == have.ts && cellWins(in, have, t.columns[t.regular[i]].type));
    if (wins) assignCell(have, in);
  }
  shadow(r, shadow_ts);
  // A row deletion that a partition deletion covers is redundant.
  if (r.deletion.present() && p.deletion.present() && r.deletion.ts <= p.deletion.ts) r.deletion = Deletion{};
  return !rowEmpty(r);
}

}  // namespace

void mergeInto(const TableSchema& t, StoredPartition& p, const PartitionUpdate& u) {
  if (deletionBeats(u.deletion, p.deletion)) {
    p.deletion = u.deletion;
    auto drop = [&](StoredRow& r) {
      shadow(r, p.deletion.ts);
      if (r.deletion.ts <= p.deletion.ts) r.deletion = Deletion{};
      return rowEmpty(r);
    };
    for (auto it = p.rows.begin(); it != p.rows.end();) it = drop(it->second) ? p.rows.erase(it) : std::next(it);
    if (p.has_solo && drop(p.solo)) {
      p.solo = StoredRow{};
      p.has_solo = false;
    }
  }
  if (!p.ranges.empty() && p.deletion.present()) {
    std::erase_if(p.ranges, [&](const RangeTombstone& rt) { return rt.deletion.ts <= p.deletion.ts; });
  }
  for (const RangeTombstone& in : u.ranges) {
    if (in.deletion.ts <= p.deletion.ts) continue;
    auto same = std::find_if(p.ranges.begin(), p.ranges.end(), [&](const RangeTombstone& rt) { return sameBounds(rt, in); });
    if (same == p.ranges.end()) {
      p.ranges.push_back(in);
    } else if (deletionBeats(in.deletion, same->deletion)) {
      same->deletion = in.deletion;
    } else {
      continue;
    }
    // Drop what the range now shadows.
    auto it = p.rows.begin();
    if (!in.start.empty()) it = p.rows.lower_bound(in.start);
    while (it != p.rows.end()) {
      if (!covers(t, in, it->first)) {
        if (comparePrefix(t, it->first, in.end) > 0) break;  // past the end
        ++it;
        continue;
      }
      shadow(it->second, in.deletion.ts);
      if (it->second.deletion.ts <= in.deletion.ts) it->second.deletion = Deletion{};
      it = rowEmpty(it->second) ? p.rows.erase(it) : std::next(it);
    }
  }
  if (t.clustering.empty()) {
    for (const RowData& ur : u.rows) {
      p.has_solo = mergeRow(t, p, p.solo, ur, kNoTimestamp);
      if (!p.has_solo) p.solo = StoredRow{};
    }
    return;
  }
  for (const RowData& ur : u.rows) {
    auto [it, inserted] = p.rows.try_emplace(ur.clustering);
    const int64_t range_ts = p.ranges.empty() ? kNoTimestamp : rangeShadow(t, p, ur.clustering);
    if (!mergeRow(t, p, it->second, ur, range_ts)) p.rows.erase(it);
  }
}

PartitionUpdate sliceOf(const TableSchema& t, const StoredPartition& p, const std::string& key_bytes,
                        const SliceBounds& bounds) {
  PartitionUpdate out;
  out.table_id = t.id;
  out.key = p.key;
  out.key_bytes = key_bytes;
  out.token = p.token;
  out.deletion = p.deletion;
  out.ranges = p.ranges;  // all of them: a replica that lacks one then digests differently
  if (p.has_solo) {
    RowData rd;
    rd.marker = p.solo.marker;
    rd.deletion = p.solo.deletion;
    rd.cells = p.solo.cells;
    out.rows.push_back(std::move(rd));
    return out;
  }
  auto it = bounds.start ? p.rows.lower_bound(bounds.start->prefix) : p.rows.begin();
  for (; it != p.rows.end(); ++it) {
    if (!afterStart(t, it->first, bounds.start)) continue;
    if (!beforeEnd(t, it->first, bounds.end)) break;
    RowData rd;
    rd.clustering = it->first;
    rd.marker = it->second.marker;
    rd.deletion = it->second.deletion;
    rd.cells = it->second.cells;
    out.rows.push_back(std::move(rd));
  }
  return out;
}

bool isEmpty(const StoredPartition& p) {
  return !p.deletion.present() && p.rows.empty() && !p.has_solo && p.ranges.empty();
}

int64_t purge(const TableSchema& t, StoredPartition& p, int64_t now_us) {
  const int64_t grace_us = t.gc_grace_seconds * 1'000'000;
  int64_t purged = 0;
  if (p.deletion.present() && p.deletion.local_time_us + grace_us <= now_us) {
    p.deletion = Deletion{};
    ++purged;
  }
  purged += static_cast<int64_t>(std::erase_if(p.ranges, [&](const RangeTombstone& rt) {
    return rt.deletion.local_time_us + grace_us <= now_us;
  }));
  auto purgeRow = [&](StoredRow& r) {
    if (r.deletion.present() && r.deletion.local_time_us + grace_us <= now_us) {
      r.deletion = Deletion{};
      ++purged;
    }
    if (r.marker.present() && r.marker.expires_us != 0 && r.marker.expires_us + grace_us <= now_us) {
      r.marker = RowMarker{};
      ++purged;
    }
    for (Cell& c : r.cells) {
      if (!c.present()) continue;
      bool dead = c.tombstone || c.ttl_seconds != 0;
      if (dead && c.local_time_us + grace_us <= now_us) {
        c = Cell{};
        ++purged;
      }
    }
    return rowEmpty(r);
  };
  for (auto it = p.rows.begin(); it != p.rows.end();) it = purgeRow(it->second) ? p.rows.erase(it) : std::next(it);
  if (p.has_solo && purgeRow(p.solo)) {
    p.solo = StoredRow{};
    p.has_solo = false;
  }
  return purged;
}

ReplicaStore::TableStore* ReplicaStore::create(const std::shared_ptr<const TableSchema>& t) {
  std::lock_guard lock(create_mu_);
  if (TableStore* ts = find(t->id)) return ts;
  auto fresh = std::make_unique<TableStore>();
  fresh->schema = t;
  TableStore* raw = fresh.get();
  owned_.push_back(std::move(fresh));
  tables_[t->id].store(raw, std::memory_order_release);
  return raw;
}

std::vector<ReplicaStore::TableStore*> ReplicaStore::allTables() {
  std::lock_guard lock(create_mu_);
  std::vector<TableStore*> out;
  for (auto& t : owned_) out.push_back(t.get());
  return out;
}

void ReplicaStore::apply(const std::shared_ptr<const TableSchema>& t, const PartitionUpdate& u, int64_t now_us) {
  std::lock_guard lock(stripes_.forToken(u.token));
  applyLocked(t, u, now_us);
}

void ReplicaStore::applyLocked(const std::shared_ptr<const TableSchema>& t, const PartitionUpdate& u, int64_t now_us) {
  TableStore* ts = findOrCreate(t);
  Shard& shard = ts->shards[shardOf(u.token)];
  if (retained_ > 0) {
    if (shard.log.empty()) shard.log.resize(retained_);
    shard.log[shard.log_next] = CommitLogEntry{shard.appended, now_us, t->id, u.token, approxBytes(u)};
    shard.log_next = shard.log_next + 1 == retained_ ? 0 : shard.log_next + 1;
  }
  ++shard.appended;
  StoredPartition* p = shard.partitions.findOrInsert(u.token, u.key_bytes, ts->schema.get());
  if (p->key.empty()) p->key = u.key;
  mergeInto(*ts->schema, *p, u);
  if (isEmpty(*p)) shard.partitions.erase(u.token, u.key_bytes);
}

PartitionUpdate ReplicaStore::read(const std::shared_ptr<const TableSchema>& t, const std::string& key_bytes,
                                   const std::vector<Value>& key, int64_t token, const SliceBounds& bounds) {
  TableStore* ts = find(t->id);
  if (ts != nullptr) {
    Shard& shard = ts->shards[shardOf(token)];
    std::lock_guard lock(stripes_.forToken(token));
    ++shard.reads;
    if (const StoredPartition* p = shard.partitions.find(token, key_bytes)) return sliceOf(*t, *p, key_bytes, bounds);
  }
  PartitionUpdate empty;
  empty.table_id = t->id;
  empty.key = key;
  empty.key_bytes = key_bytes;
  empty.token = token;
  return empty;
}

void ReplicaStore::readLive(const std::shared_ptr<const TableSchema>& t, const std::string& key_bytes,
                            const std::vector<Value>& key, int64_t token, const SliceBounds& bounds, int64_t now_us,
                            int64_t limit, bool reversed, const std::vector<int>* projection, RowWriter& out) {
  TableStore* ts = find(t->id);
  if (ts == nullptr) return;
  Shard& shard = ts->shards[shardOf(token)];
  std::lock_guard lock(stripes_.forToken(token));
  ++shard.reads;
  const StoredPartition* found = shard.partitions.find(token, key_bytes);
  if (found == nullptr) return;
  const StoredPartition& p = *found;
  if (p.has_solo) {
    static const std::vector<Value> kNoClustering;
    if (limit != 0) appendLiveRow(*t, key, kNoClustering, p.solo.marker, p.solo.cells, now_us, projection, out);
    return;
  }
  const size_t first = out.size();
  auto r = bounds.start ? p.rows.lower_bound(bounds.start->prefix) : p.rows.begin();
  for (; r != p.rows.end(); ++r) {
    if (!afterStart(*t, r->first, bounds.start)) continue;
    if (!beforeEnd(*t, r->first, bounds.end)) break;
    if (!reversed && limit >= 0 && static_cast<int64_t>(out.size() - first) >= limit) break;
    appendLiveRow(*t, key, r->first, r->second.marker, r->second.cells, now_us, projection, out);
  }
  if (reversed) {
    out.reverse(first);
    if (limit >= 0) out.truncate(first + static_cast<size_t>(limit));
  }
}

void ReplicaStore::truncate(uint32_t table_id) {
  TableStore* ts = find(table_id);
  if (ts == nullptr) return;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(stripes_.at(i));
    ts->shards[i].partitions.clear();
  }
}

int64_t ReplicaStore::compact(int64_t now_us) {
  int64_t purged = 0;
  for (TableStore* ts : allTables()) {
    for (size_t i = 0; i < kShards; ++i) {
      Shard& s = ts->shards[i];
      std::lock_guard lock(stripes_.at(i));
      s.partitions.forEach([&](const std::string&, StoredPartition& p) {
        purged += purge(*ts->schema, p, now_us);
        return isEmpty(p);
      });
    }
  }
  return purged;
}

void ReplicaStore::forEachPartition(uint32_t table_id, const std::function<void(const PartitionUpdate&)>& fn) {
  TableStore* ts = find(table_id);
  if (ts == nullptr) return;
  for (size_t i = 0; i < kShards; ++i) {
    Shard& s = ts->shards[i];
    std::vector<PartitionUpdate> copies;
    {
      std::lock_guard lock(stripes_.at(i));
      s.partitions.forEach([&](const std::string& kb, StoredPartition& p) {
        copies.push_back(sliceOf(*ts->schema, p, kb, SliceBounds{}));
        return false;
      });
    }
    for (const PartitionUpdate& u : copies) fn(u);
  }
}

std::shared_ptr<const TableSchema> ReplicaStore::schemaOf(uint32_t table_id) {
  TableStore* ts = find(table_id);
  return ts ? ts->schema : nullptr;
}

int64_t ReplicaStore::partitionCount() {
  int64_t n = 0;
  for (TableStore* ts : allTables()) {
    for (size_t i = 0; i < kShards; ++i) {
      Shard& s = ts->shards[i];
      std::lock_guard l(stripes_.at(i));
      n += static_cast<int64_t>(s.partitions.size());
    }
  }
  return n;
}

int64_t ReplicaStore::commitLogEntries() {
  int64_t n = 0;
  for (TableStore* ts : allTables()) {
    for (size_t i = 0; i < kShards; ++i) {
      Shard& s = ts->shards[i];
      std::lock_guard l(stripes_.at(i));
      n += s.appended;
    }
  }
  return n;
}

int64_t ReplicaStore::readsServed() {
  int64_t n = 0;
  for (TableStore* ts : allTables()) {
    for (size_t i = 0; i < kShards; ++i) {
      Shard& s = ts->shards[i];
      std::lock_guard l(stripes_.at(i));
      n += s.reads;
    }
  }
  return n;
}

std::vector<CommitLogEntry> ReplicaStore::commitLog() {
  std::vector<CommitLogEntry> out;
  for (TableStore* ts : allTables()) {
    for (size_t i = 0; i < kShards; ++i) {
      Shard& s = ts->shards[i];
      std::lock_guard l(stripes_.at(i));
      // Oldest first: once the ring has wrapped, the oldest entry is the next to be
      // overwritten.
      const size_t n = std::min<size_t>(static_cast<size_t>(s.appended), s.log.size());
      const size_t first = static_cast<size_t>(s.appended) > s.log.size() ? s.log_next : 0;
      for (size_t i = 0; i < n; ++i) out.push_back(s.log[(first + i) % s.log.size()]);
    }
  }
  std::sort(out.begin(), out.end(), [](const CommitLogEntry& a, const CommitLogEntry& b) {
    return a.written_us != b.written_us ? a.written_us < b.written_us : a.position < b.position;
  });
  return out;
}

}  // namespace sandbank::store
