// The CQL subset the store accepts, as a syntax tree, and its hand-written recursive
// descent parser. Parse errors are SyntaxError with "line L:C" and what was expected.
// Thread-safety: parseCql is a pure function; statements are immutable values.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sandbank/core/result.h"
#include "sandbank/store/value.h"

namespace sandbank::store::cql {

struct Position {
  int line = 1;
  int column = 1;
};

// A literal or a bind marker `?` (numbered from 0 in order of appearance).
struct Term {
  bool is_bind = false;
  int bind_index = -1;
  Value literal;
  Position pos;
};

struct TableName {
  std::string keyspace;  // empty: the session's keyspace
  std::string name;
  Position pos;
};

struct Relation {
  std::string column;
  std::string op;  // "=", "<", "<=", ">", ">="
  Term term;
  Position pos;
};

struct Assignment {
  std::string column;
  Term term;
  Position pos;
};

struct UsingClause {
  std::optional<Term> ttl;
  std::optional<Term> timestamp;
};

struct Insert {
  TableName table;
  std::vector<std::string> columns;
  std::vector<Position> column_pos;
  std::vector<Term> values;
  bool if_not_exists = false;
  UsingClause using_;
};

struct Update {
  TableName table;
  UsingClause using_;
  std::vector<Assignment> set;
  std::vector<Relation> where;
  std::vector<Relation> conditions;  // IF a = 1 AND b = 2
  bool if_exists = false;
};

struct Delete {
  TableName table;
  std::vector<std::string> columns;  // empty: the whole row or partition
  UsingClause using_;
  std::vector<Relation> where;
  std::vector<Relation> conditions;
  bool if_exists = false;
};

struct Select {
  TableName table;
  std::vector<std::string> columns;  // empty: *
  std::vector<Position> column_pos;
  std::vector<Relation> where;
  std::optional<std::pair<std::string, bool>> order_by;  // column, descending
  std::optional<Term> limit;
};

using Modification = std::variant<Insert, Update, Delete>;

struct Batch {
  UsingClause using_;
  std::vector<Modification> statements;
};

struct CreateKeyspace {
  std::string name;
  bool if_not_exists = false;
  std::map<std::string, std::string> replication;
};

struct ColumnSpec {
  std::string name;
  std::string type;
  Position pos;
};

struct CreateTable {
  TableName table;
  bool if_not_exists = false;
  std::vector<ColumnSpec> columns;
  std::vector<std::string> partition_key;
  std::vector<std::string> clustering;
  std::vector<std::pair<std::string, bool>> clustering_order;  // column, descending
  std::map<std::string, std::string> options;                 // gc_grace_seconds, ...
};

struct Truncate {
  TableName table;
};
struct Use {
  std::string keyspace;
};
struct DropTable {
  TableName table;
  bool if_exists = false;
};
struct DropKeyspace {
  std::string name;
  bool if_exists = false;
};

using Statement = std::variant<Insert, Update, Delete, Select, Batch, CreateKeyspace, CreateTable, Truncate, Use,
                               DropTable, DropKeyspace>;

struct Parsed {
  Statement statement;
  int bind_count = 0;
};

// Parses one statement (a trailing ';' is allowed). Errors: SyntaxError.
Result<Parsed> parseCql(std::string_view text);

}  // namespace sandbank::store::cql
