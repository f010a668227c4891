// Recorder: the producer side (a mutex-guarded pair of vectors) and the writer thread
// that owns the SQLite connection. Only the writer thread touches db_ until close()
// has joined it.
#include "sandbank/flow/recorder.h"

#include <sqlite3.h>

#include <array>
#include <filesystem>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "event_codec.h"
#include "recording_schema.h"
#include "sqlite_util.h"

namespace sandbank::flow {
namespace {
constexpr std::array<std::string_view, 5> kProcessStateNames = {"starting", "ready", "exited",
                                                                "restarting", "killed"};

// How long the writer lets a partial batch gather before writing it.
constexpr auto kLinger = std::chrono::milliseconds(5);

RecorderOptions normalized(RecorderOptions o) {
  if (o.batch_size == 0) o.batch_size = 1;
  if (o.queue_capacity == 0) o.queue_capacity = 1;
  return o;
}
}  // namespace

std::string_view processStateName(ProcessState s) {
  auto i = static_cast<size_t>(s);
  return i < kProcessStateNames.size() ? kProcessStateNames[i] : "unknown";
}

bool parseProcessState(std::string_view name, ProcessState* out) {
  for (size_t i = 0; i < kProcessStateNames.size(); ++i) {
    if (kProcessStateNames[i] == name) {
      *out = static_cast<ProcessState>(i);
      return true;
    }
  }
  return false;
}

struct Recorder::Db {
  sqlite3* db = nullptr;
  sqlite::Stmt begin, commit, rollback;
  sqlite::Stmt insert_event, insert_process, insert_log, insert_scenario;
  sqlite::Stmt insert_trace;
  // Every trace id seen in this run -> its trace_no (about 100 bytes per trace).
  std::unordered_map<std::string, int64_t> trace_nos;
  ~Db() {
    // Statements first, then the connection.
    begin = {};
    commit = {};
    rollback = {};
    insert_event = {};
    insert_process = {};
    insert_log = {};
    insert_scenario = {};
    insert_trace = {};
    sqlite3_close_v2(db);
  }
  Status step(sqlite::Stmt& s, const char* what) {
    int rc = sqlite3_step(s.get());
    s.reset();
    if (rc != SQLITE_DONE) return sqlite::error(db, what);
    return OkStatus();
  }
};

Result<std::shared_ptr<Recorder>> Recorder::create(const std::string& path, RunInfo run,
                                                   RecorderOptions options) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec))
    return AlreadyExists("recording " + path +
                         " already exists; each run records into a new file");
  auto db = std::make_unique<Db>();
  if (sqlite3_open_v2(path.c_str(), &db->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return sqlite::error(db->db, "cannot create recording " + path);
  sqlite3* h = db->db;
  // 16 KiB pages (set before WAL mode, which fixes the page size) and a checkpoint every
  // 1024 pages: the WAL is folded back every 16 MiB instead of every 4 MiB. Each checkpoint
  // syncs the WAL and the database file, and with payload rows (~250 bytes) a 4 MiB
  // interval meant a sync every ~16 k events; this held the payload mix near 0.4 of the
  // raw baseline. Every byte is still checkpointed the same number of times.
  SANDBANK_RETURN_IF_ERROR(sqlite::exec(h, "PRAGMA page_size=16384"));
  SANDBANK_RETURN_IF_ERROR(sqlite::exec(h, "PRAGMA journal_mode=WAL"));
  SANDBANK_RETURN_IF_ERROR(sqlite::exec(h, "PRAGMA synchronous=NORMAL"));
  SANDBANK_RETURN_IF_ERROR(sqlite::exec(h, "PRAGMA wal_autocheckpoint=1024"));
  SANDBANK_RETURN_IF_ERROR(sqlite::exec(h, "PRAGMA cache_size=-32768"));  // 32 MiB
  SANDBANK_RETURN_IF_ERROR(sqlite::exec(h, "BEGIN"));
  SANDBANK_RETURN_IF_ERROR(sqlite::exec(h, schema::kCreate));
  {
    sqlite::Stmt s;
    SANDBANK_RETURN_IF_ERROR(s.prepare(
        h, "INSERT INTO run(id, schema_version, started_real_us, started_sim_us, manifest, "
           "seed, version) VALUES (1, ?, ?, ?, ?, ?, ?)"));
    s.i64(1, kRecordingSchemaVersion);
    s.i64(2, run.started_real_us);
    s.i64(3, run.started_sim_us);
    s.text(4, run.manifest);
    s.i64(5, run.seed);
    s.text(6, run.version);
    SANDBANK_RETURN_IF_ERROR(db->step(s, "write run info"));
  }
  SANDBANK_RETURN_IF_ERROR(sqlite::exec(h, "COMMIT"));

  SANDBANK_RETURN_IF_ERROR(db->begin.prepare(h, "BEGIN"));
  SANDBANK_RETURN_IF_ERROR(db->commit.prepare(h, "COMMIT"));
  SANDBANK_RETURN_IF_ERROR(db->rollback.prepare(h, "ROLLBACK"));
  SANDBANK_RETURN_IF_ERROR(db->insert_event.prepare(
      h, std::string("INSERT INTO events(") + schema::kEventColumns +
             ") VALUES (?,?,?,?,?,?,?,?,?,?)"));
  SANDBANK_RETURN_IF_ERROR(
      db->insert_trace.prepare(h, "INSERT INTO traces(trace_no, trace_id) VALUES (?, ?)"));
  SANDBANK_RETURN_IF_ERROR(db->insert_process.prepare(
      h, "INSERT INTO processes(time_sim_us, service, instance, pid, state, exit_code) "
         "VALUES (?,?,?,?,?,?)"));
  SANDBANK_RETURN_IF_ERROR(db->insert_log.prepare(
      h, "INSERT INTO logs(time_sim_us, service, instance, level, trace_id, message, "
         "fields_json) VALUES (?,?,?,?,?,?,?)"));
  SANDBANK_RETURN_IF_ERROR(db->insert_scenario.prepare(
      h, "INSERT INTO scenarios(name, status, duration_us, message, trace_id) "
         "VALUES (?,?,?,?,?)"));
  return std::shared_ptr<Recorder>(new Recorder(path, options, std::move(db)));
}

Recorder::Recorder(std::string path, RecorderOptions options, std::unique_ptr<Db> db)
    : path_(std::move(path)), options_(normalized(options)), db_(std::move(db)) {
  pending_events_.reserve(std::min<size_t>(options_.queue_capacity, 1 << 14));
  writer_ = std::thread([this] { writerLoop(); });
}

Recorder::~Recorder() { (void)close(); }

bool Recorder::record(std::shared_ptr<const FlowEvent> event) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || pending_events_.size() >= options_.queue_capacity) {
      ++dropped_;
      return false;
    }
    pending_events_.push_back(std::move(event));
    ++queued_;
    ++events_queued_;
    // Wake the writer once per full batch; smaller amounts wait for its linger timeout.
    // A wake-up per event cost a futex call per emit whenever the writer was idle.
    wake = writer_waiting_ && pending_events_.size() == options_.batch_size;
  }
  if (wake) writer_cv_.notify_one();
  return true;
}

