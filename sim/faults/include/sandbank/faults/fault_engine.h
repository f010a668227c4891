// FaultEngine: the one set of fault rules for the mesh, the bus and the store. Given a
// subject (a call, a publish, a store request) it decides what to do, with a seeded RNG so
// the same seed and the same sequence of subjects give the same decisions. Every applied
// rule is reported as a FlowEvent of kind kFault that names the rule.
// Thread-safety: every method may be called from any thread; one mutex guards the rules
// and the RNG, so decisions are serialised.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/faults/fault_rule.h"
#include "sandbank/flow/flow_event.h"

namespace sandbank::faults {

// One rule that fired for a subject.
struct AppliedFault {
  std::string rule_id;
  FaultActionKind kind = FaultActionKind::kDelay;
  Duration delay{0};  // kDelay: the delay drawn for this subject
};

// What the caller must do. Delay rules add up (every firing delay rule applies); the first
// firing fail, drop or partition rule ends the evaluation and decides the outcome.
struct FaultDecision {
  enum class Outcome { kProceed, kFail, kDrop };
  Outcome outcome = Outcome::kProceed;
  Duration delay{0};                  // total delay to apply before the outcome
  StatusCode code = StatusCode::kOk;  // kFail: the code to answer with
  std::string message;                // kFail: a message naming the rule
  std::vector<AppliedFault> applied;  // in rule order; empty when nothing fired

  bool faulted() const { return !applied.empty(); }
  // "slow-ledger: delay 250ms; cut: partition" for flow details. Empty when not faulted.
  std::string summary() const;
};

// A rule as a UI shows it.
struct FaultRuleState {
  FaultRule rule;
  int64_t hits = 0;     // times applied
  int64_t matched = 0;  // times matched while active (hits, plus misses of the probability draw)
  bool active = false;  // inside its time window and under max_hits
};

// For layers that answer synchronously (the bus, the store): waits out the decision's
// delay on the calling thread, then returns the fail status, `when_dropped` for a drop,
// or OK to proceed.
Status holdAndAnswer(const FaultDecision& decision, Status when_dropped);

class FaultEngine {
 public:
  // `clock` times the rules' windows; `sink` receives one kFault event per applied rule.
  // Both must outlive the engine.
  explicit FaultEngine(const Clock& clock, flow::FlowSink& sink = flow::NullFlowSink::instance(),
                       uint64_t seed = 1);

  // Restarts the RNG: decisions after reseed(s) repeat those after any other reseed(s).
  void reseed(uint64_t seed);

  // AlreadyExists when the id is taken; InvalidArgument when validateRule fails.
  Status addRule(FaultRule rule);
  // Replaces the rule with the same id; its clock window and hit counts start over.
  // NotFound when no such rule.
  Status updateRule(FaultRule rule);
  // NotFound when no such rule.
  Status removeRule(const std::string& id);
  void clear();
  // Rules in the order they were added.
  std::vector<FaultRuleState> listRules() const;
  Result<FaultRuleState> rule(const std::string& id) const;

  // Decides what to do with `subject` and counts the hits. Emits the fault events before
  // returning. Cheap when no rules are set.
  FaultDecision decide(const FaultSubject& subject);

 private:
  struct Entry {
    FaultRule rule;
    TimePoint added;
    int64_t hits = 0;
    int64_t matched = 0;
  };
  bool activeLocked(const Entry& e, TimePoint now) const;
  FaultRuleState stateLocked(const Entry& e, TimePoint now) const;

  const Clock& clock_;
  flow::FlowSink& sink_;
  mutable std::mutex mu_;
  std::vector<Entry> rules_;  // guarded by mu_
  std::mt19937_64 rng_;       // guarded by mu_
  std::atomic<size_t> rule_count_{0};  // mirrors rules_.size() for the lock-free fast path
};

}  // namespace sandbank::faults
