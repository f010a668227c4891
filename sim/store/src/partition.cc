// Last-write-wins, clustering comparison and digests for the cell-level data model.
// Thread-safety: pure functions.
#include "sandbank/store/partition.h"

namespace sandbank::store {
namespace {

inline uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

uint64_t hashBytes(uint64_t h, const std::string& s) {
  uint64_t x = 1469598103934665603ULL;
  for (unsigned char c : s) x = (x ^ c) * 1099511628211ULL;
  return mix(h, x ^ s.size());
}

uint64_t hashValue(uint64_t h, const Value& v) {
  h = mix(h, static_cast<uint64_t>(v.kind));
  h = mix(h, static_cast<uint64_t>(v.i));
  return hashBytes(h, v.s);
}

}  // namespace

bool cellWins(const Cell& incoming, const Cell& existing, ColumnType type) {
  if (!existing.present()) return true;
  if (!incoming.present()) return false;
  if (incoming.ts != existing.ts) return incoming.ts > existing.ts;
  if (incoming.tombstone != existing.tombstone) return incoming.tombstone;
  if (incoming.tombstone) return incoming.local_time_us > existing.local_time_us;
  int c = compareForTie(type, incoming.value, existing.value);
  if (c != 0) return c > 0;
  // Same value: the later expiry (no TTL counts as never expiring) wins.
  auto expiry = [](const Cell& x) { return x.ttl_seconds == 0 ? INT64_MAX : x.local_time_us; };
  return expiry(incoming) > expiry(existing);
}

int compareClustering(const TableSchema& t, const std::vector<Value>& a, const std::vector<Value>& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const ColumnDef& col = t.columns[t.clustering[i]];
    int c = compareValues(col.type, a[i], b[i]);
    if (c != 0) return col.order == ClusteringOrder::kDesc ? -c : c;
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

uint64_t digestOf(const TableSchema& t, const PartitionUpdate& p) {
  (void)t;
  uint64_t h = 0x51ed270b27a5c3ULL;
  h = mix(h, static_cast<uint64_t>(p.deletion.ts));
  h = mix(h, static_cast<uint64_t>(p.deletion.local_time_us));
  for (const RangeTombstone& rt : p.ranges) {
    for (const Value& v : rt.start) h = hashValue(h, v);
    h = mix(h, rt.start_inclusive);
    for (const Value& v : rt.end) h = hashValue(h, v);
    h = mix(h, rt.end_inclusive);
    h = mix(h, static_cast<uint64_t>(rt.deletion.ts));
  }
  for (const RowData& r : p.rows) {
    for (const Value& v : r.clustering) h = hashValue(h, v);
    h = mix(h, static_cast<uint64_t>(r.marker.ts));
    h = mix(h, static_cast<uint64_t>(r.marker.expires_us));
    h = mix(h, static_cast<uint64_t>(r.deletion.ts));
    for (const Cell& c : r.cells) {
      h = mix(h, static_cast<uint64_t>(c.ts));
      if (!c.present()) continue;
      h = mix(h, static_cast<uint64_t>(c.local_time_us));
      h = mix(h, static_cast<uint64_t>(c.tombstone));
      h = hashValue(h, c.value);
    }
  }
  return h;
}

}  // namespace sandbank::store