bool Recorder::queueOther(OtherRecord r) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || pending_other_.size() >= options_.queue_capacity) {
      ++other_dropped_;
      return false;
    }
    pending_other_.push_back(std::move(r));
    ++queued_;
    wake = writer_waiting_ && pending_other_.size() == options_.batch_size;
  }
  if (wake) writer_cv_.notify_one();
  return true;
}

bool Recorder::recordProcess(ProcessRecord r) { return queueOther(std::move(r)); }
bool Recorder::recordLog(LogEntry r) { return queueOther(std::move(r)); }
bool Recorder::recordScenario(ScenarioResult r) { return queueOther(std::move(r)); }

void Recorder::writerLoop() {
  std::vector<std::shared_ptr<const FlowEvent>> events;
  std::vector<OtherRecord> others;
  events.reserve(std::min<size_t>(options_.queue_capacity, 1 << 14));
  for (;;) {
    {
      std::unique_lock lock(mu_);
      // Write when something is pending and a batch is full, a flush waits, or kLinger
      // has passed; or when closing. Otherwise sleep in kLinger steps.
      auto deadline = std::chrono::steady_clock::now() + kLinger;
      while (!stopping_) {
        const bool has = !pending_events_.empty() || !pending_other_.empty();
        if (has && (flush_waiters_ > 0 || pending_events_.size() >= options_.batch_size ||
                    pending_other_.size() >= options_.batch_size))
          break;
        writer_waiting_ = true;
        const auto woke = writer_cv_.wait_until(lock, deadline);
        writer_waiting_ = false;
        if (woke == std::cv_status::timeout) {
          if (!pending_events_.empty() || !pending_other_.empty()) break;
          deadline = std::chrono::steady_clock::now() + kLinger;
        }
      }
      if (pending_events_.empty() && pending_other_.empty()) break;  // closing, drained
      peak_pending_ = std::max<uint64_t>(peak_pending_, pending_events_.size());
      events.swap(pending_events_);
      others.swap(pending_other_);
    }
    const uint64_t n_events = events.size();
    const uint64_t n_total = n_events + others.size();
    uint64_t batches = 0;
    Status s = writeBatch(events, others);
    if (s.ok()) batches = (n_events + options_.batch_size - 1) / options_.batch_size;
    events.clear();  // frees the events outside the lock
    others.clear();
    {
      std::lock_guard lock(mu_);
      done_ += n_total;
      if (s.ok()) {
        written_ += n_events;
        batches_ += std::max<uint64_t>(batches, 1);
      } else {
        dropped_ += n_events;
        if (error_.ok()) error_ = s;
      }
    }
    flush_cv_.notify_all();
  }
}

