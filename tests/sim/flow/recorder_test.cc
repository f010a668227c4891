// Tests for the Recorder and RecordingFlowQuery: a recording round-trips events (payloads
// included), process lifecycle, logs, scenario results and run metadata.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "flow_test_util.h"
#include "sandbank/flow/flow_query.h"
#include "sandbank/flow/recorder.h"

namespace sandbank::flow {
namespace {

using testing::TempDir;

RunInfo sampleRun() {
  RunInfo r;
  r.started_real_us = 1'764'000'000'000'000;
  r.started_sim_us = 1'764'600'000'000'000;
  r.manifest = "services:\n  - ledger\n";
  r.seed = 1234;
  r.version = "0.1.0";
  return r;
}

// Every field set to something other than its default.
FlowEvent fullEvent(uint64_t id) {
  FlowEvent e;
  e.id = id;
  e.trace_id = "0af7651916cd43dd8448eb211c80319c";
  e.span_id = "b7ad6b7169203331";
  e.parent_span_id = "00f067aa0ba902b7";
  e.start_sim_us = 100 + static_cast<int64_t>(id);
  e.end_sim_us = 200 + static_cast<int64_t>(id);
  e.start_real_us = 300;
  e.end_real_us = 400;
  e.kind = FlowKind::kDeliver;
  e.source = "bus";
  e.destination = "transaction";
  e.method = "Deliver";
  e.topic = "card.authorisations";
  e.partition = 7;
  e.offset = 123456789012;
  e.consumer_group = "transaction";
  e.keyspace = "ks";
  e.table = "tbl";
  e.partition_key = "acc-1";
  e.status = "OffsetOutOfRange";
  e.size = 5;
  e.payload = std::string("\x00\x01\xfe\xff" "z", 5);
  e.payload_type = "sandbank.card.Authorisation";
  e.detail = "redelivered after rebalance";
  return e;
}

TEST(Recorder, RoundTripsEventsWithPayloads) {
  TempDir dir;
  const std::string path = dir.file("run.sqlite");
  auto rec = Recorder::create(path, sampleRun());
  ASSERT_TRUE(rec.ok()) << rec.status().toString();
  std::vector<FlowEvent> written = testing::paymentTrace();
  for (size_t i = 0; i < written.size(); ++i) written[i].id = i + 1;
  written.push_back(fullEvent(written.size() + 1));
  FlowEvent no_payload = fullEvent(written.size() + 1);
  no_payload.payload.clear();
  no_payload.trace_id.clear();
  written.push_back(no_payload);
  for (const auto& e : written) ASSERT_TRUE((*rec)->record(std::make_shared<FlowEvent>(e)));
  ASSERT_TRUE((*rec)->close().ok());

  auto q = RecordingFlowQuery::open(path);
  ASSERT_TRUE(q.ok()) << q.status().toString();
  auto read = (*q)->events({});
  ASSERT_TRUE(read.ok()) << read.status().toString();
  testing::expectSameEvents(written, *read);

  auto run = (*q)->runInfo();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->manifest, "services:\n  - ledger\n");
  EXPECT_EQ(run->seed, 1234);
  EXPECT_EQ(run->version, "0.1.0");
  EXPECT_EQ(run->started_sim_us, 1'764'600'000'000'000);
  EXPECT_EQ(run->events_recorded, written.size());
  EXPECT_EQ(run->events_dropped, 0u);
  EXPECT_GT(run->ended_real_us, 0);
}

// Runs one statement on a recording and returns the first column of its first row as text
// ("" when there is no row), or the SQLite error prefixed with "error: ".
std::string sqlScalar(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    out = std::string("error: ") + sqlite3_errmsg(db);
  } else {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
      out = std::string("error: ") + sqlite3_errmsg(db);
    } else {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW && sqlite3_column_text(s, 0))
        out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        out = std::string("error: ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out;
}

// Writes a payload-carrying and a payload-less event and closes the recording.
std::vector<FlowEvent> recordOneWithAndOneWithoutPayload(const std::string& path) {
  std::vector<FlowEvent> written = {fullEvent(1), fullEvent(2)};
  written[1].payload.clear();
  auto rec = Recorder::create(path, sampleRun());
  EXPECT_TRUE(rec.ok()) << rec.status().toString();
  if (!rec.ok()) return {};
  for (const auto& e : written) EXPECT_TRUE((*rec)->record(std::make_shared<FlowEvent>(e)));
  EXPECT_TRUE((*rec)->close().ok());
  return written;
}

TEST(Recorder, StoresPayloadsInTheEventRowAndKeepsAPayloadsView) {
  TempDir dir;
  const std::string path = dir.file("run.sqlite");
  ASSERT_EQ(recordOneWithAndOneWithoutPayload(path).size(), 2u);
  EXPECT_EQ(sqlScalar(path, "SELECT schema_version FROM run"),
            std::to_string(kRecordingSchemaVersion));
  EXPECT_EQ(sqlScalar(path, "SELECT hex(payload) FROM events WHERE id = 1"), "0001FEFF7A");
  EXPECT_EQ(sqlScalar(path, "SELECT payload IS NULL FROM events WHERE id = 2"), "1");
  // The view answers as the old table did: one row per payload, keyed by the event id.
  EXPECT_EQ(sqlScalar(path, "SELECT group_concat(id || ':' || hex(bytes)) FROM payloads"),
            "1:0001FEFF7A");
}

TEST(RecordingFlowQuery, ReadsSchemaOneRecordingsWithAPayloadsTable) {
  TempDir dir;
  const std::string path = dir.file("run.sqlite");
  const std::vector<FlowEvent> written = recordOneWithAndOneWithoutPayload(path);
  ASSERT_EQ(written.size(), 2u);
  // Rewrite the file into schema 1's shape: payload bytes only in a `payloads` table with
  // ids of its own, referenced by events.payload_id.
  ASSERT_EQ(sqlScalar(path,
                      "SELECT 1 FROM pragma_table_info('events') WHERE name = 'payload'"),
            "1");
  for (const char* sql :
       {"DROP VIEW payloads", "CREATE TABLE payloads(id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)",
        "ALTER TABLE events ADD COLUMN payload_id INTEGER",
        "INSERT INTO payloads(id, bytes) SELECT id + 40, payload FROM events "
        "WHERE payload IS NOT NULL",
        "UPDATE events SET payload_id = id + 40, payload = NULL WHERE payload IS NOT NULL",
        "UPDATE run SET schema_version = 1"})
    ASSERT_EQ(sqlScalar(path, sql), "") << sql;

  auto q = RecordingFlowQuery::open(path);
  ASSERT_TRUE(q.ok()) << q.status().toString();
  auto read = (*q)->events({});
  ASSERT_TRUE(read.ok()) << read.status().toString();
  testing::expectSameEvents(written, *read);

  ASSERT_EQ(sqlScalar(path, "UPDATE run SET schema_version = 99"), "");
  auto future = RecordingFlowQuery::open(path);
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.status().code(), StatusCode::kFailedPrecondition);
}

TEST(Recorder, EventsWithoutHubIdsGetRowIds) {
  TempDir dir;
  auto rec = Recorder::create(dir.file("run.sqlite"), sampleRun());
  ASSERT_TRUE(rec.ok());
  FlowEvent e = fullEvent(0);
  (*rec)->emit(e);
  (*rec)->emit(e);
  ASSERT_TRUE((*rec)->close().ok());
  auto q = RecordingFlowQuery::open(dir.file("run.sqlite"));
  ASSERT_TRUE(q.ok());
  auto read = (*q)->events({});
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].id, 1u);
  EXPECT_EQ((*read)[1].id, 2u);
  EXPECT_EQ((*read)[1].payload, e.payload);
}

