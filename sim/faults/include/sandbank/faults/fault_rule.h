// FaultRule: what to bend (a match on source, destination, method, topic or table), how
// (delay, fail, drop, partition) and when (start after, stop after, at most N times).
// FaultSubject describes one call, publish or store request the engine is asked about.
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbank/core/clock.h"
#include "sandbank/core/status.h"

namespace sandbank::faults {

// Which layer a subject comes from. A rule with a topic only matches bus subjects, a rule
// with a table only store subjects; a rule with neither matches every layer.
enum class SubjectLayer { kRpc = 0, kBus = 1, kStore = 2 };

// One thing that may be faulted. Strings are empty when they do not apply.
struct FaultSubject {
  SubjectLayer layer = SubjectLayer::kRpc;
  std::string source;       // calling service, "client" when unknown
  std::string destination;  // called service, "bus", or "store/node-1"
  std::string method;       // "sandbank.ledger.Ledger/PostEntrySet" (a leading '/' is ignored)
  std::string topic;        // bus only
  std::string table;        // store only
  // Trace context, copied into the fault's FlowEvent so it sits in the right trace.
  std::string trace_id;
  std::string span_id;
};

// Every non-empty field must match (globs, see glob.h); empty fields match anything.
struct FaultMatch {
  std::string source;
  std::string destination;
  std::string method;  // "sandbank.ledger.Ledger/*"; a leading '/' is ignored
  std::string topic;   // non-empty: the rule only matches bus subjects
  std::string table;   // non-empty: the rule only matches store subjects
};

enum class FaultActionKind {
  kDelay = 0,      // hold the call for delay +/- jitter, then let it through
  kFail = 1,       // answer with `code` without reaching the destination
  kDrop = 2,       // never answer: the caller waits until its deadline
  kPartition = 3,  // calls between side_a and side_b fail with UNAVAILABLE
};

std::string_view faultActionKindName(FaultActionKind kind);  // "delay", "fail", ...
bool parseFaultActionKind(std::string_view name, FaultActionKind* out);

struct FaultAction {
  FaultActionKind kind = FaultActionKind::kDelay;
  // kDelay: the delay is uniform in [delay - jitter, delay + jitter], never below zero.
  Duration delay{0};
  Duration jitter{0};
  // kFail: the code and message the caller sees. The message defaults to one naming the rule.
  StatusCode code = StatusCode::kUnavailable;
  std::string message;
  // kPartition: service-name globs on each side. A subject is cut when its source is on
  // one side and its destination on the other (either direction).
  std::vector<std::string> side_a;
  std::vector<std::string> side_b;
  // Every action: the chance, in [0, 1], that a matching subject is faulted.
  double probability = 1.0;
};

// Times are measured on the engine's clock from the moment the rule was added (or last
// updated). Unset fields mean "no limit".
struct FaultTiming {
  std::optional<Duration> start_after;  // inactive until this much time has passed
  std::optional<Duration> stop_after;   // inactive once this much time has passed
  std::optional<int64_t> max_hits;      // inactive once applied this many times
};

struct FaultRule {
  std::string id;  // unique name, shown in flow events: "slow-ledger"
  FaultMatch match;
  FaultAction action;
  FaultTiming timing;
};

// Checks a rule is well-formed: non-empty id, probability in [0, 1], non-negative
// durations, a non-OK fail code, two non-empty partition sides, max_hits > 0.
Status validateRule(const FaultRule& rule);

// True when the rule's match (and, for partitions, its sides) covers the subject.
// Ignores timing, hit counts and probability.
bool ruleMatches(const FaultRule& rule, const FaultSubject& subject);

// One line for logs and flow details: "delay 250ms +/- 50ms", "fail UNAVAILABLE p=0.3".
std::string describeAction(const FaultAction& action);

}  // namespace sandbank::faults
