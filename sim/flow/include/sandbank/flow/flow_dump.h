// Renders the events of a trace as a text sequence diagram (stable, usable as a golden
// file), as Mermaid `sequenceDiagram` text, or as JSON lines; and dumpFlow(), which the
// `sandbank flow --dump` command calls. The GUI's sequence diagram reads the same
// SequenceRow model that the text diagram is drawn from.
// Thread-safety: pure functions over their arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sandbank/core/result.h"
#include "sandbank/flow/flow_event.h"
#include "sandbank/flow/flow_query.h"

namespace sandbank::flow {

// One row of a sequence diagram: an arrow between two participants, or a marker on one.
struct SequenceRow {
  enum class Style {
    kCall,    // synchronous request: rpc, store request, replica read/write, hint, repair
    kReturn,  // the reply of an rpc, at its end time
    kAsync,   // publish, deliver, commit
    kMarker,  // an event on one participant: fault, process, log, rebalance
  };
  int64_t offset_us = 0;  // since the earliest event of the trace (simulated clock)
  Style style = Style::kCall;
  size_t from = 0;  // participant index (kMarker: the participant)
  size_t to = 0;
  bool failed = false;  // status not OK
  bool fault = false;   // a fault event
  std::string label;    // short text for the arrow: "Authorise", "card.authorisations"
  std::string note;     // the full line: "rpc sandbank.card.CardProcessor/Authorise OK"
  uint64_t event_id = 0;
};

struct SequenceModel {
  std::vector<std::string> participants;  // in order of first appearance down the rows
  std::vector<SequenceRow> rows;          // in diagram order (time, then nesting)
};

// Builds the model: rpc and store-request events become a call row at their start and a
// reply row at their end; other events one row at their start. Ties in time put replies before new requests, deeper
// replies first and shallower requests first (nesting by parent_span_id).
SequenceModel buildSequence(const std::vector<FlowEvent>& events);

std::string renderTextDiagram(const std::vector<FlowEvent>& events);
std::string renderMermaid(const std::vector<FlowEvent>& events);
// One JSON object per line, keys in FlowEvent's field order; kind by name; payload as
// base64 in "payload_base64" (omitted when empty).
std::string renderJsonLines(const std::vector<FlowEvent>& events);
std::string eventToJson(const FlowEvent& event);

enum class DumpFormat { kText, kJson, kMermaid };
Result<DumpFormat> parseDumpFormat(std::string_view name);  // "text", "json", "mermaid"

struct DumpOptions {
  // The trace to dump. When empty: the most recently started trace (the one whose first
  // event has the highest id), or every trace when all_traces is set.
  std::string trace_id;
  bool all_traces = false;
  DumpFormat format = DumpFormat::kText;
};

// What `sandbank flow --dump` prints. Errors: NotFound when the trace (or any trace)
// is missing, or the query's own error.
Result<std::string> dumpFlow(FlowQuery& query, const DumpOptions& options);

}  // namespace sandbank::flow
