// Tests for sim/faults: globbing, rule matching, timing windows, N-times, partitions,
// probability and seeded determinism, and the kFault flow events.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "sandbank/faults/fault_engine.h"
#include "sandbank/faults/glob.h"

namespace sandbank::faults {
namespace {

using namespace std::chrono_literals;
using Outcome = FaultDecision::Outcome;

FaultSubject call(std::string source, std::string destination, std::string method) {
  FaultSubject s;
  s.source = std::move(source);
  s.destination = std::move(destination);
  s.method = std::move(method);
  return s;
}

FaultRule failRule(std::string id, StatusCode code = StatusCode::kUnavailable) {
  FaultRule r;
  r.id = std::move(id);
  r.action.kind = FaultActionKind::kFail;
  r.action.code = code;
  return r;
}

FaultRule delayRule(std::string id, Duration delay, Duration jitter = Duration(0)) {
  FaultRule r;
  r.id = std::move(id);
  r.action.kind = FaultActionKind::kDelay;
  r.action.delay = delay;
  r.action.jitter = jitter;
  return r;
}

TEST(Glob, StarMatchesAnyRunAndQuestionOneChar) {
  EXPECT_TRUE(globMatch("sandbank.ledger.Ledger/*", "sandbank.ledger.Ledger/PostEntrySet"));
  EXPECT_TRUE(globMatch("*/Post*", "sandbank.ledger.Ledger/PostEntrySet"));
  EXPECT_TRUE(globMatch("ledger-?", "ledger-2"));
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_TRUE(globMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(globMatch("ledger-?", "ledger-12"));
  EXPECT_FALSE(globMatch("*/Get*", "sandbank.ledger.Ledger/PostEntrySet"));
  EXPECT_FALSE(globMatch("a*b*c", "axxbyy"));
  EXPECT_FALSE(globMatch("", "x"));
}

TEST(FaultRuleMatch, EveryNonEmptyFieldMustMatch) {
  FaultRule r = failRule("r");
  r.match.source = "gateway";
  r.match.destination = "ledger";
  r.match.method = "/sandbank.ledger.Ledger/Post*";
  EXPECT_TRUE(ruleMatches(r, call("gateway", "ledger", "/sandbank.ledger.Ledger/PostEntrySet")));
  EXPECT_TRUE(ruleMatches(r, call("gateway", "ledger", "sandbank.ledger.Ledger/PostEntrySet")));
  EXPECT_FALSE(ruleMatches(r, call("payments", "ledger", "sandbank.ledger.Ledger/PostEntrySet")));
  EXPECT_FALSE(ruleMatches(r, call("gateway", "accounts", "sandbank.ledger.Ledger/PostEntrySet")));
  EXPECT_FALSE(ruleMatches(r, call("gateway", "ledger", "sandbank.ledger.Ledger/GetBalance")));
}

TEST(FaultRuleMatch, TopicRulesOnlyMatchBusAndTableRulesOnlyStore) {
  FaultRule topic = failRule("t");
  topic.match.topic = "payments.*";
  FaultSubject publish;
  publish.layer = SubjectLayer::kBus;
  publish.topic = "payments.settled";
  EXPECT_TRUE(ruleMatches(topic, publish));
  publish.topic = "ledger.posted";
  EXPECT_FALSE(ruleMatches(topic, publish));
  EXPECT_FALSE(ruleMatches(topic, call("a", "b", "x/y")));

  FaultRule table = failRule("s");
  table.match.table = "balances";
  FaultSubject write;
  write.layer = SubjectLayer::kStore;
  write.table = "balances";
  EXPECT_TRUE(ruleMatches(table, write));
  publish.topic = "balances";
  EXPECT_FALSE(ruleMatches(table, publish));

  // A rule without topic or table applies to every layer.
  EXPECT_TRUE(ruleMatches(failRule("any"), write));
  EXPECT_TRUE(ruleMatches(failRule("any"), publish));
}

TEST(FaultRuleValidation, RejectsMalformedRules) {
  FaultRule r = failRule("");
  EXPECT_EQ(validateRule(r).code(), StatusCode::kInvalidArgument);
  r = failRule("ok-code", StatusCode::kOk);
  EXPECT_EQ(validateRule(r).code(), StatusCode::kInvalidArgument);
  r = failRule("p");
  r.action.probability = 1.5;
  EXPECT_EQ(validateRule(r).code(), StatusCode::kInvalidArgument);
  r = failRule("hits");
  r.timing.max_hits = 0;
  EXPECT_EQ(validateRule(r).code(), StatusCode::kInvalidArgument);
  r.id = "part";
  r.timing.max_hits.reset();
  r.action.kind = FaultActionKind::kPartition;
  r.action.side_a = {"ledger"};
  EXPECT_EQ(validateRule(r).code(), StatusCode::kInvalidArgument);
  r.action.side_b = {"payments"};
  EXPECT_TRUE(validateRule(r).ok());
}

class FaultEngineTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  flow::CollectingFlowSink sink_;
  FaultEngine engine_{clock_, sink_, 42};
};

TEST_F(FaultEngineTest, NoRulesMeansProceedWithoutEvents) {
  FaultDecision d = engine_.decide(call("a", "b", "x/y"));
  EXPECT_EQ(d.outcome, Outcome::kProceed);
  EXPECT_FALSE(d.faulted());
  EXPECT_TRUE(sink_.events().empty());
}

TEST_F(FaultEngineTest, FailRuleAnswersWithItsCodeAndEmitsFaultEventNamingRule) {
  FaultRule r = failRule("ledger-down", StatusCode::kResourceExhausted);
  r.match.destination = "ledger";
  ASSERT_TRUE(engine_.addRule(r).ok());
  FaultSubject s = call("gateway", "ledger", "/sandbank.ledger.Ledger/PostEntrySet");
  s.trace_id = std::string(32, 'a');
  s.span_id = std::string(16, 'b');

  FaultDecision d = engine_.decide(s);
  EXPECT_EQ(d.outcome, Outcome::kFail);
  EXPECT_EQ(d.code, StatusCode::kResourceExhausted);
  EXPECT_NE(d.message.find("ledger-down"), std::string::npos);

  auto events = sink_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, flow::FlowKind::kFault);
  EXPECT_EQ(events[0].detail.rfind("rule ledger-down:", 0), 0u) << events[0].detail;
  EXPECT_EQ(events[0].status, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(events[0].trace_id, s.trace_id);
  EXPECT_EQ(events[0].parent_span_id, s.span_id);
  EXPECT_EQ(events[0].method, "sandbank.ledger.Ledger/PostEntrySet");
  EXPECT_EQ(events[0].start_sim_us, toMicros(clock_.now()));

  EXPECT_EQ(engine_.decide(call("gateway", "accounts", "x/y")).outcome, Outcome::kProceed);
  EXPECT_EQ(sink_.events().size(), 1u);
}

TEST_F(FaultEngineTest, DelaysAddUpAndTerminalRuleStopsEvaluation) {
  ASSERT_TRUE(engine_.addRule(delayRule("slow-1", 100ms)).ok());
  ASSERT_TRUE(engine_.addRule(delayRule("slow-2", 50ms)).ok());
  FaultRule drop;
  drop.id = "blackhole";
  drop.action.kind = FaultActionKind::kDrop;
  ASSERT_TRUE(engine_.addRule(drop).ok());
  ASSERT_TRUE(engine_.addRule(failRule("never-reached")).ok());

  FaultDecision d = engine_.decide(call("a", "b", "x/y"));
  EXPECT_EQ(d.outcome, Outcome::kDrop);
  EXPECT_EQ(d.delay, Duration(150ms));
  ASSERT_EQ(d.applied.size(), 3u);
  EXPECT_EQ(d.summary(), "slow-1: delay 100ms; slow-2: delay 50ms; blackhole: drop");
  EXPECT_EQ(sink_.events().size(), 3u);
  EXPECT_EQ(engine_.rule("never-reached")->hits, 0);
  EXPECT_EQ(engine_.rule("blackhole")->hits, 1);
}

TEST_F(FaultEngineTest, StartAfterAndStopAfterBoundTheWindowOnTheInjectedClock) {
  FaultRule r = failRule("window");
  r.timing.start_after = 10s;
  r.timing.stop_after = 20s;
  ASSERT_TRUE(engine_.addRule(r).ok());
  auto s = call("a", "b", "x/y");

  EXPECT_EQ(engine_.decide(s).outcome, Outcome::kProceed);
  EXPECT_FALSE(engine_.rule("window")->active);
  clock_.advance(10s);
  EXPECT_EQ(engine_.decide(s).outcome, Outcome::kFail);
  EXPECT_TRUE(engine_.rule("window")->active);
  clock_.advance(9s);
  EXPECT_EQ(engine_.decide(s).outcome, Outcome::kFail);
  clock_.advance(1s);
  EXPECT_EQ(engine_.decide(s).outcome, Outcome::kProceed);
  EXPECT_EQ(engine_.rule("window")->hits, 2);
}

TEST_F(FaultEngineTest, MaxHitsAppliesOnlyNTimes) {
  FaultRule r = failRule("thrice");
  r.timing.max_hits = 3;
  ASSERT_TRUE(engine_.addRule(r).ok());
  int failed = 0;
  for (int i = 0; i < 10; ++i) {
    if (engine_.decide(call("a", "b", "x/y")).outcome == Outcome::kFail) ++failed;
  }
  EXPECT_EQ(failed, 3);
  auto state = engine_.rule("thrice");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->hits, 3);
  EXPECT_FALSE(state->active);
}

TEST_F(FaultEngineTest, PartitionCutsBothDirectionsButNotWithinASide) {
  FaultRule r;
  r.id = "split";
  r.action.kind = FaultActionKind::kPartition;
  r.action.side_a = {"ledger", "accounts"};
  r.action.side_b = {"payments-*"};
  ASSERT_TRUE(engine_.addRule(r).ok());

  FaultDecision d = engine_.decide(call("ledger", "payments-eu", "x/y"));
  EXPECT_EQ(d.outcome, Outcome::kFail);
  EXPECT_EQ(d.code, StatusCode::kUnavailable);
  EXPECT_NE(d.message.find("split"), std::string::npos);
  EXPECT_EQ(engine_.decide(call("payments-us", "accounts", "x/y")).outcome, Outcome::kFail);
  EXPECT_EQ(engine_.decide(call("ledger", "accounts", "x/y")).outcome, Outcome::kProceed);
  EXPECT_EQ(engine_.decide(call("payments-eu", "payments-us", "x/y")).outcome, Outcome::kProceed);
  EXPECT_EQ(engine_.decide(call("gateway", "ledger", "x/y")).outcome, Outcome::kProceed);
  EXPECT_EQ(engine_.rule("split")->hits, 2);
}

std::vector<int> failurePattern(FaultEngine& engine, int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) {
    FaultDecision d = engine.decide(call("a", "b", "x/y"));
    out.push_back(d.outcome == Outcome::kFail ? 1 : 0);
    out.push_back(static_cast<int>(d.delay.count() / 1000));
  }
  return out;
}