Status Recorder::writeBatch(std::vector<std::shared_ptr<const FlowEvent>>& events,
                            std::vector<OtherRecord>& others) {
  Db& d = *db_;
  size_t i = 0;
  bool first = true;
  while (first || i < events.size()) {
    SANDBANK_RETURN_IF_ERROR(d.step(d.begin, "begin"));
    Status s;
    std::vector<const std::string*> new_traces;  // added to trace_nos in this transaction
    std::string ext;                              // reused for every row
    if (first) {
      for (auto& o : others) {
        if (auto* p = std::get_if<ProcessRecord>(&o)) {
          auto& st = d.insert_process;
          st.i64(1, p->time_sim_us);
          st.text(2, p->service);
          st.text(3, p->instance);
          st.i64(4, p->pid);
          st.text(5, processStateName(p->state));
          if (p->exit_code) st.i64(6, *p->exit_code); else st.null(6);
          s = d.step(st, "write process row");
        } else if (auto* l = std::get_if<LogEntry>(&o)) {
          nlohmann::ordered_json fields = nlohmann::ordered_json::object();
          for (const auto& [k, v] : l->fields) fields[k] = v;
          std::string fields_json = fields.dump();
          auto& st = d.insert_log;
          st.i64(1, l->time_sim_us);
          st.text(2, l->service);
          st.text(3, l->instance);
          st.text(4, logLevelName(l->level));
          st.text(5, l->trace_id);
          st.text(6, l->message);
          st.text(7, fields_json);
          s = d.step(st, "write log row");
        } else if (auto* r = std::get_if<ScenarioResult>(&o)) {
          auto& st = d.insert_scenario;
          st.text(1, r->name);
          st.text(2, r->status);
          st.i64(3, r->duration_us);
          st.text(4, r->message);
          st.text(5, r->trace_id);
          s = d.step(st, "write scenario row");
        }
        if (!s.ok()) break;
      }
      first = false;
    }
    size_t end = std::min(events.size(), i + options_.batch_size);
    for (; s.ok() && i < end; ++i) {
      const FlowEvent& e = *events[i];
      auto& st = d.insert_event;
      if (e.id) st.i64(1, static_cast<int64_t>(e.id)); else st.null(1);
      if (e.trace_id.empty()) {
        st.null(2);
      } else {
        auto [it, fresh] = d.trace_nos.try_emplace(e.trace_id, d.trace_nos.size() + 1);
        if (fresh) {
          new_traces.push_back(&it->first);
          d.insert_trace.i64(1, it->second);
          d.insert_trace.text(2, e.trace_id);
          s = d.step(d.insert_trace, "write trace");
          if (!s.ok()) break;
        }
        st.i64(2, it->second);
      }
      st.i64(3, e.start_sim_us);
      st.i64(4, e.end_sim_us);
      st.i64(5, static_cast<int>(e.kind));
      st.text(6, e.source);
      st.text(7, e.destination);
      st.text(8, e.status);
      codec::encodeExt(e, &ext);
      st.blob(9, ext);
      // In the row itself: one INSERT per event, payload or not.
      if (e.payload.empty()) st.null(10); else st.blob(10, e.payload);
      s = d.step(st, "write event");
    }
    if (s.ok()) s = d.step(d.commit, "commit");
    if (!s.ok()) {
      if (!sqlite3_get_autocommit(d.db)) (void)d.step(d.rollback, "rollback");
      // The rolled-back traces rows are gone: forget their numbers too.
      for (const std::string* t : new_traces) {
        std::string key = *t;
        d.trace_nos.erase(key);
      }
      return s.withContext("recording " + path_);
    }
  }
  return OkStatus();
}