TEST(Recorder, RoundTripsProcessesLogsAndScenarios) {
  TempDir dir;
  auto rec = Recorder::create(dir.file("run.sqlite"), sampleRun());
  ASSERT_TRUE(rec.ok());
  std::vector<ProcessRecord> procs = {
      {10, "ledger", "ledger-0", 4242, ProcessState::kStarting, std::nullopt},
      {20, "ledger", "ledger-0", 4242, ProcessState::kReady, std::nullopt},
      {30, "ledger", "ledger-0", 4242, ProcessState::kExited, 137},
  };
  std::vector<LogEntry> logs = {
      {15, "ledger", "ledger-0", LogLevel::kWarn, "trace-1", "slow write",
       {{"zeta", "1"}, {"alpha", "two words"}}},
      {16, "card", "card-0", LogLevel::kError, "", "boom", {}},
  };
  std::vector<ScenarioResult> scenarios = {
      {"card-payment-happy-path", "passed", 1'500'000, "", "trace-1"},
      {"fps-timeout", "failed", 2'000'000, "expected a reversal", ""},
  };
  for (auto& p : procs) ASSERT_TRUE((*rec)->recordProcess(p));
  for (auto& l : logs) ASSERT_TRUE((*rec)->recordLog(l));
  for (auto& s : scenarios) ASSERT_TRUE((*rec)->recordScenario(s));
  ASSERT_TRUE((*rec)->close().ok());

  auto q = RecordingFlowQuery::open(dir.file("run.sqlite"));
  ASSERT_TRUE(q.ok());
  auto p = (*q)->processes();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, procs);
  auto l = (*q)->logs();
  ASSERT_TRUE(l.ok()) << l.status().toString();
  EXPECT_EQ(*l, logs);
  auto traced = (*q)->logs("trace-1");
  ASSERT_TRUE(traced.ok());
  ASSERT_EQ(traced->size(), 1u);
  EXPECT_EQ((*traced)[0].message, "slow write");
  auto s = (*q)->scenarios();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, scenarios);
}

