// system_schema's three tables, built from the cluster's schema on every read (schemas
// are small and change rarely, so nothing is cached). Columns and kinds follow Cassandra
// 4's tables; the ones sandbank has no notion of (flags, caching, ...) are left out.
#include "system_schema.h"

#include <algorithm>

namespace sandbank::store {
namespace {

ColumnDef col(std::string name, ColumnType type, ColumnKind kind, int position) {
  ColumnDef d;
  d.name = std::move(name);
  d.type = type;
  d.kind = kind;
  d.position = position;
  return d;
}

std::shared_ptr<const TableSchema> build(std::string name, std::vector<ColumnDef> columns) {
  auto t = std::make_shared<TableSchema>();
  t->keyspace = std::string(kSystemSchema);
  t->name = std::move(name);
  t->columns = std::move(columns);
  t->finalize();
  return t;
}

const std::shared_ptr<const TableSchema>& keyspacesTable() {
  static const auto t = build("keyspaces", {col("keyspace_name", ColumnType::kText, ColumnKind::kPartitionKey, 0),
                                            col("durable_writes", ColumnType::kBoolean, ColumnKind::kRegular, 0),
                                            col("replication", ColumnType::kText, ColumnKind::kRegular, 0)});
  return t;
}

const std::shared_ptr<const TableSchema>& tablesTable() {
  static const auto t = build("tables", {col("keyspace_name", ColumnType::kText, ColumnKind::kPartitionKey, 0),
                                         col("table_name", ColumnType::kText, ColumnKind::kClustering, 0),
                                         col("default_time_to_live", ColumnType::kInt, ColumnKind::kRegular, 0),
                                         col("gc_grace_seconds", ColumnType::kInt, ColumnKind::kRegular, 0),
                                         col("id", ColumnType::kBigint, ColumnKind::kRegular, 0)});
  return t;
}

const std::shared_ptr<const TableSchema>& columnsTable() {
  static const auto t = build("columns", {col("keyspace_name", ColumnType::kText, ColumnKind::kPartitionKey, 0),
                                          col("table_name", ColumnType::kText, ColumnKind::kClustering, 0),
                                          col("column_name", ColumnType::kText, ColumnKind::kClustering, 1),
                                          col("clustering_order", ColumnType::kText, ColumnKind::kRegular, 0),
                                          col("kind", ColumnType::kText, ColumnKind::kRegular, 0),
                                          col("position", ColumnType::kInt, ColumnKind::kRegular, 0),
                                          col("type", ColumnType::kText, ColumnKind::kRegular, 0)});
  return t;
}

// Cassandra's text form of a replication map.
std::string replicationText(const KeyspaceSchema& ks) {
  if (ks.replication == ReplicationClass::kSimple) {
    return "{'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '" +
           std::to_string(ks.replication_factor) + "'}";
  }
  std::string out = "{'class': 'org.apache.cassandra.locator.NetworkTopologyStrategy'";
  for (const auto& [dc, rf] : ks.dc_factors) out += ", '" + dc + "': '" + std::to_string(rf) + "'";
  return out + "}";
}

const char* kindText(ColumnKind k) {
  switch (k) {
    case ColumnKind::kPartitionKey: return "partition_key";
    case ColumnKind::kClustering: return "clustering";
    case ColumnKind::kRegular: return "regular";
  }
  return "regular";
}

}  // namespace

std::shared_ptr<const TableSchema> systemSchemaTable(std::string_view name) {
  if (name == "keyspaces") return keyspacesTable();
  if (name == "tables") return tablesTable();
  if (name == "columns") return columnsTable();
  return nullptr;
}

std::vector<std::vector<Value>> systemSchemaRows(const Cluster& cluster, const TableSchema& table) {
  std::vector<std::vector<Value>> rows;
  if (table.name == "keyspaces") {
    for (const auto& ks : cluster.keyspaces()) {
      rows.push_back({Value::text(ks->name), Value::boolean(true), Value::text(replicationText(*ks))});
    }
  } else if (table.name == "tables") {
    for (const auto& t : cluster.tables()) {
      rows.push_back({Value::text(t->keyspace), Value::text(t->name), Value::integer(t->default_ttl_seconds),
                      Value::integer(t->gc_grace_seconds), Value::integer(t->id)});
    }
  } else if (table.name == "columns") {
    for (const auto& t : cluster.tables()) {
      for (const ColumnDef& c : t->columns) {
        const bool clustering = c.kind == ColumnKind::kClustering;
        rows.push_back({Value::text(t->keyspace), Value::text(t->name), Value::text(c.name),
                        Value::text(clustering ? (c.order == ClusteringOrder::kDesc ? "desc" : "asc") : "none"),
                        Value::text(kindText(c.kind)), Value::integer(c.kind == ColumnKind::kRegular ? -1 : c.position),
                        Value::text(std::string(columnTypeName(c.type)))});
      }
    }
  }
  // Primary-key order: the partition (keyspace name), then the clustering columns.
  std::vector<int> key = table.partition_key;
  key.insert(key.end(), table.clustering.begin(), table.clustering.end());
  std::sort(rows.begin(), rows.end(), [&](const std::vector<Value>& a, const std::vector<Value>& b) {
    for (int k : key) {
      if (a[static_cast<size_t>(k)].s != b[static_cast<size_t>(k)].s) return a[static_cast<size_t>(k)].s < b[static_cast<size_t>(k)].s;
    }
    return false;
  });
  return rows;
}

}  // namespace sandbank::store
