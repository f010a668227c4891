// Sequence model, text and Mermaid diagrams, JSON lines and dumpFlow(). Pure functions.
#include "sandbank/flow/flow_dump.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace sandbank::flow {
namespace {

using Style = SequenceRow::Style;

std::string formatMs(int64_t us) {
  const char* sign = us < 0 ? "-" : "";
  int64_t a = us < 0 ? -us : us;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%lld.%03lldms", sign, static_cast<long long>(a / 1000),
                static_cast<long long>(a % 1000));
  return buf;
}

std::string_view shortMethod(std::string_view method) {
  auto slash = method.rfind('/');
  return slash == std::string_view::npos ? method : method.substr(slash + 1);
}

std::string where(const FlowEvent& e) {
  std::string s;
  if (!e.topic.empty()) {
    s += e.topic;
    if (e.partition >= 0) s += "[" + std::to_string(e.partition) + "]";
    if (e.offset >= 0) s += "@" + std::to_string(e.offset);
  }
  if (!e.table.empty()) {
    if (!s.empty()) s += " ";
    if (!e.keyspace.empty()) s += e.keyspace + ".";
    s += e.table;
  }
  if (!e.partition_key.empty()) s += " key=" + e.partition_key;
  if (!e.consumer_group.empty()) s += " group=" + e.consumer_group;
  return s;
}

std::string withOutcome(std::string note, const FlowEvent& e, bool show_status) {
  if (show_status && e.status != "OK") note += " " + (e.status.empty() ? "?" : e.status);
  if (!e.detail.empty()) note += " [" + e.detail + "]";
  return note;
}

bool isMarkerKind(FlowKind k) {
  return k == FlowKind::kFault || k == FlowKind::kProcess || k == FlowKind::kLog ||
         k == FlowKind::kRebalance;
}

Style arrowStyle(FlowKind k) {
  switch (k) {
    case FlowKind::kPublish:
    case FlowKind::kDeliver:
    case FlowKind::kCommit:
      return Style::kAsync;
    default:
      return Style::kCall;
  }
}

}  // namespace

SequenceModel buildSequence(const std::vector<FlowEvent>& input) {
  SequenceModel m;
  if (input.empty()) return m;
  std::vector<const FlowEvent*> events;
  for (const auto& e : input) events.push_back(&e);
  std::stable_sort(events.begin(), events.end(),
                   [](const FlowEvent* a, const FlowEvent* b) { return a->id < b->id; });

  // Nesting depth through parent_span_id, for ordering rows that share a time.
  std::unordered_map<std::string, const FlowEvent*> by_span;
  for (const FlowEvent* e : events)
    if (!e->span_id.empty()) by_span.try_emplace(e->span_id, e);
  auto depth = [&](const FlowEvent* e) {
    int d = 0;
    while (d < 64 && !e->parent_span_id.empty()) {
      auto it = by_span.find(e->parent_span_id);
      if (it == by_span.end() || it->second == e) break;
      e = it->second;
      ++d;
    }
    return d;
  };

  int64_t t0 = events.front()->start_sim_us;
  for (const FlowEvent* e : events) t0 = std::min(t0, e->start_sim_us);

  // Rows first name their participants; indexes are assigned after sorting, in order of
  // first appearance down the diagram, so whoever starts the trace is leftmost.
  struct Pending {
    SequenceRow row;
    std::string from, to;
    int phase;  // 0 = a reply, 1 = anything else: replies come first at equal times
    int depth_key;
  };
  auto name = [](const std::string& n) { return n.empty() ? std::string("(unknown)") : n; };
  std::vector<Pending> rows;
  for (const FlowEvent* e : events) {
    Pending p;
    SequenceRow& r = p.row;
    r.event_id = e->id;
    r.offset_us = e->start_sim_us - t0;
    r.failed = e->status != "OK";
    p.phase = 1;
    p.depth_key = depth(e);
    const bool self = e->destination.empty() || e->destination == e->source;
    if (isMarkerKind(e->kind) || self) {
      r.style = Style::kMarker;
      r.fault = e->kind == FlowKind::kFault;
      p.from = p.to = name(r.fault && !e->destination.empty()
                               ? e->destination
                               : (e->source.empty() ? e->destination : e->source));
      std::string note = r.fault ? "FAULT" : std::string(flowKindName(e->kind));
      if (!e->method.empty()) note += " " + e->method;
      std::string w = where(*e);
      if (!w.empty()) note += " " + w;
      if (r.fault && !e->source.empty() && !e->destination.empty())
        note += " (" + e->source + " -> " + e->destination + ")";
      r.note = withOutcome(std::move(note), *e, true);
      r.label = r.fault ? "X" : "*";
      rows.push_back(std::move(p));
      continue;
    }
    p.from = name(e->source);
    p.to = name(e->destination);
    r.style = arrowStyle(e->kind);
    const bool has_reply = e->kind == FlowKind::kRpc || e->kind == FlowKind::kStoreRequest;
    std::string w = where(*e);
    if (e->kind == FlowKind::kRpc) {
      r.label = std::string(shortMethod(e->method));
      r.note = "rpc " + e->method;
    } else {
      if (e->kind == FlowKind::kPublish || e->kind == FlowKind::kDeliver ||
          e->kind == FlowKind::kCommit) {
        r.label = e->topic;
      } else if (e->kind == FlowKind::kStoreRequest && !e->table.empty()) {
        r.label = e->method.empty() ? e->table : e->method + " " + e->table;
      } else if (!e->table.empty()) {
        r.label = e->table;
      } else {
        r.label = e->method.empty() ? std::string(flowKindName(e->kind)) : e->method;
      }
      std::string note(flowKindName(e->kind));
      if (!e->method.empty()) note += " " + e->method;
      if (!w.empty()) note += " " + w;
      if (!has_reply && e->end_sim_us > e->start_sim_us)
        note += " in " + formatMs(e->end_sim_us - e->start_sim_us);
      r.note = has_reply ? std::move(note) : withOutcome(std::move(note), *e, true);
    }
    if (has_reply) {
      r.failed = false;  // the reply carries the outcome
      Pending reply;
      reply.row.event_id = e->id;
      reply.row.style = Style::kReturn;
      reply.row.offset_us = e->end_sim_us - t0;
      reply.from = p.to;
      reply.to = p.from;
      reply.row.failed = e->status != "OK";
      reply.row.label = e->status.empty() ? "?" : e->status;
      std::string what = e->kind == FlowKind::kRpc ? std::string(shortMethod(e->method))
                                                   : std::string(flowKindName(e->kind));
      reply.row.note = withOutcome("reply " + what + " " + reply.row.label + " in " +
                                       formatMs(e->end_sim_us - e->start_sim_us),
                                   *e, false);
      reply.phase = 0;
      reply.depth_key = -p.depth_key;
      rows.push_back(std::move(p));
      rows.push_back(std::move(reply));
      continue;
    }
    rows.push_back(std::move(p));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Pending& a, const Pending& b) {
    if (a.row.offset_us != b.row.offset_us) return a.row.offset_us < b.row.offset_us;
    if (a.phase != b.phase) return a.phase < b.phase;
    if (a.depth_key != b.depth_key) return a.depth_key < b.depth_key;
    return a.row.event_id < b.row.event_id;
  });
  std::unordered_map<std::string, size_t> index;
  auto participant = [&](const std::string& n) {
    auto [it, fresh] = index.try_emplace(n, m.participants.size());
    if (fresh) m.participants.push_back(n);
    return it->second;
  };
  for (auto& p : rows) {
    p.row.from = participant(p.from);
    p.row.to = participant(p.to);
    m.rows.push_back(std::move(p.row));
  }
  return m;
}

