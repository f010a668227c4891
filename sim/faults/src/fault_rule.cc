// Rule validation, matching and descriptions. Pure functions.
#include "sandbank/faults/fault_rule.h"

#include <array>
#include <cstdio>

#include "sandbank/core/duration.h"
#include "sandbank/faults/glob.h"

namespace sandbank::faults {
namespace {

constexpr std::array<std::string_view, 4> kActionNames = {"delay", "fail", "drop", "partition"};

std::string_view stripSlash(std::string_view s) {
  if (!s.empty() && s.front() == '/') s.remove_prefix(1);
  return s;
}

bool fieldMatches(const std::string& pattern, std::string_view value) {
  return pattern.empty() || globMatch(pattern, value);
}

bool onSide(const std::vector<std::string>& side, std::string_view service) {
  for (const auto& pattern : side) {
    if (globMatch(pattern, service)) return true;
  }
  return false;
}

}  // namespace

std::string_view faultActionKindName(FaultActionKind kind) {
  auto i = static_cast<size_t>(kind);
  return i < kActionNames.size() ? kActionNames[i] : "unknown";
}

bool parseFaultActionKind(std::string_view name, FaultActionKind* out) {
  for (size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name) {
      *out = static_cast<FaultActionKind>(i);
      return true;
    }
  }
  return false;
}

Status validateRule(const FaultRule& rule) {
  const std::string where = "fault rule '" + rule.id + "'";
  if (rule.id.empty()) return InvalidArgument("fault rule: the id must not be empty");
  const FaultAction& a = rule.action;
  if (!(a.probability >= 0.0 && a.probability <= 1.0)) {
    return InvalidArgument(where + ": probability must be between 0 and 1");
  }
  if (a.delay.count() < 0 || a.jitter.count() < 0) {
    return InvalidArgument(where + ": delay and jitter must not be negative");
  }
  if (a.kind == FaultActionKind::kFail && a.code == StatusCode::kOk) {
    return InvalidArgument(where + ": a fail action needs a non-OK code");
  }
  if (a.kind == FaultActionKind::kPartition && (a.side_a.empty() || a.side_b.empty())) {
    return InvalidArgument(where + ": a partition needs services on both sides");
  }
  if (!rule.match.topic.empty() && !rule.match.table.empty()) {
    return InvalidArgument(where + ": a rule matches a topic or a table, not both");
  }
  const FaultTiming& t = rule.timing;
  if ((t.start_after && t.start_after->count() < 0) || (t.stop_after && t.stop_after->count() < 0)) {
    return InvalidArgument(where + ": start_after and stop_after must not be negative");
  }
  if (t.max_hits && *t.max_hits <= 0) {
    return InvalidArgument(where + ": max_hits must be positive");
  }
  return OkStatus();
}

bool ruleMatches(const FaultRule& rule, const FaultSubject& s) {
  const FaultMatch& m = rule.match;
  if (!m.topic.empty() && (s.layer != SubjectLayer::kBus || !globMatch(m.topic, s.topic))) return false;
  if (!m.table.empty() && (s.layer != SubjectLayer::kStore || !globMatch(m.table, s.table))) return false;
  if (!fieldMatches(m.source, s.source) || !fieldMatches(m.destination, s.destination)) return false;
  if (!m.method.empty() && !globMatch(stripSlash(m.method), stripSlash(s.method))) return false;
  if (rule.action.kind == FaultActionKind::kPartition) {
    const auto& a = rule.action.side_a;
    const auto& b = rule.action.side_b;
    bool cut = (onSide(a, s.source) && onSide(b, s.destination)) ||
               (onSide(b, s.source) && onSide(a, s.destination));
    if (!cut) return false;
  }
  return true;
}

std::string describeAction(const FaultAction& a) {
  std::string out(faultActionKindName(a.kind));
  switch (a.kind) {
    case FaultActionKind::kDelay:
      out += " " + formatDuration(a.delay);
      if (a.jitter.count() > 0) out += " +/- " + formatDuration(a.jitter);
      break;
    case FaultActionKind::kFail:
      out += " ";
      out += statusCodeName(a.code);
      break;
    case FaultActionKind::kDrop:
      break;
    case FaultActionKind::kPartition: {
      auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
        return s;
      };
      out += " [" + join(a.side_a) + "] | [" + join(a.side_b) + "]";
      break;
    }
  }
  if (a.probability < 1.0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " p=%g", a.probability);
    out += buf;
  }
  return out;
}

}  // namespace sandbank::faults
