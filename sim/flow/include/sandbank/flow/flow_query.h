// FlowQuery: the questions the GUI, the control API and `sandbank flow` ask about a run
// (events by trace, service, kind, text and time range; the list of traces). Two
// implementations give the same answers: LiveFlowQuery over a FlowHub's ring, and
// RecordingFlowQuery over a recording file.
// Thread-safety: LiveFlowQuery may be used from any thread; a RecordingFlowQuery holds one
// SQLite connection and must be used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sandbank/core/result.h"
#include "sandbank/flow/flow_event.h"
#include "sandbank/flow/flow_filter.h"
#include "sandbank/flow/recorder.h"

namespace sandbank::flow {

class FlowHub;

// One trace as listed in a trace picker.
struct TraceSummary {
  std::string trace_id;
  uint64_t first_event_id = 0;  // traces are ordered by this
  uint64_t last_event_id = 0;
  int64_t start_sim_us = 0;  // earliest start_sim_us of its events
  int64_t end_sim_us = 0;    // latest end_sim_us of its events
  uint64_t events = 0;
  uint64_t errors = 0;       // events whose status is not OK, plus fault events
  std::string root_source;   // source and method of the first event
  std::string root_method;
  friend bool operator==(const TraceSummary&, const TraceSummary&) = default;
};

class FlowQuery {
 public:
  virtual ~FlowQuery() = default;

  // Events matching `filter`, ascending by id. When `limit` > 0, only the newest `limit`
  // matches (still ascending). Payloads are included.
  virtual Result<std::vector<FlowEvent>> events(const FlowFilter& filter, size_t limit = 0) = 0;

  // Traces with at least one event, ascending by first event id. When `limit` > 0 only
  // the newest `limit` traces (by first event id).
  virtual Result<std::vector<TraceSummary>> traces(size_t limit = 0) = 0;

  // All events of one trace, ascending by id; NotFound when there are none.
  Result<std::vector<FlowEvent>> trace(const std::string& trace_id);
};

// Answers from the hub's ring: only the newest ring_capacity events are visible.
class LiveFlowQuery final : public FlowQuery {
 public:
  explicit LiveFlowQuery(const FlowHub& hub) : hub_(hub) {}
  Result<std::vector<FlowEvent>> events(const FlowFilter& filter, size_t limit = 0) override;
  Result<std::vector<TraceSummary>> traces(size_t limit = 0) override;

 private:
  const FlowHub& hub_;
};

// Answers from a recording file (read-only; it may still be being written).
class RecordingFlowQuery final : public FlowQuery {
 public:
  // Errors: NotFound when the file does not exist, FailedPrecondition when it is not a
  // sandbank recording or has another schema version.
  static Result<std::unique_ptr<RecordingFlowQuery>> open(const std::string& path);
  ~RecordingFlowQuery() override;

  Result<std::vector<FlowEvent>> events(const FlowFilter& filter, size_t limit = 0) override;
  Result<std::vector<TraceSummary>> traces(size_t limit = 0) override;

  // The rest of the recording, ascending by insertion.
  Result<RunInfo> runInfo();
  Result<std::vector<ProcessRecord>> processes();
  Result<std::vector<LogEntry>> logs(const std::string& trace_id = {});
  Result<std::vector<ScenarioResult>> scenarios();

  struct Conn;  // private to recording_query.cc

 private:
  explicit RecordingFlowQuery(std::unique_ptr<Conn> conn);
  std::unique_ptr<Conn> conn_;
};

}  // namespace sandbank::flow