std::string renderTextDiagram(const std::vector<FlowEvent>& events) {
  SequenceModel m = buildSequence(events);
  std::string out;
  if (m.participants.empty()) return "(no events)\n";
  {
    const FlowEvent& first = *std::min_element(
        events.begin(), events.end(),
        [](const FlowEvent& a, const FlowEvent& b) { return a.id < b.id; });
    int64_t t0 = first.start_sim_us, t1 = first.end_sim_us;
    size_t errors = 0;
    for (const auto& e : events) {
      t0 = std::min(t0, e.start_sim_us);
      t1 = std::max(t1, e.end_sim_us);
      if (e.status != "OK" || e.kind == FlowKind::kFault) ++errors;
    }
    out += "trace " + (first.trace_id.empty() ? std::string("(none)") : first.trace_id) + ": " +
           std::to_string(events.size()) + " events, " + std::to_string(errors) +
           " errors, " + formatMs(t1 - t0) + "\n\n";
  }
  size_t longest = 0;
  for (const auto& p : m.participants) longest = std::max(longest, p.size());
  const size_t colw = std::max<size_t>(16, longest + 4);
  const size_t pad = colw / 2;
  const size_t width = pad + (m.participants.size() - 1) * colw + 1;
  auto x = [&](size_t i) { return pad + i * colw; };

  std::vector<std::string> times;
  size_t time_w = 0;
  for (const auto& r : m.rows) {
    times.push_back("+" + formatMs(r.offset_us));
    time_w = std::max(time_w, times.back().size());
  }
  const std::string blank_time(time_w + 2, ' ');

  std::string lifelines(width, ' ');
  for (size_t i = 0; i < m.participants.size(); ++i) lifelines[x(i)] = '|';
  {
    std::string header(width + longest, ' ');
    for (size_t i = 0; i < m.participants.size(); ++i) {
      const std::string& n = m.participants[i];
      header.replace(x(i) - n.size() / 2, n.size(), n);
    }
    while (!header.empty() && header.back() == ' ') header.pop_back();
    out += blank_time + header + "\n";
    out += blank_time + lifelines + "\n";
  }
  for (size_t k = 0; k < m.rows.size(); ++k) {
    const SequenceRow& r = m.rows[k];
    std::string line = lifelines;
    if (r.style == Style::kMarker) {
      line[x(r.from)] = r.fault ? 'X' : '*';
    } else {
      const size_t a = x(r.from), b = x(r.to);
      const size_t lo = std::min(a, b), hi = std::max(a, b);
      const char fill = r.style == Style::kReturn ? '.' : r.style == Style::kAsync ? '~' : '-';
      for (size_t i = lo + 1; i < hi; ++i) line[i] = fill;
      if (b > a)
        line[hi - 1] = r.failed ? 'x' : '>';
      else
        line[lo + 1] = r.failed ? 'x' : '<';
      // The label sits between the heads with at least one fill character each side.
      const size_t room = hi - lo >= 5 ? hi - lo - 5 : 0;
      std::string label = r.label.substr(0, room);
      const size_t start = lo + 2 + (room - label.size()) / 2 + 1;
      if (!label.empty()) line.replace(start, label.size(), label);
    }
    std::string t = times[k];
    out += std::string(time_w - t.size(), ' ') + t + "  " + line + "  " + r.note + "\n";
  }
  out += blank_time + lifelines + "\n";
  return out;
}

