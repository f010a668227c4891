// The plan is a pure function of the options: same seed, same plan; a plan signs every
// customer up first, refers only to steps and customers that exist, and follows the mix.
#include "sandbank/load/plan.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace sandbank::load {
namespace {

LoadOptions smallRun() {
  LoadOptions o;
  o.customers = 20;
  o.rate = 1000;
  o.duration = std::chrono::milliseconds(3000);
  o.seed = 42;
  o.edge = "127.0.0.1:1";
  return o;
}

TEST(PlanTest, SameSeedGivesIdenticalPlan) {
  auto a = plan(smallRun());
  auto b = plan(smallRun());
  ASSERT_EQ(a.size(), 3000u);
  EXPECT_EQ(a, b);
}

TEST(PlanTest, DifferentSeedGivesDifferentPlanAndKeys) {
  LoadOptions o = smallRun();
  auto a = plan(o);
  o.seed = 43;
  auto b = plan(o);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(a, b);
  std::set<std::string> keys_a;
  for (const auto& op : a) {
    if (!op.key.empty()) keys_a.insert(op.key);
  }
  for (const auto& op : b) {
    if (!op.key.empty()) {
      EXPECT_EQ(keys_a.count(op.key), 0u) << op.key << " is shared by two seeds";
    }
  }
}

TEST(PlanTest, PlanDoesNotDependOnConcurrencyOrEdge) {
  LoadOptions o = smallRun();
  auto a = plan(o);
  o.concurrency = 3;
  o.edge = "localhost:9999";
  EXPECT_EQ(a, plan(o));
}

TEST(PlanTest, StepsAreNumberedAndPacedByRate) {
  auto p = plan(smallRun());
  for (size_t i = 0; i < p.size(); ++i) {
    ASSERT_EQ(p[i].step, i);
    ASSERT_EQ(p[i].at, std::chrono::milliseconds(i));  // rate 1000/s
  }
}

TEST(PlanTest, SignupsComeFirstThenEachCustomerGetsPaid) {
  LoadOptions o = smallRun();
  auto p = plan(o);
  std::set<std::string> emails;
  for (int i = 0; i < o.customers; ++i) {
    EXPECT_EQ(p[i].kind, OpKind::kSignup);
    EXPECT_EQ(p[i].customer, i);
    emails.insert(p[i].key);
  }
  EXPECT_EQ(emails.size(), static_cast<size_t>(o.customers));
  for (int i = 0; i < o.customers; ++i) {
    const PlannedOp& op = p[static_cast<size_t>(o.customers + i)];
    EXPECT_EQ(op.kind, OpKind::kGetPaid);
    EXPECT_EQ(op.customer, i);
    EXPECT_GE(op.amount_minor, 100'000);
  }
  for (size_t i = static_cast<size_t>(o.customers); i < p.size(); ++i) {
    EXPECT_NE(p[i].kind, OpKind::kSignup) << "step " << i;
  }
}

TEST(PlanTest, EveryReferenceNamesAnEarlierStepOfTheSameCustomer) {
  LoadOptions o = smallRun();
  auto p = plan(o);
  std::map<uint64_t, int> authorise_follow_ups;
  for (const auto& op : p) {
    ASSERT_GE(op.customer, 0);
    ASSERT_LT(op.customer, o.customers);
    switch (op.kind) {
      case OpKind::kCardRetransmit: {
        ASSERT_GE(op.depends_on, 0);
        const PlannedOp& orig = p[static_cast<size_t>(op.depends_on)];
        ASSERT_LT(orig.step, op.step);
        EXPECT_EQ(orig.kind, OpKind::kCardAuthorise);
        EXPECT_EQ(orig.key, op.key) << "a retransmission repeats the scheme_message_id";
        EXPECT_EQ(orig.amount_minor, op.amount_minor);
        EXPECT_EQ(orig.customer, op.customer);
        break;
      }
      case OpKind::kCardClear:
      case OpKind::kCardReverse: {
        ASSERT_GE(op.depends_on, 0);
        const PlannedOp& orig = p[static_cast<size_t>(op.depends_on)];
        ASSERT_LT(orig.step, op.step);
        EXPECT_EQ(orig.kind, OpKind::kCardAuthorise);
        EXPECT_EQ(orig.customer, op.customer);
        EXPECT_NE(orig.key, op.key);
        EXPECT_EQ(++authorise_follow_ups[orig.step], 1) << "authorise " << orig.step << " settled twice";
        break;
      }
      case OpKind::kPotDeposit:
      case OpKind::kPotWithdraw: {
        ASSERT_GE(op.depends_on, 0);
        const PlannedOp& pot = p[static_cast<size_t>(op.depends_on)];
        EXPECT_EQ(pot.kind, OpKind::kPotCreate);
        EXPECT_EQ(pot.customer, op.customer);
        EXPECT_GT(op.amount_minor, 0);
        break;
      }
      case OpKind::kTransfer:
        EXPECT_GE(op.counterparty, 0);
        EXPECT_LT(op.counterparty, o.customers);
        EXPECT_NE(op.counterparty, op.customer);
        EXPECT_GT(op.amount_minor, 0);
        break;
      case OpKind::kCardAuthorise:
        EXPECT_GE(op.merchant, 0);
        EXPECT_LT(op.merchant, static_cast<int>(merchants().size()));
        EXPECT_GT(op.amount_minor, 0);
        break;
      case OpKind::kPayment:
        EXPECT_EQ(op.sort_code.size(), 6u);
        EXPECT_EQ(op.account_number.size(), 8u);
        break;
      default:
        break;
    }
  }
}

TEST(PlanTest, EveryStepHasItsOwnTraceId) {
  auto p = plan(smallRun());
  std::set<std::string> ids;
  for (const auto& op : p) {
    ASSERT_EQ(op.trace_id.size(), 32u);
    EXPECT_EQ(op.trace_id.find_first_not_of("0123456789abcdef"), std::string::npos);
    ids.insert(op.trace_id);
  }
  EXPECT_EQ(ids.size(), p.size());
}

TEST(PlanTest, KeysAreUniqueExceptForRetransmissions) {
  auto p = plan(smallRun());
  std::set<std::string> seen;
  for (const auto& op : p) {
    if (op.key.empty() || op.kind == OpKind::kCardRetransmit) continue;
    EXPECT_TRUE(seen.insert(op.key).second) << "duplicate key " << op.key;
  }
  EXPECT_GT(seen.size(), p.size() / 2);
}

TEST(PlanTest, MixRoughlyFollowsWeights) {
  LoadOptions o = smallRun();
  o.duration = std::chrono::milliseconds(30'000);  // 30000 steps
  auto p = plan(o);
  std::map<std::string, double> counts;
  double total = 0;
  for (size_t i = 2 * static_cast<size_t>(o.customers); i < p.size(); ++i) {
    std::string activity;
    switch (p[i].kind) {
      case OpKind::kGetPaid: activity = "get_paid"; break;
      case OpKind::kCardAuthorise: activity = "card_spend"; break;
      case OpKind::kTransfer: activity = "transfer"; break;
      case OpKind::kPotCreate:
      case OpKind::kPotDeposit:
      case OpKind::kPotWithdraw: activity = "pot"; break;
      case OpKind::kPayment: activity = "payment"; break;
      case OpKind::kReadBalance: activity = "read_balance"; break;
      case OpKind::kReadFeed: activity = "read_feed"; break;
      default: continue;  // follow-ups of a spend
    }
    counts[activity] += 1;
    total += 1;
  }
  const OperationMix& m = o.mix;
  std::map<std::string, double> weights = {{"get_paid", m.get_paid},     {"card_spend", m.card_spend},
                                           {"transfer", m.transfer},     {"pot", m.pot},
                                           {"payment", m.payment},       {"read_balance", m.read_balance},
                                           {"read_feed", m.read_feed}};
  double weight_sum = 0;
  for (auto& [_, w] : weights) weight_sum += w;
  for (auto& [name, w] : weights) {
    double expected = w / weight_sum;
    double got = counts[name] / total;
    EXPECT_NEAR(got, expected, expected * 0.2) << name;
  }
  // Follow-ups: most spends are settled (cleared or reversed).
  double spends = counts["card_spend"];
  size_t settles = 0, retransmits = 0;
  for (const auto& op : p) {
    settles += op.kind == OpKind::kCardClear || op.kind == OpKind::kCardReverse;
    retransmits += op.kind == OpKind::kCardRetransmit;
  }
  EXPECT_GT(static_cast<double>(settles), spends * 0.85);
  EXPECT_GT(retransmits, 0u);
}

TEST(PlanTest, SpendsAreMostlyAffordable) {
  // Replays the plan against the balances it implies (every step succeeding) and counts
  // spends that would overdraw: about overspend_fraction of them, not more.
  LoadOptions o = smallRun();
  auto p = plan(o);
  std::vector<int64_t> balance(static_cast<size_t>(o.customers), 0);
  std::map<uint64_t, int64_t> held;
  int spends = 0, over = 0;
  for (const auto& op : p) {
    auto& b = balance[static_cast<size_t>(op.customer)];
    switch (op.kind) {
      case OpKind::kGetPaid:
      case OpKind::kPotWithdraw: b += op.amount_minor; break;
      case OpKind::kCardAuthorise:
      case OpKind::kTransfer:
      case OpKind::kPayment:
      case OpKind::kPotDeposit:
        ++spends;
        if (op.amount_minor > b) {
          ++over;
          break;
        }
        b -= op.amount_minor;
        if (op.kind == OpKind::kCardAuthorise) held[op.step] = op.amount_minor;
        if (op.kind == OpKind::kTransfer) balance[static_cast<size_t>(op.counterparty)] += op.amount_minor;
        break;
      case OpKind::kCardReverse:
        if (held.count(static_cast<uint64_t>(op.depends_on))) b += held[static_cast<uint64_t>(op.depends_on)];
        break;
      case OpKind::kCardClear:
        if (held.count(static_cast<uint64_t>(op.depends_on))) {
          b -= op.amount_minor - held[static_cast<uint64_t>(op.depends_on)];
        }
        break;
      default: break;
    }
  }
  ASSERT_GT(spends, 1000);
  EXPECT_GT(over, 0);
  EXPECT_LT(over, spends / 10);
}

TEST(PlanTest, InvalidOptionsGiveNoPlan) {
  LoadOptions o = smallRun();
  o.rate = -1;
  EXPECT_TRUE(plan(o).empty());
}

TEST(PlanTest, UnboundedRunPlansOnDemand) {
  LoadOptions o = smallRun();
  o.duration = std::chrono::milliseconds(0);
  EXPECT_EQ(plan(o).size(), static_cast<size_t>(o.customers));
  auto long_plan = plan(o, 5000);
  ASSERT_EQ(long_plan.size(), 5000u);
  PlanGenerator gen(o);
  for (const auto& op : long_plan) ASSERT_EQ(gen.next(), op);
}

}  // namespace
}  // namespace sandbank::load
