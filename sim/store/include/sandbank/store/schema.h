// Keyspaces and tables: replication settings and typed columns with a composite partition
// key and ordered clustering columns. Schemas are immutable once created and shared by
// shared_ptr, so a prepared statement can hold one without locks.
// Thread-safety: immutable values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sandbank/store/value.h"

namespace sandbank::store {

enum class ReplicationClass : uint8_t { kSimple, kNetworkTopology };

struct KeyspaceSchema {
  std::string name;
  ReplicationClass replication = ReplicationClass::kSimple;
  int replication_factor = 1;            // SimpleStrategy
  std::map<std::string, int> dc_factors;  // NetworkTopologyStrategy: datacenter -> RF
};

enum class ColumnKind : uint8_t { kPartitionKey, kClustering, kRegular };
enum class ClusteringOrder : uint8_t { kAsc, kDesc };

struct ColumnDef {
  std::string name;
  ColumnType type = ColumnType::kText;
  ColumnKind kind = ColumnKind::kRegular;
  int position = 0;  // index among the columns of the same kind
  ClusteringOrder order = ClusteringOrder::kAsc;
};

struct TableSchema {
  uint32_t id = 0;  // assigned by the cluster; never reused
  std::string keyspace;
  std::string name;
  std::vector<ColumnDef> columns;     // declaration order: the order of SELECT *
  std::vector<int> partition_key;     // indices into columns
  std::vector<int> clustering;        // indices into columns
  std::vector<int> regular;           // indices into columns
  std::vector<ColumnType> partition_key_types;
  int64_t gc_grace_seconds = 864000;  // Cassandra's default: 10 days
  int32_t default_ttl_seconds = 0;

  // Index into columns, or -1.
  int columnIndex(std::string_view column) const;
  std::string qualifiedName() const { return keyspace + "." + name; }
  // Fills partition_key, clustering, regular and partition_key_types from columns'
  // kinds and positions. Call after building `columns`.
  void finalize();
};

}  // namespace sandbank::store
