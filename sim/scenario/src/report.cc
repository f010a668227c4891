// JUnit XML, the HTML report and SVG sequence diagrams.
#include "sandbank/scenario/report.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "sandbank/flow/flow_dump.h"

namespace sandbank::scenario {
namespace {

std::string fixed(double v, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string firstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string stem(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') + 1);
  if (auto dot = s.rfind(".js"); dot != std::string::npos && dot + 3 == s.size()) s.resize(dot);
  return s;
}

}  // namespace

const char* verdictName(Verdict v) {
  switch (v) {
    case Verdict::kPassed: return "passed";
    case Verdict::kFailed: return "failed";
    case Verdict::kError: return "error";
  }
  return "error";
}

std::string xmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows only tab, newline and carriage return below 0x20.
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out += static_cast<char>(c);
    }
  }
  return out;
}

std::string junitXml(const std::vector<ScenarioOutcome>& outcomes, const RunSummary& run) {
  // Group by file, keeping the order in which files first appear.
  std::vector<std::string> files;
  std::map<std::string, std::vector<const ScenarioOutcome*>> by_file;
  for (const auto& o : outcomes) {
    if (!by_file.count(o.file)) files.push_back(o.file);
    by_file[o.file].push_back(&o);
  }
  auto count = [](const std::vector<const ScenarioOutcome*>& v, Verdict verdict) {
    return std::count_if(v.begin(), v.end(), [&](const ScenarioOutcome* o) { return o->verdict == verdict; });
  };
  std::vector<const ScenarioOutcome*> all;
  for (const auto& o : outcomes) all.push_back(&o);
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<testsuites name=\"" + xmlEscape(run.name) + "\" tests=\"" + std::to_string(outcomes.size()) +
       "\" failures=\"" + std::to_string(count(all, Verdict::kFailed)) + "\" errors=\"" +
       std::to_string(count(all, Verdict::kError)) + "\" time=\"" + fixed(run.seconds) + "\">\n";
  int id = 0;
  for (const auto& file : files) {
    const auto& cases = by_file[file];
    double secs = 0;
    for (const auto* o : cases) secs += o->seconds;
    x += "  <testsuite name=\"" + xmlEscape(stem(file)) + "\" id=\"" + std::to_string(id++) +
         "\" package=\"scenarios\" hostname=\"localhost\" tests=\"" + std::to_string(cases.size()) +
         "\" failures=\"" + std::to_string(count(cases, Verdict::kFailed)) + "\" errors=\"" +
         std::to_string(count(cases, Verdict::kError)) + "\" skipped=\"0\" time=\"" + fixed(secs) +
         "\" timestamp=\"" + xmlEscape(run.timestamp.substr(0, 19)) + "\">\n";
    x += "    <properties>\n      <property name=\"seed\" value=\"" + std::to_string(run.seed) +
         "\"/>\n      <property name=\"file\" value=\"" + xmlEscape(file) + "\"/>\n    </properties>\n";
    for (const auto* o : cases) {
      x += "    <testcase classname=\"" + xmlEscape(stem(file)) + "\" name=\"" + xmlEscape(o->name) +
           "\" time=\"" + fixed(o->seconds) + "\">\n";
      if (o->verdict != Verdict::kPassed) {
        const char* tag = o->verdict == Verdict::kFailed ? "failure" : "error";
        std::string body = o->message;
        if (!o->invariants.empty()) body += "\n\nInvariant check:\n" + o->invariants;
        x += std::string("      <") + tag + " message=\"" + xmlEscape(firstLine(o->message)) + "\" type=\"" +
             (o->verdict == Verdict::kFailed ? "ScenarioFailure" : "ScriptError") + "\">" + xmlEscape(body) +
             "</" + tag + ">\n";
      }
      std::string out;
      for (const auto& l : o->log) out += l + "\n";
      for (const auto& s : o->steps) out += "step " + s.name + " " + fixed(s.ms, 1) + " ms" + (s.ok ? "" : " FAILED") + "\n";
      if (!out.empty()) x += "      <system-out>" + xmlEscape(out) + "</system-out>\n";
      x += "    </testcase>\n";
    }
    x += "    <system-out></system-out>\n    <system-err></system-err>\n  </testsuite>\n";
  }
  x += "</testsuites>\n";
  return x;
}

