// The runner's reports: JUnit XML for CI readers, a standalone HTML page (results, step
// timings, and an SVG sequence diagram per failure), and the SVG diagram on its own.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "sandbank/flow/flow_event.h"
#include "sandbank/scenario/outcome.h"

namespace sandbank::scenario {

struct RunSummary {
  std::string name = "sandbank";  // the <testsuites> name
  std::string timestamp;          // ISO-8601, when the run started
  double seconds = 0;
  uint64_t seed = 0;
};

// JUnit XML as Jenkins, GitLab and the Ant schema read it: one <testsuite> per script
// file, one <testcase> per scenario (classname: the file, name: the scenario), <failure>
// for kFailed, <error> for kError, and the scenario's log in <system-out>.
std::string junitXml(const std::vector<ScenarioOutcome>& outcomes, const RunSummary& run);

// One self-contained HTML page (no external files or scripts).
std::string htmlReport(const std::vector<ScenarioOutcome>& outcomes, const RunSummary& run);

// The events of one trace as an SVG sequence diagram, drawn from flow's SequenceModel
// (the same rows as `sandbank flow` text). An empty trace draws a short note.
std::string sequenceSvg(const std::vector<flow::FlowEvent>& events);

// Escapes text for XML/HTML content and attributes; drops characters XML 1.0 forbids.
std::string xmlEscape(const std::string& text);

}  // namespace sandbank::scenario
