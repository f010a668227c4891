// Session: runs CQL text (or prepared statements) against a Cluster. It resolves tables,
// checks the statement against the schema (type errors name the column and its type),
// turns it into engine writes, reads and LWTs, and returns rows.
// Thread-safety: a Session is safe to share between threads; prepared statements are
// immutable and may be executed concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sandbank/core/result.h"
#include "sandbank/store/cluster.h"
#include "sandbank/store/cql.h"

namespace sandbank::store {

struct QueryOptions {
  RequestContext ctx;     // consistency, serial consistency, coordinator, client, timestamp
  std::string keyspace;   // used for unqualified table names
  // SELECT paging: at most page_size rows per call (0: no paging). To fetch the next page,
  // run the same statement with the same binds and ResultSet::paging_state from the last
  // page. Pages walk one partition in clustering order (or its reverse), resuming after
  // the last row returned, so rows written behind the cursor do not repeat.
  int32_t page_size = 0;
  std::string paging_state;
};

struct ResultColumn {
  std::string name;
  ColumnType type = ColumnType::kText;
};

struct ResultSet {
  enum class Kind : uint8_t { kVoid, kRows, kSchemaChange };
  Kind kind = Kind::kVoid;
  std::vector<ResultColumn> columns;
  std::vector<std::vector<Value>> rows;
  // LWT: whether the condition held. The rows then hold "[applied]" plus the current row.
  std::optional<bool> applied;
  std::string keyspace_changed;  // USE
  // Paged SELECT: opaque bytes that resume after this page; empty when this was the last.
  std::string paging_state;
};

// What a bind marker binds to, known once the statement's table exists.
struct BindSpec {
  std::string name;  // column name, or "[ttl]", "[timestamp]", "[limit]"
  ColumnType type = ColumnType::kText;
};

class PreparedStatement {
 public:
  PreparedStatement(std::string text, cql::Parsed parsed, std::vector<BindSpec> binds)
      : text_(std::move(text)), parsed_(std::move(parsed)), binds_(std::move(binds)) {}
  const std::string& text() const { return text_; }
  const cql::Parsed& parsed() const { return parsed_; }
  const std::vector<BindSpec>& binds() const { return binds_; }

 private:
  std::string text_;
  cql::Parsed parsed_;
  std::vector<BindSpec> binds_;
};

class Session {
 public:
  explicit Session(Cluster& cluster) : cluster_(cluster) {}

  // Parses and runs one statement. `binds` fill the `?` markers in order.
  Result<ResultSet> execute(std::string_view cql, const std::vector<Value>& binds = {},
                            const QueryOptions& options = {});
  // Parses once; bind specs are resolved against the schema in `keyspace` when possible.
  Result<std::shared_ptr<const PreparedStatement>> prepare(std::string_view cql, const std::string& keyspace = "");
  Result<ResultSet> execute(const PreparedStatement& statement, const std::vector<Value>& binds,
                            const QueryOptions& options = {});

  Cluster& cluster() { return cluster_; }

 private:
  Cluster& cluster_;
};

}  // namespace sandbank::store
