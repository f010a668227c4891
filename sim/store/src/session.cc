// Statement execution: schema checks, WHERE analysis into partition keys and clustering
// slices, modifications into engine writes (batches grouped per partition), IF into LWT.
// Thread-safety: stateless apart from the Cluster, which is thread-safe.
#include "sandbank/store/session.h"

#include "sandbank/store/murmur3.h"
#include "system_schema.h"

#include <algorithm>
#include <map>
#include <set>

namespace sandbank::store {
namespace {

using namespace cql;

Status invalid(std::string m) { return storeError(StoreError::kInvalidQuery, std::move(m)); }

// Where a paged SELECT resumes: the partition it reads (by token, to catch a state handed
// to another query), the rows the statement's LIMIT still allows, and the clustering key
// of the last row returned. Encoded as opaque bytes for the client to hand back.
struct PagingState {
  int64_t token = 0;
  int64_t remaining = -1;  // -1: no LIMIT
  std::vector<Value> last_clustering;
};

void putU64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

std::string encodePaging(const PagingState& p) {
  std::string out = "P1";
  putU64(static_cast<uint64_t>(p.token), &out);
  putU64(static_cast<uint64_t>(p.remaining), &out);
  putU64(p.last_clustering.size(), &out);
  for (const Value& v : p.last_clustering) {
    out.push_back(static_cast<char>(v.kind));
    putU64(static_cast<uint64_t>(v.i), &out);
    putU64(v.s.size(), &out);
    out += v.s;
  }
  return out;
}

Result<PagingState> decodePaging(std::string_view in) {
  auto bad = [] { return invalid("Invalid paging state: not one this store returned for this query"); };
  size_t at = 0;
  auto u64 = [&](uint64_t* v) {
    if (in.size() - at < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
    at += 8;
    return true;
  };
  if (in.substr(0, 2) != "P1") return bad();
  at = 2;
  PagingState p;
  uint64_t token = 0, remaining = 0, n = 0;
  if (!u64(&token) || !u64(&remaining) || !u64(&n) || n > 64) return bad();
  p.token = static_cast<int64_t>(token);
  p.remaining = static_cast<int64_t>(remaining);
  for (uint64_t k = 0; k < n; ++k) {
    if (at >= in.size()) return bad();
    Value v;
    auto kind = static_cast<uint8_t>(in[at++]);
    if (kind > static_cast<uint8_t>(Value::Kind::kDecimal)) return bad();
    v.kind = static_cast<Value::Kind>(kind);
    uint64_t i = 0, len = 0;
    if (!u64(&i) || !u64(&len) || in.size() - at < len) return bad();
    v.i = static_cast<int64_t>(i);
    v.s = std::string(in.substr(at, len));
    at += len;
    p.last_clustering.push_back(std::move(v));
  }
  if (at != in.size()) return bad();
  return p;
}

struct WhereParts {
  std::vector<Value> pk;
  std::vector<Value> ck_eq;
  // A range on clustering column number ck_eq.size().
  std::optional<std::pair<Value, bool>> lower;  // value, inclusive (>, >=)
  std::optional<std::pair<Value, bool>> upper;  // (<, <=)
};

class Executor {
 public:
  Executor(Cluster& c, const std::vector<Value>& binds, const QueryOptions& o, int bind_count)
      : cluster_(c), binds_(binds), opt_(o), bind_count_(bind_count) {}

  Result<ResultSet> run(const Statement& st) {
    if (static_cast<int>(binds_.size()) != bind_count_) {
      return invalid("There were " + std::to_string(bind_count_) + " markers(?) in CQL but " +
                     std::to_string(binds_.size()) + " bound variables");
    }
    return std::visit([&](const auto& s) { return exec(s); }, st);
  }

 private:
  Result<Value> value(const Term& t, ColumnType type, std::string_view column) {
    const Value& raw = t.is_bind ? binds_[t.bind_index] : t.literal;
    return coerceValue(raw, type, column);
  }

  Result<int64_t> integer(const Term& t, std::string_view what) {
    const Value& raw = t.is_bind ? binds_[t.bind_index] : t.literal;
    if (raw.kind != Value::Kind::kInt) return invalid("Invalid value for " + std::string(what) + ": expected an integer");
    return raw.i;
  }

  // The table a statement names; system_schema's read-only tables included.
  Result<std::shared_ptr<const TableSchema>> table(const TableName& n) {
    std::string ks = n.keyspace.empty() ? opt_.keyspace : n.keyspace;
    if (ks.empty()) return invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename");
    auto t = ks == kSystemSchema ? systemSchemaTable(n.name) : cluster_.table(ks, n.name);
    if (!t) return invalid("unconfigured table " + n.name + " in keyspace " + ks);
    return t;
  }

  // A table a statement may change: not one of system_schema's.
  Result<std::shared_ptr<const TableSchema>> writable(const TableName& n) {
    SANDBANK_ASSIGN_OR_RETURN(auto t, table(n));
    if (t->keyspace == kSystemSchema) return notModifiable();
    return t;
  }
  static Status notModifiable() {
    return storeError(StoreError::kUnauthorized, std::string(kSystemSchema) + " keyspace is not user-modifiable");
  }

  Result<const ColumnDef*> column(const TableSchema& t, const std::string& name) {
    int i = t.columnIndex(name);
    if (i < 0) return invalid("Undefined column name " + name + " in table " + t.qualifiedName());
    return &t.columns[i];
  }

  Result<WhereParts> where(const TableSchema& t, const std::vector<Relation>& rels) {
    WhereParts w;
    std::vector<std::optional<Value>> pk(t.partition_key.size());
    std::vector<std::optional<Value>> ck_eq(t.clustering.size());
    std::map<int, std::pair<std::optional<std::pair<Value, bool>>, std::optional<std::pair<Value, bool>>>> ranges;
    for (const Relation& r : rels) {
      SANDBANK_ASSIGN_OR_RETURN(const ColumnDef* c, column(t, r.column));
      SANDBANK_ASSIGN_OR_RETURN(Value v, value(r.term, c->type, c->name));
      if (c->kind == ColumnKind::kRegular) {
        return invalid("Cannot restrict column " + c->name + ": it is not part of the primary key (the store does not filter)");
      }
      if (v.isNull()) return invalid("Invalid null value in condition for column " + c->name);
      if (c->kind == ColumnKind::kPartitionKey) {
        if (r.op != "=") return invalid("Only EQ relations are supported on the partition key (column " + c->name + ")");
        pk[c->position] = std::move(v);
        continue;
      }
      if (r.op == "=") {
        ck_eq[c->position] = std::move(v);
      } else if (r.op == ">" || r.op == ">=") {
        ranges[c->position].first = std::make_pair(std::move(v), r.op == ">=");
      } else {
        ranges[c->position].second = std::make_pair(std::move(v), r.op == "<=");
      }
    }
    std::string missing;
    for (size_t i = 0; i < pk.size(); ++i) {
      if (!pk[i]) missing += (missing.empty() ? "" : ", ") + t.columns[t.partition_key[i]].name;
    }
    if (!missing.empty()) return invalid("Some partition key parts are missing: " + missing);
    for (auto& v : pk) w.pk.push_back(std::move(*v));
    size_t eq = 0;
    while (eq < ck_eq.size() && ck_eq[eq]) w.ck_eq.push_back(std::move(*ck_eq[eq++]));
    for (size_t i = eq; i < ck_eq.size(); ++i) {
      if (ck_eq[i]) {
        return invalid("PRIMARY KEY column " + t.columns[t.clustering[i]].name + " cannot be restricted as preceding column " +
                       t.columns[t.clustering[eq]].name + " is not restricted");
      }
    }
    for (auto& [pos, range] : ranges) {
      if (static_cast<size_t>(pos) != eq) {
        return invalid("Clustering column " + t.columns[t.clustering[pos]].name +
                       " cannot be restricted by a range: only the column after the equality-restricted ones can");
      }
      w.lower = range.first;
      w.upper = range.second;
    }
    return w;
  }

  Status fullClustering(const TableSchema& t, const WhereParts& w) {
    if (w.lower || w.upper) return invalid("Range restrictions are not supported on the clustering key of a modification");
    if (w.ck_eq.size() != t.clustering.size()) {
      return invalid("Missing mandatory PRIMARY KEY part " + t.columns[t.clustering[w.ck_eq.size()]].name);
    }
    return OkStatus();
  }

  Status usingClause(const UsingClause& u, PartitionWrite* w) {
    if (u.ttl) {
      SANDBANK_ASSIGN_OR_RETURN(int64_t ttl, integer(*u.ttl, "TTL"));
      if (ttl < 0) return invalid("A TTL must be greater or equal to 0, but was " + std::to_string(ttl));
      if (ttl > 630720000) return invalid("ttl is too large. requested (" + std::to_string(ttl) + ") maximum (630720000)");
      w->ttl_seconds = static_cast<int32_t>(ttl);
    }
    if (u.timestamp) {
      SANDBANK_ASSIGN_OR_RETURN(int64_t ts, integer(*u.timestamp, "USING TIMESTAMP"));
      w->timestamp_us = ts;
    }
    return OkStatus();
  }

  Result<CasCondition> conditions(const TableSchema& t, const std::vector<Relation>& conds) {
    CasCondition c;
    for (const Relation& r : conds) {
      SANDBANK_ASSIGN_OR_RETURN(const ColumnDef* col, column(t, r.column));
      if (col->kind != ColumnKind::kRegular) return invalid("PRIMARY KEY column '" + col->name + "' cannot have IF conditions");
      SANDBANK_ASSIGN_OR_RETURN(Value v, value(r.term, col->type, col->name));
      c.equals.emplace_back(t.columnIndex(col->name), std::move(v));
    }
    return c;
  }

  // --- modifications into engine writes

  struct Modified {
    PartitionWrite write;
    std::optional<CasCondition> condition;
  };

  Result<Modified> build(const Insert& s) {
    Modified m;
    SANDBANK_ASSIGN_OR_RETURN(m.write.table, writable(s.table));
    const TableSchema& t = *m.write.table;
    std::vector<std::optional<Value>> pk(t.partition_key.size()), ck(t.clustering.size());
    RowWrite row;
    row.insert_marker = true;
    std::set<std::string> seen;
    for (size_t i = 0; i < s.columns.size(); ++i) {
      SANDBANK_ASSIGN_OR_RETURN(const ColumnDef* c, column(t, s.columns[i]));
      if (!seen.insert(c->name).second) return invalid("Multiple definitions found for column " + c->name);
      SANDBANK_ASSIGN_OR_RETURN(Value v, value(s.values[i], c->type, c->name));
      if (c->kind != ColumnKind::kRegular && v.isNull()) return invalid("Invalid null value for PRIMARY KEY column " + c->name);
      if (c->kind == ColumnKind::kPartitionKey) pk[c->position] = std::move(v);
      else if (c->kind == ColumnKind::kClustering) ck[c->position] = std::move(v);
      else row.cells.push_back(CellWrite{t.columnIndex(c->name), v.isNull(), std::move(v)});
    }
    for (size_t i = 0; i < pk.size(); ++i) {
      if (!pk[i]) return invalid("Some partition key parts are missing: " + t.columns[t.partition_key[i]].name);
      m.write.key.push_back(std::move(*pk[i]));
    }
    for (size_t i = 0; i < ck.size(); ++i) {
      if (!ck[i]) return invalid("Some clustering keys are missing: " + t.columns[t.clustering[i]].name);
      row.clustering.push_back(std::move(*ck[i]));
    }
    m.write.rows.push_back(std::move(row));
    SANDBANK_RETURN_IF_ERROR(usingClause(s.using_, &m.write));
    if (s.if_not_exists) {
      CasCondition c;
      c.if_not_exists = true;
      m.condition = c;
    }
    return m;
  }

  Result<Modified> build(const Update& s) {
    Modified m;
    SANDBANK_ASSIGN_OR_RETURN(m.write.table, writable(s.table));
    const TableSchema& t = *m.write.table;
    SANDBANK_ASSIGN_OR_RETURN(WhereParts w, where(t, s.where));
    SANDBANK_RETURN_IF_ERROR(fullClustering(t, w));
    m.write.key = std::move(w.pk);
    RowWrite row;
    row.clustering = std::move(w.ck_eq);
    for (const Assignment& a : s.set) {
      SANDBANK_ASSIGN_OR_RETURN(const ColumnDef* c, column(t, a.column));
      if (c->kind != ColumnKind::kRegular) return invalid("PRIMARY KEY part " + c->name + " found in SET part");
      SANDBANK_ASSIGN_OR_RETURN(Value v, value(a.term, c->type, c->name));
      row.cells.push_back(CellWrite{t.columnIndex(c->name), v.isNull(), std::move(v)});
    }
    m.write.rows.push_back(std::move(row));
    SANDBANK_RETURN_IF_ERROR(usingClause(s.using_, &m.write));
    if (s.if_exists || !s.conditions.empty()) {
      SANDBANK_ASSIGN_OR_RETURN(CasCondition c, conditions(t, s.conditions));
      c.if_exists = s.if_exists;
      m.condition = c;
    }
    return m;
  }

  Result<Modified> build(const Delete& s) {
    Modified m;
    SANDBANK_ASSIGN_OR_RETURN(m.write.table, writable(s.table));
    const TableSchema& t = *m.write.table;
    SANDBANK_ASSIGN_OR_RETURN(WhereParts w, where(t, s.where));
    m.write.key = std::move(w.pk);
    const bool ranged = w.lower || w.upper || (!w.ck_eq.empty() && w.ck_eq.size() < t.clustering.size());
    if (ranged) {
      // A range tombstone: rows from a clustering prefix, optionally narrowed by a range
      // on the next column.
      if (!s.columns.empty()) return invalid("Range deletions are not supported for specific columns");
      if (s.if_exists || !s.conditions.empty()) return invalid("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions");
      RangeDelete rd;
      rd.start.prefix = w.ck_eq;
      rd.end.prefix = w.ck_eq;
      if (w.lower || w.upper) {
        const bool desc = t.columns[t.clustering[w.ck_eq.size()]].order == ClusteringOrder::kDesc;
        // Bounds are in the table's clustering order: a DESC column swaps them.
        const auto& first = desc ? w.upper : w.lower;
        const auto& last = desc ? w.lower : w.upper;
        if (first) {
          rd.start.prefix.push_back(first->first);
          rd.start.inclusive = first->second;
        }
        if (last) {
          rd.end.prefix.push_back(last->first);
          rd.end.inclusive = last->second;
        }
      }
      m.write.range_deletes.push_back(std::move(rd));
      SANDBANK_RETURN_IF_ERROR(usingClause(s.using_, &m.write));
      return m;
    }
    const bool whole_partition = w.ck_eq.empty() && !t.clustering.empty();
    if (s.columns.empty()) {
      if (t.clustering.empty() || whole_partition) {
        m.write.delete_partition = true;
      } else {
        RowWrite row;
        row.clustering = std::move(w.ck_eq);
        row.delete_row = true;
        m.write.rows.push_back(std::move(row));
      }
    } else {
      if (whole_partition) return invalid("Deleting columns needs the full primary key");
      RowWrite row;
      row.clustering = std::move(w.ck_eq);
      for (const std::string& name : s.columns) {
        SANDBANK_ASSIGN_OR_RETURN(const ColumnDef* c, column(t, name));
        if (c->kind != ColumnKind::kRegular) return invalid("Invalid identifier " + c->name + " for deletion (should not be a PRIMARY KEY part)");
        row.cells.push_back(CellWrite{t.columnIndex(name), true, Value::null()});
      }
      m.write.rows.push_back(std::move(row));
    }
    SANDBANK_RETURN_IF_ERROR(usingClause(s.using_, &m.write));
    if (s.if_exists || !s.conditions.empty()) {
      SANDBANK_ASSIGN_OR_RETURN(CasCondition c, conditions(t, s.conditions));
      c.if_exists = s.if_exists;
      m.condition = c;
    }
    return m;
  }

  Result<ResultSet> runModification(Modified m) {
    if (m.condition) {
      if (m.write.timestamp_us) return invalid("Cannot provide custom timestamp for conditional updates");
      CasRequest req{std::move(m.write), std::move(*m.condition), opt_.ctx};
      if (req.ctx.consistency == ConsistencyLevel::kOne) req.ctx.consistency = ConsistencyLevel::kQuorum;
      const TableSchema& t = *req.write.table;
      SANDBANK_ASSIGN_OR_RETURN(CasOutcome out, cluster_.cas(req));
      ResultSet rs;
      rs.kind = ResultSet::Kind::kRows;
      rs.applied = out.applied;
      rs.columns.push_back({"[applied]", ColumnType::kBoolean});
      std::vector<Value> row{Value::boolean(out.applied)};
      if (!out.applied && out.current) {
        for (size_t i = 0; i < t.columns.size(); ++i) {
          rs.columns.push_back({t.columns[i].name, t.columns[i].type});
          row.push_back((*out.current)[i]);
        }
      }
      rs.rows.push_back(std::move(row));
      return rs;
    }
    WriteRequest req;
    req.ctx = opt_.ctx;
    req.partitions.push_back(std::move(m.write));
    SANDBANK_ASSIGN_OR_RETURN(WriteOutcome out, cluster_.write(req));
    (void)out;
    return ResultSet{};
  }

  Result<ResultSet> exec(const Insert& s) {
    SANDBANK_ASSIGN_OR_RETURN(Modified m, build(s));
    return runModification(std::move(m));
  }
  Result<ResultSet> exec(const Update& s) {
    SANDBANK_ASSIGN_OR_RETURN(Modified m, build(s));
    return runModification(std::move(m));
  }
  Result<ResultSet> exec(const Delete& s) {
    SANDBANK_ASSIGN_OR_RETURN(Modified m, build(s));
    return runModification(std::move(m));
  }

  Result<ResultSet> exec(const Batch& b) {
    WriteRequest req;
    req.ctx = opt_.ctx;
    std::map<std::tuple<uint32_t, std::string, std::optional<int64_t>, std::optional<int32_t>>, size_t> index;
    for (const Modification& mod : b.statements) {
      SANDBANK_ASSIGN_OR_RETURN(Modified m, std::visit([&](const auto& s) { return build(s); }, mod));
      if (m.condition) return invalid("Conditional statements in a BATCH are not supported by the store");
      if (!m.write.timestamp_us && b.using_.timestamp) {
        SANDBANK_ASSIGN_OR_RETURN(int64_t ts, integer(*b.using_.timestamp, "USING TIMESTAMP"));
        m.write.timestamp_us = ts;
      }
      const TableSchema& t = *m.write.table;
      auto key = std::make_tuple(t.id, serializePartitionKey(t.partition_key_types, m.write.key), m.write.timestamp_us,
                                 m.write.ttl_seconds);
      auto it = index.find(key);
      if (it == index.end()) {
        index.emplace(key, req.partitions.size());
        req.partitions.push_back(std::move(m.write));
      } else {
        PartitionWrite& into = req.partitions[it->second];
        into.delete_partition = into.delete_partition || m.write.delete_partition;
        for (RowWrite& r : m.write.rows) into.rows.push_back(std::move(r));
        for (RangeDelete& r : m.write.range_deletes) into.range_deletes.push_back(std::move(r));
      }
    }
    SANDBANK_ASSIGN_OR_RETURN(WriteOutcome out, cluster_.write(req));
    (void)out;
    return ResultSet{};
  }

  // The column indices a SELECT returns: every column for *, else those named.
  Result<std::vector<int>> projectionOf(const Select& s, const TableSchema& t) {
    std::vector<int> projection;
    if (s.columns.empty()) {
      for (size_t i = 0; i < t.columns.size(); ++i) projection.push_back(static_cast<int>(i));
      return projection;
    }
    for (const std::string& name : s.columns) {
      SANDBANK_ASSIGN_OR_RETURN(const ColumnDef* c, column(t, name));
      projection.push_back(t.columnIndex(c->name));
    }
    return projection;
  }

  Result<ResultSet> exec(const Select& s) {
    ReadRequest req;
    SANDBANK_ASSIGN_OR_RETURN(req.table, table(s.table));
    if (req.table->keyspace == kSystemSchema) return systemSelect(s, *req.table);
    const TableSchema& t = *req.table;
    SANDBANK_ASSIGN_OR_RETURN(std::vector<int> projection, projectionOf(s, t));
    SANDBANK_ASSIGN_OR_RETURN(WhereParts w, where(t, s.where));
    req.key = std::move(w.pk);
    req.clustering_eq = w.ck_eq;
    if (w.lower || w.upper) {
      const ColumnDef& rc = t.columns[t.clustering[w.ck_eq.size()]];
      // Bounds are in the table's clustering order: a DESC column swaps them.
      auto bound = [&](const std::optional<std::pair<Value, bool>>& b) -> std::optional<ClusteringBound> {
        if (!b) {
          if (w.ck_eq.empty()) return std::nullopt;
          return ClusteringBound{w.ck_eq, true};
        }
        ClusteringBound cb{w.ck_eq, b->second};
        cb.prefix.push_back(b->first);
        return cb;
      };
      bool desc = rc.order == ClusteringOrder::kDesc;
      req.start = bound(desc ? w.upper : w.lower);
      req.end = bound(desc ? w.lower : w.upper);
      req.clustering_eq.clear();
    }
    if (s.order_by) {
      if (t.clustering.empty() || t.columns[t.clustering[0]].name != s.order_by->first) {
        return invalid("Order by is currently only supported on the first clustering column");
      }
      bool declared_desc = t.columns[t.clustering[0]].order == ClusteringOrder::kDesc;
      req.reversed = s.order_by->second != declared_desc;
    }
    if (s.limit) {
      SANDBANK_ASSIGN_OR_RETURN(int64_t limit, integer(*s.limit, "LIMIT"));
      if (limit <= 0) return invalid("LIMIT must be strictly positive");
      req.limit = limit;
    }
    req.ctx = opt_.ctx;
    if (opt_.page_size < 0) return invalid("page size must not be negative (0 turns paging off)");
    if (opt_.page_size > 0 || !opt_.paging_state.empty()) return pagedSelect(t, std::move(req), projection);
    if (!s.columns.empty()) req.columns = projection;  // replicas copy out only these
    SANDBANK_ASSIGN_OR_RETURN(ReadOutcome out, cluster_.read(req));
    ResultSet rs;
    rs.kind = ResultSet::Kind::kRows;
    for (int i : projection) rs.columns.push_back({t.columns[i].name, t.columns[i].type});
    rs.rows = std::move(out.rows);
    return rs;
  }

  // A SELECT from system_schema: equality restrictions on any of its columns (keyspace_name
  // and table_name are the useful ones), a projection and LIMIT; every row in one page.
  Result<ResultSet> systemSelect(const Select& s, const TableSchema& t) {
    SANDBANK_ASSIGN_OR_RETURN(std::vector<int> projection, projectionOf(s, t));
    std::vector<std::pair<int, Value>> equal;
    for (const Relation& r : s.where) {
      SANDBANK_ASSIGN_OR_RETURN(const ColumnDef* c, column(t, r.column));
      if (r.op != "=") return invalid("Only = restrictions are supported on " + t.qualifiedName());
      SANDBANK_ASSIGN_OR_RETURN(Value v, value(r.term, c->type, c->name));
      equal.emplace_back(t.columnIndex(c->name), std::move(v));
    }
    if (s.order_by) return invalid("ORDER BY is not supported on " + t.qualifiedName());
    int64_t limit = -1;
    if (s.limit) {
      SANDBANK_ASSIGN_OR_RETURN(limit, integer(*s.limit, "LIMIT"));
      if (limit <= 0) return invalid("LIMIT must be strictly positive");
    }
    ResultSet rs;
    rs.kind = ResultSet::Kind::kRows;
    for (int i : projection) rs.columns.push_back({t.columns[i].name, t.columns[i].type});
    for (std::vector<Value>& row : systemSchemaRows(cluster_, t)) {
      const bool match = std::all_of(equal.begin(), equal.end(), [&](const auto& e) {
        const Value& cell = row[static_cast<size_t>(e.first)];
        return cell.kind == e.second.kind && cell.s == e.second.s && cell.i == e.second.i;
      });
      if (!match) continue;
      if (limit >= 0 && static_cast<int64_t>(rs.rows.size()) >= limit) break;
      std::vector<Value> out;
      out.reserve(projection.size());
      for (int i : projection) out.push_back(std::move(row[static_cast<size_t>(i)]));
      rs.rows.push_back(std::move(out));
    }
    return rs;
  }

  // One page of a SELECT: resumes after the paging state's row, returns at most
  // page_size rows, and a paging state when rows remain.
  Result<ResultSet> pagedSelect(const TableSchema& t, ReadRequest req, const std::vector<int>& projection) {
    const int64_t token = murmur3Token(serializePartitionKey(t.partition_key_types, req.key));
    int64_t remaining = req.limit;
    if (!opt_.paging_state.empty()) {
      SANDBANK_ASSIGN_OR_RETURN(PagingState state, decodePaging(opt_.paging_state));
      if (state.token != token || state.last_clustering.size() != t.clustering.size()) {
        return invalid("Invalid paging state: it belongs to another partition or table");
      }
      remaining = state.remaining;
      if (remaining == 0) return invalid("Invalid paging state: the query has no rows left");
      // Resume strictly after the last row, in the direction of the read.
      ClusteringBound resume{std::move(state.last_clustering), false};
      if (req.reversed) req.end = std::move(resume);
      else req.start = std::move(resume);
    }
    const int64_t page = opt_.page_size > 0 ? opt_.page_size : INT32_MAX;
    // Ask for one row more than the page when more could follow, to know whether they do.
    const bool limit_ends_here = remaining >= 0 && remaining <= page;
    req.limit = limit_ends_here ? remaining : page + 1;
    SANDBANK_ASSIGN_OR_RETURN(ReadOutcome out, cluster_.read(req));  // all columns: the key resumes
    ResultSet rs;
    rs.kind = ResultSet::Kind::kRows;
    for (int i : projection) rs.columns.push_back({t.columns[i].name, t.columns[i].type});
    const bool more = !limit_ends_here && static_cast<int64_t>(out.rows.size()) > page;
    if (more) {
      out.rows.resize(static_cast<size_t>(page));
      PagingState next;
      next.token = token;
      next.remaining = remaining < 0 ? -1 : remaining - page;
      for (int c : t.clustering) next.last_clustering.push_back(out.rows.back()[c]);
      rs.paging_state = encodePaging(next);
    }
    rs.rows.reserve(out.rows.size());
    for (auto& row : out.rows) {
      std::vector<Value> r;
      r.reserve(projection.size());
      for (int i : projection) r.push_back(std::move(row[i]));
      rs.rows.push_back(std::move(r));
    }
    return rs;
  }

  Result<ResultSet> exec(const CreateKeyspace& s) {
    if (s.name == kSystemSchema) return notModifiable();
    KeyspaceSchema ks;
    ks.name = s.name;
    auto cls = s.replication.find("class");
    if (cls == s.replication.end()) return storeError(StoreError::kConfigurationError, "Missing replication strategy class");
    auto endsWith = [](const std::string& a, std::string_view b) {
      return a.size() >= b.size() && a.compare(a.size() - b.size(), b.size(), b) == 0;
    };
    auto toInt = [](const std::string& v, int* out) {
      char* end = nullptr;
      long x = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0') return false;
      *out = static_cast<int>(x);
      return true;
    };
    if (endsWith(cls->second, "SimpleStrategy")) {
      ks.replication = ReplicationClass::kSimple;
      auto rf = s.replication.find("replication_factor");
      if (rf == s.replication.end() || !toInt(rf->second, &ks.replication_factor)) {
        return storeError(StoreError::kConfigurationError, "SimpleStrategy requires a numeric replication_factor");
      }
    } else if (endsWith(cls->second, "NetworkTopologyStrategy")) {
      ks.replication = ReplicationClass::kNetworkTopology;
      for (const auto& [k, v] : s.replication) {
        if (k == "class") continue;
        int rf = 0;
        if (!toInt(v, &rf)) return storeError(StoreError::kConfigurationError, "Replication factor for " + k + " must be a number");
        ks.dc_factors[k] = rf;
      }
    } else {
      return storeError(StoreError::kConfigurationError, "Unable to find replication strategy class '" + cls->second + "'");
    }
    SANDBANK_RETURN_IF_ERROR(cluster_.createKeyspace(ks, s.if_not_exists));
    ResultSet rs;
    rs.kind = ResultSet::Kind::kSchemaChange;
    return rs;
  }

  Result<ResultSet> exec(const CreateTable& s) {
    TableSchema t;
    t.keyspace = s.table.keyspace.empty() ? opt_.keyspace : s.table.keyspace;
    if (t.keyspace.empty()) return invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename");
    if (t.keyspace == kSystemSchema) return notModifiable();
    t.name = s.table.name;
    if (s.partition_key.empty()) return invalid("No PRIMARY KEY specified for table " + t.name);
    for (const ColumnSpec& c : s.columns) {
      ColumnDef d;
      d.name = c.name;
      if (!parseColumnType(c.type, &d.type)) {
        return invalid("Unknown type " + c.type + " for column " + c.name + " (line " + std::to_string(c.pos.line) + ":" +
                       std::to_string(c.pos.column) + ")");
      }
      if (t.columnIndex(d.name) >= 0) return invalid("Multiple definition of identifier " + d.name);
      t.columns.push_back(std::move(d));
    }
    for (size_t i = 0; i < s.partition_key.size(); ++i) {
      int idx = t.columnIndex(s.partition_key[i]);
      if (idx < 0) return invalid("Unknown definition " + s.partition_key[i] + " referenced in PRIMARY KEY");
      t.columns[idx].kind = ColumnKind::kPartitionKey;
      t.columns[idx].position = static_cast<int>(i);
    }
    for (size_t i = 0; i < s.clustering.size(); ++i) {
      int idx = t.columnIndex(s.clustering[i]);
      if (idx < 0) return invalid("Unknown definition " + s.clustering[i] + " referenced in PRIMARY KEY");
      if (t.columns[idx].kind == ColumnKind::kPartitionKey) return invalid("Column " + s.clustering[i] + " appears twice in PRIMARY KEY");
      t.columns[idx].kind = ColumnKind::kClustering;
      t.columns[idx].position = static_cast<int>(i);
    }
    if (s.clustering_order.size() > s.clustering.size()) return invalid("Only clustering key columns can be defined in CLUSTERING ORDER directive");
    for (size_t i = 0; i < s.clustering_order.size(); ++i) {
      if (s.clustering_order[i].first != s.clustering[i]) {
        return invalid("The order of columns in the CLUSTERING ORDER directive must be the one of the clustering key (expected " +
                       s.clustering[i] + ", found " + s.clustering_order[i].first + ")");
      }
      t.columns[t.columnIndex(s.clustering[i])].order = s.clustering_order[i].second ? ClusteringOrder::kDesc : ClusteringOrder::kAsc;
    }
    for (const auto& [k, v] : s.options) {
      char* end = nullptr;
      long long x = std::strtoll(v.c_str(), &end, 10);
      bool numeric = end != v.c_str() && *end == '\0';
      if (k == "gc_grace_seconds") {
        if (!numeric || x < 0) return invalid("gc_grace_seconds must be a non-negative integer");
        t.gc_grace_seconds = x;
      } else if (k == "default_time_to_live") {
        if (!numeric || x < 0) return invalid("default_time_to_live must be a non-negative integer");
        t.default_ttl_seconds = static_cast<int32_t>(x);
      }
    }
    SANDBANK_RETURN_IF_ERROR(cluster_.createTable(std::move(t), s.if_not_exists));
    ResultSet rs;
    rs.kind = ResultSet::Kind::kSchemaChange;
    return rs;
  }

  Result<ResultSet> exec(const Truncate& s) {
    SANDBANK_ASSIGN_OR_RETURN(auto t, writable(s.table));
    SANDBANK_RETURN_IF_ERROR(cluster_.truncate(t->keyspace, t->name));
    return ResultSet{};
  }
  Result<ResultSet> exec(const Use& s) {
    if (s.keyspace != kSystemSchema && !cluster_.keyspace(s.keyspace)) return invalid("Keyspace '" + s.keyspace + "' does not exist");
    ResultSet rs;
    rs.keyspace_changed = s.keyspace;
    return rs;
  }
  Result<ResultSet> exec(const DropTable& s) {
    std::string ks = s.table.keyspace.empty() ? opt_.keyspace : s.table.keyspace;
    if (ks == kSystemSchema) return notModifiable();
    SANDBANK_RETURN_IF_ERROR(cluster_.dropTable(ks, s.table.name, s.if_exists));
    ResultSet rs;
    rs.kind = ResultSet::Kind::kSchemaChange;
    return rs;
  }
  Result<ResultSet> exec(const DropKeyspace& s) {
    if (s.name == kSystemSchema) return notModifiable();
    SANDBANK_RETURN_IF_ERROR(cluster_.dropKeyspace(s.name, s.if_exists));
    ResultSet rs;
    rs.kind = ResultSet::Kind::kSchemaChange;
    return rs;
  }

  Cluster& cluster_;
  const std::vector<Value>& binds_;
  const QueryOptions& opt_;
  const int bind_count_;
};

// Names and types of the bind markers, resolved against the schema. As Cassandra does at
// PREPARE, a table that does not exist or a column it does not have is refused now, with
// the message execution would give, not at the first execute.
class BindCollector {
 public:
  BindCollector(Cluster& c, std::string keyspace, int count) : cluster_(c), keyspace_(std::move(keyspace)), out_(count) {
    for (auto& b : out_) b.name = "?";
  }
  std::vector<BindSpec> take() { return std::move(out_); }
  // The first unknown table or column met, else OK.
  const Status& error() const { return error_; }

  void visit(const Statement& st) {
    std::visit([&](const auto& s) { on(s); }, st);
  }

 private:
  std::shared_ptr<const TableSchema> table(const TableName& n) {
    const std::string ks = n.keyspace.empty() ? keyspace_ : n.keyspace;
    auto t = ks.empty() ? nullptr : ks == kSystemSchema ? systemSchemaTable(n.name) : cluster_.table(ks, n.name);
    if (ks.empty()) {
      fail(invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename"));
    } else if (!t) {
      fail(invalid("unconfigured table " + n.name + " in keyspace " + ks));
    }
    return t;
  }
  void fail(Status s) {
    if (error_.ok()) error_ = std::move(s);
  }
  void known(const TableSchema* s, const std::string& column) {
    if (s && s->columnIndex(column) < 0) fail(invalid("Undefined column name " + column + " in table " + s->qualifiedName()));
  }
  void bind(const Term& t, const TableSchema* s, const std::string& column) {
    known(s, column);
    if (!t.is_bind || t.bind_index < 0 || t.bind_index >= static_cast<int>(out_.size())) return;
    out_[t.bind_index].name = column;
    if (s) {
      int i = s->columnIndex(column);
      if (i >= 0) out_[t.bind_index].type = s->columns[i].type;
    }
  }
  void special(const std::optional<Term>& t, const char* name) {
    if (t && t->is_bind && t->bind_index < static_cast<int>(out_.size())) {
      out_[t->bind_index].name = name;
      out_[t->bind_index].type = ColumnType::kBigint;
    }
  }
  void usingClause(const UsingClause& u) {
    special(u.ttl, "[ttl]");
    special(u.timestamp, "[timestamp]");
  }
  void on(const Insert& s) {
    auto t = table(s.table);
    for (size_t i = 0; i < s.values.size(); ++i) bind(s.values[i], t.get(), s.columns[i]);
    usingClause(s.using_);
  }
  void on(const Update& s) {
    auto t = table(s.table);
    usingClause(s.using_);
    for (const auto& a : s.set) bind(a.term, t.get(), a.column);
    for (const auto& r : s.where) bind(r.term, t.get(), r.column);
    for (const auto& r : s.conditions) bind(r.term, t.get(), r.column);
  }
  void on(const Delete& s) {
    auto t = table(s.table);
    for (const auto& c : s.columns) known(t.get(), c);
    usingClause(s.using_);
    for (const auto& r : s.where) bind(r.term, t.get(), r.column);
    for (const auto& r : s.conditions) bind(r.term, t.get(), r.column);
  }
  void on(const Select& s) {
    auto t = table(s.table);
    for (const auto& c : s.columns) known(t.get(), c);
    for (const auto& r : s.where) bind(r.term, t.get(), r.column);
    special(s.limit, "[limit]");
  }
  void on(const Batch& b) {
    usingClause(b.using_);
    for (const auto& m : b.statements) std::visit([&](const auto& s) { on(s); }, m);
  }
  template <class T>
  void on(const T&) {}

  Cluster& cluster_;
  std::string keyspace_;
  std::vector<BindSpec> out_;
  Status error_;
};

}  // namespace

Result<ResultSet> Session::execute(std::string_view text, const std::vector<Value>& binds, const QueryOptions& options) {
  SANDBANK_ASSIGN_OR_RETURN(cql::Parsed parsed, cql::parseCql(text));
  Executor ex(cluster_, binds, options, parsed.bind_count);
  return ex.run(parsed.statement);
}

Result<std::shared_ptr<const PreparedStatement>> Session::prepare(std::string_view text, const std::string& keyspace) {
  SANDBANK_ASSIGN_OR_RETURN(cql::Parsed parsed, cql::parseCql(text));
  BindCollector bc(cluster_, keyspace, parsed.bind_count);
  bc.visit(parsed.statement);
  if (!bc.error().ok()) return bc.error();
  return std::shared_ptr<const PreparedStatement>(
      std::make_shared<PreparedStatement>(std::string(text), std::move(parsed), bc.take()));
}

Result<ResultSet> Session::execute(const PreparedStatement& statement, const std::vector<Value>& binds,
                                   const QueryOptions& options) {
  Executor ex(cluster_, binds, options, statement.parsed().bind_count);
  return ex.run(statement.parsed().statement);
}

}  // namespace sandbank::store
