// The SQLite schema of a recording, shared by the writer (recorder.cc) and the reader
// (recording_query.cc). Bump kRecordingSchemaVersion (recorder.h) when it changes.
// Thread-safety: constants only.
#pragma once

namespace sandbank::flow::schema {

// Indexes are built in bulk when the recording is closed (kCreateIndexes), not kept up
// to date row by row: maintaining the four event indexes per insert cut the sustained
// write rate by 3-5x on the reference machine, while building them at close costs about
// 1.5 s per million events. A recording left by a crashed run still answers every query
// (by scanning) and finalizeRecording() adds its indexes.
//
// Why `traces`: trace ids are random 32-hex strings; events carry a small trace number
// handed out in order of first appearance (so their index is cheap and compact) and the
// text id is stored once per trace.
//
// Why payloads sit in the events row (schema 2): a separate `payloads` table cost a second
// INSERT per payload-carrying event plus a B-tree of its own, and held the 128-byte payload
// mix to 0.32-0.42 of the raw SQLite baseline. The bytes now go in `events.payload` (NULL
// when the event has none), last in the row so the filtered columns come first; the
// `payloads` view keeps the old shape (id = the event id) for anyone reading with SQL.
inline constexpr const char* kCreate = R"sql(
CREATE TABLE run(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  schema_version INTEGER NOT NULL,
  started_real_us INTEGER NOT NULL,
  started_sim_us INTEGER NOT NULL,
  manifest TEXT,
  seed INTEGER NOT NULL,
  version TEXT,
  ended_real_us INTEGER,
  events_recorded INTEGER,
  events_dropped INTEGER);
CREATE TABLE traces(
  trace_no INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL);
CREATE TABLE events(
  id INTEGER PRIMARY KEY,
  trace_no INTEGER REFERENCES traces(trace_no),
  start_sim_us INTEGER NOT NULL,
  end_sim_us INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  source TEXT,
  destination TEXT,
  status TEXT,
  ext BLOB NOT NULL,
  payload BLOB);
CREATE VIEW payloads(id, bytes) AS
  SELECT id, payload FROM events WHERE payload IS NOT NULL;
CREATE TABLE processes(
  id INTEGER PRIMARY KEY,
  time_sim_us INTEGER NOT NULL,
  service TEXT NOT NULL,
  instance TEXT,
  pid INTEGER NOT NULL,
  state TEXT NOT NULL,
  exit_code INTEGER);
CREATE TABLE logs(
  id INTEGER PRIMARY KEY,
  time_sim_us INTEGER NOT NULL,
  service TEXT,
  instance TEXT,
  level TEXT NOT NULL,
  trace_id TEXT,
  message TEXT,
  fields_json TEXT);
CREATE TABLE scenarios(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  duration_us INTEGER NOT NULL,
  message TEXT,
  trace_id TEXT);
)sql";

// Built by Recorder::close() and finalizeRecording().
inline constexpr const char* kCreateIndexes = R"sql(
CREATE INDEX IF NOT EXISTS traces_by_id ON traces(trace_id);
CREATE INDEX IF NOT EXISTS events_by_trace ON events(trace_no) WHERE trace_no IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_time ON events(start_sim_us);
CREATE INDEX IF NOT EXISTS events_by_source ON events(source);
CREATE INDEX IF NOT EXISTS events_by_destination ON events(destination);
CREATE INDEX IF NOT EXISTS logs_by_trace ON logs(trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS logs_by_time ON logs(time_sim_us);
)sql";

// Column order shared by the event INSERT and the reader's SELECT (which reads the trace
// id through `traces` in place of trace_no). `ext` holds every other FlowEvent field,
// packed by event_codec.h: SQL filters only on the columns, and FlowFilter decides the
// rest after decoding. `payload` is the raw payload bytes, NULL when there are none.
inline constexpr const char* kEventColumns =
    "id, trace_no, start_sim_us, end_sim_us, kind, source, destination, status, ext, "
    "payload";

}  // namespace sandbank::flow::schema