TEST(Recorder, FlushMakesEventsReadableWhileTheRunContinues) {
  TempDir dir;
  auto rec = Recorder::create(dir.file("run.sqlite"), sampleRun());
  ASSERT_TRUE(rec.ok());
  for (uint64_t i = 1; i <= 3000; ++i) (*rec)->emit(fullEvent(i));
  ASSERT_TRUE((*rec)->flush().ok());
  EXPECT_EQ((*rec)->stats().written, 3000u);
  EXPECT_GE((*rec)->stats().batches, 3u);  // batches of at most 1000 rows

  auto q = RecordingFlowQuery::open(dir.file("run.sqlite"));
  ASSERT_TRUE(q.ok());
  auto read = (*q)->events({}, 5);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 5u);
  EXPECT_EQ(read->back().id, 3000u);
  (*rec)->emit(fullEvent(3001));
  ASSERT_TRUE((*rec)->flush().ok());
  auto again = (*q)->events({}, 1);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->back().id, 3001u);
  ASSERT_TRUE((*rec)->close().ok());
}

TEST(Recorder, CountsEventsRefusedAfterClose) {
  TempDir dir;
  auto rec = Recorder::create(dir.file("run.sqlite"), sampleRun());
  ASSERT_TRUE(rec.ok());
  (*rec)->emit(fullEvent(1));
  ASSERT_TRUE((*rec)->close().ok());
  EXPECT_FALSE((*rec)->record(std::make_shared<FlowEvent>(fullEvent(2))));
  EXPECT_FALSE((*rec)->recordLog(LogEntry{}));
  RecorderStats s = (*rec)->stats();
  EXPECT_EQ(s.written, 1u);
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_EQ(s.other_dropped, 1u);
}

TEST(Recorder, RefusesToOverwriteAnExistingRecording) {
  TempDir dir;
  const std::string path = dir.file("run.sqlite");
  std::ofstream(path) << "earlier run";
  auto rec = Recorder::create(path, sampleRun());
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), StatusCode::kAlreadyExists);
}

TEST(Recorder, UsesWalAndHasTheQueryIndexes) {
  TempDir dir;
  const std::string path = dir.file("run.sqlite");
  auto rec = Recorder::create(path, sampleRun());
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE((*rec)->close().ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto scalar = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  };
  EXPECT_EQ(scalar("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(scalar("SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master "
                   "WHERE type = 'index' AND tbl_name = 'events' ORDER BY name)"),
            "events_by_destination,events_by_source,events_by_time,events_by_trace");
  EXPECT_EQ(scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'traces'"),
            "traces_by_id");
  sqlite3_close(db);
}

TEST(Recorder, UnclosedRecordingAnswersQueriesAndFinalizeAddsItsIndexes) {
  TempDir dir;
  const std::string path = dir.file("run.sqlite");
  auto rec = Recorder::create(path, sampleRun());
  ASSERT_TRUE(rec.ok());
  for (auto& e : testing::paymentTrace()) (*rec)->emit(e);
  ASSERT_TRUE((*rec)->flush().ok());
  auto indexCount = [&] {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'", -1, &s,
                       nullptr);
    sqlite3_step(s);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
  };
  // As after a crash: written, never closed.
  EXPECT_EQ(indexCount(), 0);
  {
    auto q = RecordingFlowQuery::open(path);
    ASSERT_TRUE(q.ok());
    auto events = (*q)->trace(testing::kPaymentTrace);
    ASSERT_TRUE(events.ok()) << events.status().toString();
    EXPECT_EQ(events->size(), 9u);
    auto run = (*q)->runInfo();
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->ended_real_us, 0);  // the run never ended cleanly
  }
  ASSERT_TRUE(finalizeRecording(path).ok());
  EXPECT_EQ(indexCount(), 7);
  ASSERT_TRUE((*rec)->close().ok());
  EXPECT_EQ(finalizeRecording(dir.file("missing.sqlite")).code(), StatusCode::kNotFound);
}

TEST(RecordingFlowQuery, ExplainsFilesThatAreNotRecordings) {
  TempDir dir;
  auto missing = RecordingFlowQuery::open(dir.file("nope.sqlite"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  const std::string other = dir.file("other.sqlite");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE x(a)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto wrong = RecordingFlowQuery::open(other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sandbank::flow