Status Recorder::flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = queued_;
  if (done_ >= target) return error_;
  ++flush_waiters_;
  writer_cv_.notify_one();
  flush_cv_.wait(lock, [&] { return done_ >= target; });
  --flush_waiters_;
  return error_;
}

Status Recorder::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return error_;
    closed_ = true;
    stopping_ = true;
  }
  writer_cv_.notify_one();
  if (writer_.joinable()) writer_.join();
  // The writer has exited: this thread now owns db_.
  Status result;
  uint64_t written, dropped;
  {
    std::lock_guard lock(mu_);
    result = error_;
    written = written_;
    dropped = dropped_;
  }
  sqlite::Stmt s;
  Status st = s.prepare(db_->db,
                        "UPDATE run SET ended_real_us = ?, events_recorded = ?, "
                        "events_dropped = ? WHERE id = 1");
  if (st.ok()) {
    s.i64(1, toMicros(SystemClock::instance().now()));
    s.i64(2, static_cast<int64_t>(written));
    s.i64(3, static_cast<int64_t>(dropped));
    st = db_->step(s, "write run end");
  }
  s = {};
  if (st.ok()) st = sqlite::exec(db_->db, schema::kCreateIndexes);
  // Fold the WAL back into the main file so a closed recording is a single file.
  if (st.ok()) st = sqlite::exec(db_->db, "PRAGMA wal_checkpoint(TRUNCATE)");
  db_.reset();
  if (result.ok() && !st.ok()) result = st.withContext("closing recording " + path_);
  return result;
}

RecorderStats Recorder::stats() const {
  std::lock_guard lock(mu_);
  RecorderStats s;
  s.queued = events_queued_;
  s.written = written_;
  s.dropped = dropped_;
  s.other_dropped = other_dropped_;
  s.batches = batches_;
  s.peak_pending = peak_pending_;
  s.last_error = error_.ok() ? std::string() : error_.toString();
  return s;
}

}  // namespace sandbank::flow

namespace sandbank::flow {

Status finalizeRecording(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound("no recording at " + path);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    Status s = sqlite::error(db, "cannot open recording " + path);
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  Status s = sqlite::exec(db, "SELECT schema_version FROM run");
  if (!s.ok()) s = FailedPrecondition(path + " is not a sandbank recording");
  if (s.ok()) s = sqlite::exec(db, schema::kCreateIndexes);
  if (s.ok()) s = sqlite::exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close_v2(db);
  return s;
}

}  // namespace sandbank::flow