std::string renderMermaid(const std::vector<FlowEvent>& events) {
  SequenceModel m = buildSequence(events);
  auto clean = [](std::string s) {
    for (char& c : s)
      if (c == ';' || c == '#' || c == '\n' || c == '\r') c = ' ';
    return s;
  };
  std::string out = "sequenceDiagram\n";
  for (size_t i = 0; i < m.participants.size(); ++i)
    out += "    participant p" + std::to_string(i) + " as " + clean(m.participants[i]) + "\n";
  for (const auto& r : m.rows) {
    const std::string from = "p" + std::to_string(r.from), to = "p" + std::to_string(r.to);
    if (r.style == Style::kMarker) {
      out += "    Note over " + from + ": " + clean(r.note) + "\n";
      continue;
    }
    std::string arrow;
    switch (r.style) {
      case Style::kCall: arrow = r.failed ? "-x" : "->>"; break;
      case Style::kReturn: arrow = r.failed ? "--x" : "-->>"; break;
      case Style::kAsync: arrow = r.failed ? "-x" : "-)"; break;
      case Style::kMarker: break;
    }
    std::string text = r.style == Style::kReturn ? r.label : r.note;
    out += "    " + from + arrow + to + ": " + clean(text) + "\n";
  }
  return out;
}

namespace {
std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}
}  // namespace

std::string eventToJson(const FlowEvent& e) {
  nlohmann::ordered_json j;
  j["id"] = e.id;
  j["trace_id"] = e.trace_id;
  j["span_id"] = e.span_id;
  j["parent_span_id"] = e.parent_span_id;
  j["start_sim_us"] = e.start_sim_us;
  j["end_sim_us"] = e.end_sim_us;
  j["start_real_us"] = e.start_real_us;
  j["end_real_us"] = e.end_real_us;
  j["kind"] = flowKindName(e.kind);
  j["source"] = e.source;
  j["destination"] = e.destination;
  j["method"] = e.method;
  j["topic"] = e.topic;
  j["partition"] = e.partition;
  j["offset"] = e.offset;
  j["consumer_group"] = e.consumer_group;
  j["keyspace"] = e.keyspace;
  j["table"] = e.table;
  j["partition_key"] = e.partition_key;
  j["status"] = e.status;
  j["size"] = e.size;
  j["payload_type"] = e.payload_type;
  j["detail"] = e.detail;
  if (!e.payload.empty()) j["payload_base64"] = base64(e.payload);
  // Invalid UTF-8 in a text field is replaced rather than aborting the dump.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string renderJsonLines(const std::vector<FlowEvent>& events) {
  std::string out;
  for (const auto& e : events) out += eventToJson(e) + "\n";
  return out;
}

Result<DumpFormat> parseDumpFormat(std::string_view name) {
  if (name == "text") return DumpFormat::kText;
  if (name == "json") return DumpFormat::kJson;
  if (name == "mermaid") return DumpFormat::kMermaid;
  return InvalidArgument("unknown dump format '" + std::string(name) +
                         "'; use text, json or mermaid");
}

Result<std::string> dumpFlow(FlowQuery& query, const DumpOptions& options) {
  std::vector<std::string> ids;
  if (!options.trace_id.empty()) {
    ids.push_back(options.trace_id);
  } else {
    SANDBANK_ASSIGN_OR_RETURN(auto traces, query.traces(options.all_traces ? 0 : 1));
    if (traces.empty()) return NotFound("the flow has no traces yet");
    for (auto& t : traces) ids.push_back(std::move(t.trace_id));
  }
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    SANDBANK_ASSIGN_OR_RETURN(auto events, query.trace(ids[i]));
    if (i > 0 && options.format != DumpFormat::kJson) out += "\n";
    switch (options.format) {
      case DumpFormat::kText: out += renderTextDiagram(events); break;
      case DumpFormat::kMermaid: out += renderMermaid(events); break;
      case DumpFormat::kJson: out += renderJsonLines(events); break;
    }
  }
  return out;
}

}  // namespace sandbank::flow
