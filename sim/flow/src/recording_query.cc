// RecordingFlowQuery: reads a recording through its own read-only SQLite connection.
// SQL narrows by the indexed fields (trace, service, time, kind, status); the shared
// FlowFilter predicate then decides, so answers equal the live query's.
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "event_codec.h"
#include "recording_schema.h"
#include "sandbank/flow/flow_query.h"
#include "sqlite_util.h"

namespace sandbank::flow {

struct RecordingFlowQuery::Conn {
  sqlite3* db = nullptr;
  std::string path;
  int64_t schema_version = 0;  // kRecordingSchemaVersion, or 1 (payloads in their own table)
  ~Conn() { sqlite3_close_v2(db); }
};

RecordingFlowQuery::RecordingFlowQuery(std::unique_ptr<Conn> conn) : conn_(std::move(conn)) {}
RecordingFlowQuery::~RecordingFlowQuery() = default;

Result<std::unique_ptr<RecordingFlowQuery>> RecordingFlowQuery::open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound("no recording at " + path);
  auto conn = std::make_unique<Conn>();
  conn->path = path;
  if (sqlite3_open_v2(path.c_str(), &conn->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return sqlite::error(conn->db, "cannot open recording " + path);
  sqlite3_busy_timeout(conn->db, 2000);
  sqlite::Stmt s;
  if (!s.prepare(conn->db, "SELECT schema_version FROM run WHERE id = 1").ok() ||
      sqlite3_step(s.get()) != SQLITE_ROW)
    return FailedPrecondition(path + " is not a sandbank recording (no run table)");
  int64_t version = s.colI64(0);
  if (version != kRecordingSchemaVersion && version != 1)
    return FailedPrecondition(path + " has recording schema " + std::to_string(version) +
                              ", this sandbank reads schema " +
                              std::to_string(kRecordingSchemaVersion));
  conn->schema_version = version;
  return std::unique_ptr<RecordingFlowQuery>(new RecordingFlowQuery(std::move(conn)));
}

namespace {

// Reads the event columns in schema::kEventColumns order.
Result<FlowEvent> readEvent(const sqlite::Stmt& s, const std::string& path) {
  FlowEvent e;
  e.id = static_cast<uint64_t>(s.colI64(0));
  e.trace_id = s.colText(1);
  e.start_sim_us = s.colI64(2);
  e.end_sim_us = s.colI64(3);
  e.kind = static_cast<FlowKind>(s.colI64(4));
  e.source = s.colText(5);
  e.destination = s.colText(6);
  e.status = s.colText(7);
  if (!codec::decodeExt(s.colBlob(8), &e))
    return FailedPrecondition("event " + std::to_string(e.id) + " in " + path +
                              " has malformed packed fields");
  e.payload = s.colBlob(9);
  return e;
}

// Binds values in order of appearance in the WHERE clause.
struct Binder {
  std::vector<std::string> texts;
  std::vector<std::pair<int, int64_t>> ints;  // (position, value)
  std::vector<std::pair<int, size_t>> text_at;  // (position, index in texts)
  int next = 1;
  void text(std::string v) {
    text_at.push_back({next++, texts.size()});
    texts.push_back(std::move(v));
  }
  void i64(int64_t v) { ints.push_back({next++, v}); }
  void apply(sqlite::Stmt& s) {
    for (auto [pos, i] : text_at) s.text(pos, texts[i]);
    for (auto [pos, v] : ints) s.i64(pos, v);
  }
};

}  // namespace

Result<std::vector<FlowEvent>> RecordingFlowQuery::events(const FlowFilter& filter,
                                                          size_t limit) {
  std::string sql = "SELECT ";
  // Schema 1 kept payload bytes in a `payloads` table, referenced by events.payload_id.
  const bool v1 = conn_->schema_version == 1;
  {
    // Qualify every column of kEventColumns ("id, trace_no, ...") with the alias, reading
    // the trace id in place of trace_no.
    std::string_view cols = schema::kEventColumns;
    bool first = true;
    while (!cols.empty()) {
      size_t comma = cols.find(", ");
      std::string_view col = cols.substr(0, comma);
      if (!first) sql += ", ";
      first = false;
      if (col == "trace_no")
        sql += "t.trace_id";
      else if (col == "payload" && v1)
        sql += "p.bytes";
      else
        sql += "e." + std::string(col);
      cols = comma == std::string_view::npos ? std::string_view() : cols.substr(comma + 2);
    }
  }
  sql += " FROM events e LEFT JOIN traces t ON t.trace_no = e.trace_no";
  if (v1) sql += " LEFT JOIN payloads p ON p.id = e.payload_id";
  sql += " WHERE 1";
  Binder b;
  if (!filter.trace_id.empty()) {
    sql += " AND e.trace_no IN (SELECT trace_no FROM traces WHERE trace_id = ?)";
    b.text(filter.trace_id);
  }
  if (filter.kinds != 0) {
    sql += " AND e.kind IN (";
    bool first = true;
    for (int k = 0; k < 32; ++k) {
      if (filter.kinds & (1u << k)) {
        sql += first ? "?" : ",?";
        first = false;
        b.i64(k);
      }
    }
    sql += ")";
  }
  if (filter.from_sim_us) {
    sql += " AND e.start_sim_us >= ?";
    b.i64(*filter.from_sim_us);
  }
  if (filter.to_sim_us) {
    sql += " AND e.start_sim_us < ?";
    b.i64(*filter.to_sim_us);
  }
  if (!filter.service.empty()) {
    // name == service, or service + "/..." ('0' is the character after '/').
    sql += " AND (e.source = ? OR (e.source >= ? AND e.source < ?) OR e.destination = ? OR "
           "(e.destination >= ? AND e.destination < ?))";
    for (int i = 0; i < 2; ++i) {
      b.text(filter.service);
      b.text(filter.service + "/");
      b.text(filter.service + "0");
    }
  }
  if (!filter.status.empty()) {
    sql += " AND e.status = ?";
    b.text(filter.status);
  }
  sql += " ORDER BY e.id DESC";

  sqlite::Stmt s;
  SANDBANK_RETURN_IF_ERROR(s.prepare(conn_->db, sql));
  b.apply(s);
  std::vector<FlowEvent> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    SANDBANK_ASSIGN_OR_RETURN(FlowEvent e, readEvent(s, conn_->path));
    if (!filter.matches(e)) continue;
    out.push_back(std::move(e));
    if (limit > 0 && out.size() >= limit) break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return sqlite::error(conn_->db, "reading " + conn_->path);
  std::reverse(out.begin(), out.end());
  return out;
}

Result<std::vector<TraceSummary>> RecordingFlowQuery::traces(size_t limit) {
  // Newest first so LIMIT keeps the newest, reversed below.
  std::string sql =
      "SELECT tr.trace_id, t.first_id, t.last_id, t.start_us, t.end_us, t.n, t.errors, "
      "f.source, f.ext FROM ("
      " SELECT trace_no, MIN(id) AS first_id, MAX(id) AS last_id,"
      " MIN(start_sim_us) AS start_us, MAX(end_sim_us) AS end_us, COUNT(*) AS n,"
      " SUM(CASE WHEN status IS NOT 'OK' OR kind = " +
      std::to_string(static_cast<int>(FlowKind::kFault)) +
      " THEN 1 ELSE 0 END) AS errors"
      " FROM events WHERE trace_no IS NOT NULL GROUP BY trace_no) t"
      " JOIN traces tr ON tr.trace_no = t.trace_no"
      " JOIN events f ON f.id = t.first_id ORDER BY t.first_id DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  sqlite::Stmt s;
  SANDBANK_RETURN_IF_ERROR(s.prepare(conn_->db, sql));
  std::vector<TraceSummary> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    TraceSummary t;
    t.trace_id = s.colText(0);
    t.first_event_id = static_cast<uint64_t>(s.colI64(1));
    t.last_event_id = static_cast<uint64_t>(s.colI64(2));
    t.start_sim_us = s.colI64(3);
    t.end_sim_us = s.colI64(4);
    t.events = static_cast<uint64_t>(s.colI64(5));
    t.errors = static_cast<uint64_t>(s.colI64(6));
    t.root_source = s.colText(7);
    FlowEvent root;
    if (!codec::decodeExt(s.colBlob(8), &root))
      return FailedPrecondition("event " + std::to_string(t.first_event_id) + " in " +
                                conn_->path + " has malformed packed fields");
    t.root_method = std::move(root.method);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return sqlite::error(conn_->db, "listing traces in " + conn_->path);
  std::reverse(out.begin(), out.end());
  return out;
}

Result<RunInfo> RecordingFlowQuery::runInfo() {
  sqlite::Stmt s;
  SANDBANK_RETURN_IF_ERROR(
      s.prepare(conn_->db,
                "SELECT started_real_us, started_sim_us, manifest, seed, version, "
                "ended_real_us, events_recorded, events_dropped FROM run WHERE id = 1"));
  if (sqlite3_step(s.get()) != SQLITE_ROW)
    return sqlite::error(conn_->db, "reading run info of " + conn_->path);
  RunInfo r;
  r.started_real_us = s.colI64(0);
  r.started_sim_us = s.colI64(1);
  r.manifest = s.colText(2);
  r.seed = s.colI64(3);
  r.version = s.colText(4);
  r.ended_real_us = s.colI64(5);
  r.events_recorded = static_cast<uint64_t>(s.colI64(6));
  r.events_dropped = static_cast<uint64_t>(s.colI64(7));
  return r;
}

Result<std::vector<ProcessRecord>> RecordingFlowQuery::processes() {
  sqlite::Stmt s;
  SANDBANK_RETURN_IF_ERROR(s.prepare(
      conn_->db,
      "SELECT time_sim_us, service, instance, pid, state, exit_code FROM processes ORDER BY id"));
  std::vector<ProcessRecord> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    ProcessRecord p;
    p.time_sim_us = s.colI64(0);
    p.service = s.colText(1);
    p.instance = s.colText(2);
    p.pid = s.colI64(3);
    if (!parseProcessState(s.colText(4), &p.state))
      return FailedPrecondition("unknown process state '" + s.colText(4) + "' in " + conn_->path);
    if (!s.colNull(5)) p.exit_code = static_cast<int>(s.colI64(5));
    out.push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return sqlite::error(conn_->db, "reading processes of " + conn_->path);
  return out;
}

Result<std::vector<LogEntry>> RecordingFlowQuery::logs(const std::string& trace_id) {
  sqlite::Stmt s;
  std::string sql =
      "SELECT time_sim_us, service, instance, level, trace_id, message, fields_json FROM logs";
  if (!trace_id.empty()) sql += " WHERE trace_id = ?";
  sql += " ORDER BY id";
  SANDBANK_RETURN_IF_ERROR(s.prepare(conn_->db, sql));
  if (!trace_id.empty()) s.text(1, trace_id);
  std::vector<LogEntry> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    LogEntry l;
    l.time_sim_us = s.colI64(0);
    l.service = s.colText(1);
    l.instance = s.colText(2);
    auto level = parseLogLevel(s.colText(3));
    if (!level.ok()) return level.status().withContext(conn_->path);
    l.level = *level;
    l.trace_id = s.colText(4);
    l.message = s.colText(5);
    auto fields = nlohmann::ordered_json::parse(s.colText(6), nullptr, /*allow_exceptions=*/false);
    if (!fields.is_object())
      return FailedPrecondition("log fields in " + conn_->path + " are not a JSON object");
    for (auto& [k, v] : fields.items())
      l.fields.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    out.push_back(std::move(l));
  }
  if (rc != SQLITE_DONE) return sqlite::error(conn_->db, "reading logs of " + conn_->path);
  return out;
}

Result<std::vector<ScenarioResult>> RecordingFlowQuery::scenarios() {
  sqlite::Stmt s;
  SANDBANK_RETURN_IF_ERROR(s.prepare(
      conn_->db, "SELECT name, status, duration_us, message, trace_id FROM scenarios ORDER BY id"));
  std::vector<ScenarioResult> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    ScenarioResult r;
    r.name = s.colText(0);
    r.status = s.colText(1);
    r.duration_us = s.colI64(2);
    r.message = s.colText(3);
    r.trace_id = s.colText(4);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return sqlite::error(conn_->db, "reading scenarios of " + conn_->path);
  return out;
}

}  // namespace sandbank::flow
