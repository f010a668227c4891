// The read-only system_schema keyspace, as Cassandra has it: keyspaces, tables and columns
// describe the live schema, so a client (the GUI's schema tree, cqlsh-like tools) can list
// tables and learn each key's columns and types through plain CQL.
// Thread-safety: free functions over the cluster's own thread-safe schema accessors.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "sandbank/store/cluster.h"
#include "sandbank/store/schema.h"
#include "sandbank/store/value.h"

namespace sandbank::store {

inline constexpr std::string_view kSystemSchema = "system_schema";

// The schema of system_schema.<name> (keyspaces, tables, columns), or null.
std::shared_ptr<const TableSchema> systemSchemaTable(std::string_view name);

// Every row of that table, in its declaration's column order, sorted by primary key.
std::vector<std::vector<Value>> systemSchemaRows(const Cluster& cluster, const TableSchema& table);

}  // namespace sandbank::store