TEST_F(FaultEngineTest, SameSeedAndCallsGiveSameDecisions) {
  FaultRule flaky = failRule("flaky");
  flaky.action.probability = 0.3;
  FaultRule jitter = delayRule("jitter", 100ms, 50ms);
  ASSERT_TRUE(engine_.addRule(jitter).ok());
  ASSERT_TRUE(engine_.addRule(flaky).ok());

  ManualClock clock2;
  FaultEngine other(clock2, flow::NullFlowSink::instance(), 42);
  ASSERT_TRUE(other.addRule(jitter).ok());
  ASSERT_TRUE(other.addRule(flaky).ok());

  auto first = failurePattern(engine_, 200);
  EXPECT_EQ(first, failurePattern(other, 200));

  // The probability is honoured roughly, and the draws are not all alike.
  int fails = 0;
  for (size_t i = 0; i < first.size(); i += 2) fails += first[i];
  EXPECT_GT(fails, 30);
  EXPECT_LT(fails, 90);
  std::set<int> delays;
  for (size_t i = 1; i < first.size(); i += 2) {
    EXPECT_GE(first[i], 50'000);
    EXPECT_LE(first[i], 150'000);
    delays.insert(first[i]);
  }
  EXPECT_GT(delays.size(), 100u);

  // Reseeding replays the sequence; a different seed gives a different one.
  engine_.reseed(42);
  EXPECT_EQ(failurePattern(engine_, 200), first);
  engine_.reseed(7);
  EXPECT_NE(failurePattern(engine_, 200), first);
}

TEST_F(FaultEngineTest, ProbabilityMissesCountAsMatchedNotHit) {
  FaultRule never = failRule("never");
  never.action.probability = 0.0;
  ASSERT_TRUE(engine_.addRule(never).ok());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(engine_.decide(call("a", "b", "x/y")).outcome, Outcome::kProceed);
  EXPECT_EQ(engine_.rule("never")->matched, 5);
  EXPECT_EQ(engine_.rule("never")->hits, 0);
  EXPECT_TRUE(sink_.events().empty());
}

TEST_F(FaultEngineTest, AddUpdateRemoveAndList) {
  ASSERT_TRUE(engine_.addRule(failRule("a")).ok());
  ASSERT_TRUE(engine_.addRule(delayRule("b", 1ms)).ok());
  EXPECT_EQ(engine_.addRule(failRule("a")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(engine_.decide(call("x", "y", "s/m")).outcome, Outcome::kFail);
  EXPECT_EQ(engine_.rule("a")->hits, 1);

  FaultRule narrower = failRule("a");
  narrower.match.destination = "ledger";
  ASSERT_TRUE(engine_.updateRule(narrower).ok());
  EXPECT_EQ(engine_.rule("a")->hits, 0);
  EXPECT_EQ(engine_.decide(call("x", "y", "s/m")).outcome, Outcome::kProceed);

  auto rules = engine_.listRules();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].rule.id, "a");
  EXPECT_EQ(rules[0].rule.match.destination, "ledger");
  EXPECT_EQ(rules[1].rule.id, "b");
  EXPECT_EQ(rules[1].hits, 1);  // the first call stopped at the fail rule "a"

  EXPECT_EQ(engine_.updateRule(failRule("zzz")).code(), StatusCode::kNotFound);
  ASSERT_TRUE(engine_.removeRule("a").ok());
  EXPECT_EQ(engine_.removeRule("a").code(), StatusCode::kNotFound);
  EXPECT_EQ(engine_.listRules().size(), 1u);
  engine_.clear();
  EXPECT_TRUE(engine_.listRules().empty());
}

TEST(FaultDescribe, NamesTheActionAndItsParameters) {
  EXPECT_EQ(describeAction(delayRule("d", 250ms, 50ms).action), "delay 250ms +/- 50ms");
  FaultRule f = failRule("f", StatusCode::kAborted);
  f.action.probability = 0.25;
  EXPECT_EQ(describeAction(f.action), "fail ABORTED p=0.25");
  FaultActionKind k;
  ASSERT_TRUE(parseFaultActionKind("partition", &k));
  EXPECT_EQ(k, FaultActionKind::kPartition);
  EXPECT_FALSE(parseFaultActionKind("explode", &k));
}

}  // namespace
}  // namespace sandbank::faults
