// What running one scenario produced: its verdict, the message a person reads, the timed
// steps, the log lines it wrote and, for a failure, the events of the trace it was
// waiting on. The runner's reports (progress lines, JUnit, HTML, recording) read these.
// Thread-safety: plain values.
#pragma once

#include <string>
#include <vector>

#include "sandbank/flow/flow_event.h"

namespace sandbank::scenario {

enum class Verdict {
  kPassed,
  kFailed,  // an assertion, a timeout, an invariant violation, a bank call that failed
  kError,   // the script itself is broken: syntax, reference or type error
};
const char* verdictName(Verdict v);  // "passed", "failed", "error"

struct StepTiming {
  std::string name;  // "rpc ledger.PostEntrySet", "waitFor hold released"
  double ms = 0;     // real time taken
  bool ok = true;
};

struct ScenarioOutcome {
  std::string file;  // the script, as given
  std::string name;  // the scenario's name
  Verdict verdict = Verdict::kPassed;
  std::string message;   // empty when passed; first line is the summary
  std::string location;  // "file:line:column" of the failure, when known
  double seconds = 0;    // real time, setup to teardown plus the invariant check
  std::vector<StepTiming> steps;
  std::vector<std::string> log;  // what log() wrote, in order
  std::string trace_id;                      // the trace the failure concerns, if any
  std::vector<flow::FlowEvent> trace_events;  // its events, for the sequence diagram
  std::string invariants;                     // the checker's report, when it ran
};

}  // namespace sandbank::scenario
