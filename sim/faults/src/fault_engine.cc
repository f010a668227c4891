// FaultEngine: rule bookkeeping and seeded decisions. All state is under mu_; fault flow
// events are built under the lock (so their order matches the decisions) and emitted
// after it is released.
#include "sandbank/faults/fault_engine.h"

#include <thread>

#include <algorithm>

#include "sandbank/core/duration.h"

namespace sandbank::faults {

std::string FaultDecision::summary() const {
  std::string out;
  for (const auto& a : applied) {
    if (!out.empty()) out += "; ";
    out += a.rule_id + ": " + std::string(faultActionKindName(a.kind));
    if (a.kind == FaultActionKind::kDelay) out += " " + formatDuration(a.delay);
  }
  return out;
}

FaultEngine::FaultEngine(const Clock& clock, flow::FlowSink& sink, uint64_t seed)
    : clock_(clock), sink_(sink), rng_(seed) {}

void FaultEngine::reseed(uint64_t seed) {
  std::lock_guard lock(mu_);
  rng_.seed(seed);
}

Status FaultEngine::addRule(FaultRule rule) {
  SANDBANK_RETURN_IF_ERROR(validateRule(rule));
  std::lock_guard lock(mu_);
  for (const auto& e : rules_) {
    if (e.rule.id == rule.id) return AlreadyExists("fault rule '" + rule.id + "' already exists");
  }
  rules_.push_back(Entry{std::move(rule), clock_.now()});
  rule_count_.store(rules_.size());
  return OkStatus();
}

Status FaultEngine::updateRule(FaultRule rule) {
  SANDBANK_RETURN_IF_ERROR(validateRule(rule));
  std::lock_guard lock(mu_);
  for (auto& e : rules_) {
    if (e.rule.id == rule.id) {
      e = Entry{std::move(rule), clock_.now()};
      return OkStatus();
    }
  }
  return NotFound("no fault rule '" + rule.id + "'");
}

Status FaultEngine::removeRule(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(rules_.begin(), rules_.end(), [&](const Entry& e) { return e.rule.id == id; });
  if (it == rules_.end()) return NotFound("no fault rule '" + id + "'");
  rules_.erase(it);
  rule_count_.store(rules_.size());
  return OkStatus();
}

void FaultEngine::clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
  rule_count_.store(0);
}

bool FaultEngine::activeLocked(const Entry& e, TimePoint now) const {
  const FaultTiming& t = e.rule.timing;
  auto elapsed = now - e.added;
  if (t.start_after && elapsed < *t.start_after) return false;
  if (t.stop_after && elapsed >= *t.stop_after) return false;
  if (t.max_hits && e.hits >= *t.max_hits) return false;
  return true;
}

FaultRuleState FaultEngine::stateLocked(const Entry& e, TimePoint now) const {
  return FaultRuleState{e.rule, e.hits, e.matched, activeLocked(e, now)};
}

std::vector<FaultRuleState> FaultEngine::listRules() const {
  std::lock_guard lock(mu_);
  TimePoint now = clock_.now();
  std::vector<FaultRuleState> out;
  out.reserve(rules_.size());
  for (const auto& e : rules_) out.push_back(stateLocked(e, now));
  return out;
}

Result<FaultRuleState> FaultEngine::rule(const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& e : rules_) {
    if (e.rule.id == id) return stateLocked(e, clock_.now());
  }
  return NotFound("no fault rule '" + id + "'");
}

FaultDecision FaultEngine::decide(const FaultSubject& subject) {
  FaultDecision decision;
  if (rule_count_.load(std::memory_order_relaxed) == 0) return decision;

  std::vector<flow::FlowEvent> events;
  {
    std::lock_guard lock(mu_);
    TimePoint now = clock_.now();
    for (auto& e : rules_) {
      if (!activeLocked(e, now) || !ruleMatches(e.rule, subject)) continue;
      ++e.matched;
      const FaultAction& a = e.rule.action;
      // Draw only when the rule is random, so adding a certain rule does not shift the
      // sequence seen by the random ones.
      if (a.probability < 1.0) {
        std::uniform_real_distribution<double> coin(0.0, 1.0);
        if (coin(rng_) >= a.probability) continue;
      }
      ++e.hits;
      AppliedFault applied{e.rule.id, a.kind, Duration(0)};
      bool terminal = true;
      switch (a.kind) {
        case FaultActionKind::kDelay: {
          Duration d = a.delay;
          if (a.jitter.count() > 0) {
            std::uniform_int_distribution<int64_t> j(-a.jitter.count(), a.jitter.count());
            d += Duration(j(rng_));
          }
          applied.delay = std::max(d, Duration(0));
          decision.delay += applied.delay;
          terminal = false;
          break;
        }
        case FaultActionKind::kFail:
          decision.outcome = FaultDecision::Outcome::kFail;
          decision.code = a.code;
          decision.message = a.message.empty()
                                 ? "fault rule '" + e.rule.id + "' failed the call with " +
                                       std::string(statusCodeName(a.code))
                                 : a.message;
          break;
        case FaultActionKind::kDrop:
          decision.outcome = FaultDecision::Outcome::kDrop;
          break;
        case FaultActionKind::kPartition:
          decision.outcome = FaultDecision::Outcome::kFail;
          decision.code = StatusCode::kUnavailable;
          decision.message = "fault rule '" + e.rule.id + "' partitions " + subject.source +
                             " from " + subject.destination;
          break;
      }
      flow::FlowEvent ev;
      ev.kind = flow::FlowKind::kFault;
      ev.trace_id = subject.trace_id;
      ev.parent_span_id = subject.span_id;
      ev.start_sim_us = ev.end_sim_us = toMicros(now);
      ev.start_real_us = ev.end_real_us = toMicros(std::chrono::system_clock::now());
      ev.source = subject.source;
      ev.destination = subject.destination;
      ev.method = subject.method;
      if (!ev.method.empty() && ev.method.front() == '/') ev.method.erase(0, 1);
      ev.topic = subject.topic;
      ev.table = subject.table;
      ev.status = decision.outcome == FaultDecision::Outcome::kFail
                      ? std::string(statusCodeName(decision.code))
                      : decision.outcome == FaultDecision::Outcome::kDrop ? "DROPPED" : "OK";
      ev.detail = "rule " + e.rule.id + ": " + describeAction(a);
      if (a.kind == FaultActionKind::kDelay) ev.detail += " (applied " + formatDuration(applied.delay) + ")";
      events.push_back(std::move(ev));
      decision.applied.push_back(std::move(applied));
      if (terminal) break;
    }
  }
  for (auto& ev : events) sink_.emit(std::move(ev));
  return decision;
}

Status holdAndAnswer(const FaultDecision& d, Status when_dropped) {
  if (!d.faulted()) return OkStatus();
  if (d.delay.count() > 0) std::this_thread::sleep_for(d.delay);
  if (d.outcome == FaultDecision::Outcome::kFail) return Status(d.code, d.message);
  if (d.outcome == FaultDecision::Outcome::kDrop) return when_dropped;
  return OkStatus();
}

}  // namespace sandbank::faults