std::string sequenceSvg(const std::vector<flow::FlowEvent>& events) {
  const flow::SequenceModel model = flow::buildSequence(events);
  const int col = 170, left = 20, top = 40, row_h = 22;
  if (model.participants.empty())
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"360\" height=\"30\"><text x=\"4\" y=\"20\" "
           "font-family=\"sans-serif\" font-size=\"12\">no events recorded for this trace</text></svg>";
  const int width = left * 2 + col * static_cast<int>(model.participants.size()) + 320;
  const int height = top + row_h * static_cast<int>(model.rows.size() + 1) + 10;
  auto x_of = [&](size_t p) { return left + col / 2 + col * static_cast<int>(p); };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
                  std::to_string(height) + "\" font-family=\"monospace\" font-size=\"11\">\n";
  s += "<defs><marker id=\"a\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"3\" orient=\"auto\">"
       "<path d=\"M0,0 L7,3 L0,6 z\"/></marker></defs>\n";
  for (size_t p = 0; p < model.participants.size(); ++p) {
    int x = x_of(p);
    s += "<text x=\"" + std::to_string(x) + "\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">" +
         xmlEscape(model.participants[p]) + "</text>\n";
    s += "<line x1=\"" + std::to_string(x) + "\" y1=\"28\" x2=\"" + std::to_string(x) + "\" y2=\"" +
         std::to_string(height - 5) + "\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>\n";
  }
  const int notes_x = left + col * static_cast<int>(model.participants.size()) + 10;
  for (size_t r = 0; r < model.rows.size(); ++r) {
    const auto& row = model.rows[r];
    const int y = top + row_h * static_cast<int>(r + 1);
    const char* color = row.fault ? "#c00" : row.failed ? "#d60" : "#222";
    if (row.style == flow::SequenceRow::Style::kMarker || row.from == row.to) {
      s += "<circle cx=\"" + std::to_string(x_of(row.from)) + "\" cy=\"" + std::to_string(y - 4) +
           "\" r=\"5\" fill=\"" + color + "\"/>\n";
    } else {
      const char* dash = row.style == flow::SequenceRow::Style::kReturn ? " stroke-dasharray=\"2 2\""
                         : row.style == flow::SequenceRow::Style::kAsync ? " stroke-dasharray=\"6 3\""
                                                                           : "";
      s += "<line x1=\"" + std::to_string(x_of(row.from)) + "\" y1=\"" + std::to_string(y) + "\" x2=\"" +
           std::to_string(x_of(row.to)) + "\" y2=\"" + std::to_string(y) + "\" stroke=\"" + color + "\"" + dash +
           " marker-end=\"url(#a)\"/>\n";
      const int mid = (x_of(row.from) + x_of(row.to)) / 2;
      s += "<text x=\"" + std::to_string(mid) + "\" y=\"" + std::to_string(y - 3) + "\" text-anchor=\"middle\" fill=\"" +
           color + "\">" + xmlEscape(row.label) + "</text>\n";
    }
    s += "<text x=\"" + std::to_string(notes_x) + "\" y=\"" + std::to_string(y) + "\" fill=\"#555\">+" +
         fixed(static_cast<double>(row.offset_us) / 1000.0, 1) + "ms " + xmlEscape(row.note) + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

std::string htmlReport(const std::vector<ScenarioOutcome>& outcomes, const RunSummary& run) {
  size_t passed = 0;
  for (const auto& o : outcomes) passed += o.verdict == Verdict::kPassed;
  std::string h = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sandbank scenarios</title>\n<style>"
                  "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                  "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
                  ".passed{color:#070}.failed,.error{color:#b00}pre{background:#f6f6f6;padding:8px;overflow:auto}"
                  "details{margin:1em 0}</style></head><body>\n";
  h += "<h1>sandbank scenarios</h1>\n<p>" + std::to_string(passed) + " passed, " +
       std::to_string(outcomes.size() - passed) + " failed &middot; seed " + std::to_string(run.seed) + " &middot; " +
       fixed(run.seconds, 2) + " s &middot; " + xmlEscape(run.timestamp) + "</p>\n";
  h += "<table><tr><th>scenario</th><th>file</th><th>result</th><th>time</th><th>summary</th></tr>\n";
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    h += "<tr><td><a href=\"#s" + std::to_string(i) + "\">" + xmlEscape(o.name) + "</a></td><td>" + xmlEscape(o.file) +
         "</td><td class=\"" + verdictName(o.verdict) + "\">" + verdictName(o.verdict) + "</td><td>" +
         fixed(o.seconds, 3) + " s</td><td>" + xmlEscape(firstLine(o.message)) + "</td></tr>\n";
  }
  h += "</table>\n";
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    h += "<h2 id=\"s" + std::to_string(i) + "\" class=\"" + verdictName(o.verdict) + "\">" + xmlEscape(o.name) +
         " &mdash; " + verdictName(o.verdict) + "</h2>\n";
    if (!o.message.empty()) h += "<pre>" + xmlEscape(o.message) + "</pre>\n";
    h += "<table><tr><th>step</th><th>ms</th><th></th></tr>\n";
    for (const auto& s : o.steps)
      h += "<tr><td>" + xmlEscape(s.name) + "</td><td>" + fixed(s.ms, 1) + "</td><td class=\"" +
           (s.ok ? "passed\">ok" : "failed\">failed") + "</td></tr>\n";
    h += "</table>\n";
    if (!o.log.empty()) {
      h += "<details><summary>log</summary><pre>";
      for (const auto& l : o.log) h += xmlEscape(l) + "\n";
      h += "</pre></details>\n";
    }
    if (!o.invariants.empty()) h += "<details><summary>invariant check</summary><pre>" + xmlEscape(o.invariants) + "</pre></details>\n";
    if (o.verdict != Verdict::kPassed) {
      h += "<h3>trace " + xmlEscape(o.trace_id.empty() ? "(none)" : o.trace_id) + "</h3>\n";
      h += sequenceSvg(o.trace_events);
    }
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace sandbank::scenario
