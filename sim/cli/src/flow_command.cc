// `sandbank flow --dump`: a trace from a recording as a text sequence diagram (stable
// enough for golden files), Mermaid or JSON lines.
#include <iostream>

#include "commands.h"
#include "sandbank/flow/flow_dump.h"
#include "sandbank/flow/flow_query.h"

namespace sandbank::cli {

int runLiveFlowDump(const ClientOptions& c, const FlowDumpOptions& o);  // client_commands.cc

int runFlowDump(const ClientOptions& c, const FlowDumpOptions& o) {
  auto format = flow::parseDumpFormat(o.format);
  if (!format.ok()) {
    std::cerr << "sandbank flow: " << format.status().message() << "\n";
    return 2;
  }
  if (o.recording.empty()) return runLiveFlowDump(c, o);
  auto query = flow::RecordingFlowQuery::open(o.recording);
  if (!query.ok()) {
    std::cerr << "sandbank flow: " << query.status().message() << "\n";
    return 1;
  }
  flow::DumpOptions d;
  d.trace_id = o.trace;
  d.all_traces = o.all;
  d.format = *format;
  auto text = flow::dumpFlow(**query, d);
  if (!text.ok()) {
    std::cerr << "sandbank flow: " << text.status().message() << "\n";
    return text.status().code() == StatusCode::kNotFound ? 1 : 2;
  }
  std::cout << *text;
  return 0;
}

}  // namespace sandbank::cli
