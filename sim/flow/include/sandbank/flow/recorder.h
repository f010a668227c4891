// Recorder: writes one run into one SQLite file (WAL, synchronous=NORMAL) on its own
// thread, in batched transactions with prepared statements. Producers only append to an
// in-memory queue; a full queue drops the event and counts it. The writer wakes for a
// full batch, a flush or close, and otherwise writes what gathered every 5 ms.
// Thread-safety: every public method may be called from any thread.
//
// Schema (see recorder.cc for the exact DDL; kRecordingSchemaVersion names it):
//   run        one row: start time, manifest, seed, version, end time, counters
//   traces     trace number <-> trace id
//   events     one row per FlowEvent, payload bytes included (NULL when none)
//   payloads   a view over events: (event id, bytes) for events that carry a payload
//   processes  lifecycle: service, instance, pid, state, exit code, time
//   logs       time, service, instance, level, trace, message, fields (JSON object)
//   scenarios  name, status, duration, message, trace
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "sandbank/core/log.h"
#include "sandbank/core/result.h"
#include "sandbank/core/status.h"
#include "sandbank/flow/flow_event.h"

namespace sandbank::flow {

// 2: payload bytes moved from a `payloads` table into `events.payload` (a view keeps the
// name). Schema-1 recordings are still read by RecordingFlowQuery.
inline constexpr int kRecordingSchemaVersion = 2;

struct RunInfo {
  int64_t started_real_us = 0;
  int64_t started_sim_us = 0;
  std::string manifest;  // the manifest text (or path) the run used
  int64_t seed = 0;
  std::string version;   // sandbank version
  // Filled when the recording was closed cleanly (0 when it was not).
  int64_t ended_real_us = 0;
  uint64_t events_recorded = 0;
  uint64_t events_dropped = 0;
};

enum class ProcessState { kStarting, kReady, kExited, kRestarting, kKilled };
std::string_view processStateName(ProcessState s);  // "starting", "ready", ...
bool parseProcessState(std::string_view name, ProcessState* out);

struct ProcessRecord {
  int64_t time_sim_us = 0;
  std::string service;
  std::string instance;  // "ledger-0"
  int64_t pid = 0;
  ProcessState state = ProcessState::kStarting;
  std::optional<int> exit_code;
  friend bool operator==(const ProcessRecord&, const ProcessRecord&) = default;
};

struct LogEntry {
  int64_t time_sim_us = 0;
  std::string service;
  std::string instance;
  LogLevel level = LogLevel::kInfo;
  std::string trace_id;
  std::string message;
  LogFields fields;  // stored as one JSON object
  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

struct ScenarioResult {
  std::string name;
  std::string status;  // "passed", "failed", "error", "skipped"
  int64_t duration_us = 0;
  std::string message;
  std::string trace_id;
  friend bool operator==(const ScenarioResult&, const ScenarioResult&) = default;
};

struct RecorderOptions {
  size_t queue_capacity = 1 << 18;  // events waiting to be written before drops start
  size_t batch_size = 1000;         // rows per transaction
};

struct RecorderStats {
  uint64_t queued = 0;    // accepted by record()
  uint64_t written = 0;   // committed to the file
  uint64_t dropped = 0;   // refused because the queue was full (or after close)
  uint64_t other_dropped = 0;  // process/log/scenario rows refused
  uint64_t batches = 0;   // transactions committed
  uint64_t peak_pending = 0;  // most events ever waiting in the queue at once
  std::string last_error; // the last SQLite error, empty when none
};

class Recorder final : public FlowSink {
 public:
  // Creates `path` (it must not exist: one file per run), sets up the schema and starts
  // the writer thread. Errors: AlreadyExists, or Internal with SQLite's message.
  static Result<std::shared_ptr<Recorder>> create(const std::string& path, RunInfo run,
                                                  RecorderOptions options = {});
  ~Recorder() override;  // close()s

  // Queues an event; false (and counted as dropped) when the queue is full or closed.
  // Never waits for the disk. Events with id 0 get the next free row id.
  bool record(std::shared_ptr<const FlowEvent> event);
  void emit(FlowEvent event) override { record(std::make_shared<const FlowEvent>(std::move(event))); }
  bool recordProcess(ProcessRecord r);
  bool recordLog(LogEntry r);
  bool recordScenario(ScenarioResult r);

  // Waits until everything queued before the call is committed. Returns the writer's
  // error if writing failed.
  Status flush();
  // Flushes, writes the run's end time and counters, builds the indexes (by trace, time,
  // source, destination; see recording_schema.h for why only now), stops the thread and
  // closes the file. Later record() calls are dropped. Idempotent.
  Status close();

  RecorderStats stats() const;
  const std::string& path() const { return path_; }

  struct Db;  // SQLite handles, private to recorder.cc

 private:
  using OtherRecord = std::variant<ProcessRecord, LogEntry, ScenarioResult>;
  Recorder(std::string path, RecorderOptions options, std::unique_ptr<Db> db);
  bool queueOther(OtherRecord r);
  void writerLoop();
  Status writeBatch(std::vector<std::shared_ptr<const FlowEvent>>& events,
                    std::vector<OtherRecord>& others);

  const std::string path_;
  const RecorderOptions options_;
  std::unique_ptr<Db> db_;  // used only by the writer thread (and close() after join)

  mutable std::mutex mu_;
  std::condition_variable writer_cv_;  // the writer waits here for work
  std::condition_variable flush_cv_;   // flush() waits here for `written_` to advance
  // Producers append to pending_*; the writer swaps them with its own buffers, so the
  // lock is held only for a push_back or a swap.
  std::vector<std::shared_ptr<const FlowEvent>> pending_events_;  // guarded by mu_
  std::vector<OtherRecord> pending_other_;                        // guarded by mu_
  bool writer_waiting_ = false;  // guarded by mu_
  int flush_waiters_ = 0;        // guarded by mu_ (flush() calls waiting)
  bool stopping_ = false;        // guarded by mu_
  bool closed_ = false;          // guarded by mu_
  uint64_t queued_ = 0;          // guarded by mu_ (events + other records accepted)
  uint64_t events_queued_ = 0;   // guarded by mu_
  uint64_t done_ = 0;            // guarded by mu_ (events + other records processed)
  uint64_t written_ = 0;         // guarded by mu_ (events committed)
  uint64_t dropped_ = 0;         // guarded by mu_
  uint64_t other_dropped_ = 0;   // guarded by mu_
  uint64_t batches_ = 0;         // guarded by mu_
  uint64_t peak_pending_ = 0;    // guarded by mu_
  Status error_;                 // guarded by mu_ (first write error)
  std::thread writer_;
};

// Builds the indexes of a recording whose run ended without Recorder::close() (a crash).
// Harmless on a closed recording. Errors: NotFound, FailedPrecondition (not a recording),
// Internal (SQLite).
Status finalizeRecording(const std::string& path);

}  // namespace sandbank::flow
