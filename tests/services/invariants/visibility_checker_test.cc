// Invariant 8 against a real ledger publishing to the in-process bus: every acknowledged
// EntrySet is visible through every coordinator on a healthy cluster, and nodes joined
// without streaming (the July 2019 scale-up) make the checker report missing rows.
#include <gtest/gtest.h>

#include "../bankcore/bank_test_env.h"
#include "sandbank/invariants/bank_checker.h"
#include "sandbank/invariants/visibility_checker.h"
#include "sandbank/ledger/ledger.h"

namespace sandbank::invariants {
namespace {

namespace lpb = ::sandbank::bank::ledger;

class VisibilityCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    auto ledger = ledger::Ledger::open(*env_.store_, env_.producer_.get(), env_.clock_);
    ASSERT_TRUE(ledger.ok()) << ledger.status().toString();
    ledger_ = std::move(ledger).value();
    for (int i = 0; i < kPostings; ++i) {
      lpb::PostEntrySetRequest r;
      r.set_idempotency_key("move-" + std::to_string(i));
      auto* d = r.add_entries();
      d->set_address("external:fps:in");
      d->mutable_amount()->set_minor_units(-100 - i);
      d->mutable_amount()->set_currency("GBP");
      auto* c = r.add_entries();
      c->set_address("account:a" + std::to_string(i % 7) + ":main");
      c->mutable_amount()->set_minor_units(100 + i);
      c->mutable_amount()->set_currency("GBP");
      auto p = ledger_->post(r);
      ASSERT_TRUE(p.ok()) << p.status().toString();
    }
    ASSERT_TRUE(env_.producer_->flush().ok());
  }
  void TearDown() override {
    ledger_.reset();
    env_.stop();
  }

  VisibilityOptions options(int coordinators) {
    VisibilityOptions o;
    o.bus_address = env_.address_;
    o.coordinators = coordinators;
    return o;
  }

  static constexpr int kPostings = 60;
  bank::testing::BankTestEnv env_;
  std::unique_ptr<ledger::Ledger> ledger_;
};

TEST_F(VisibilityCheckerTest, EveryAcknowledgedEntrySetIsVisibleThroughEveryCoordinator) {
  auto r = checkVisibility(*env_.store_, options(3));
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_TRUE(r->clean()) << r->toText();
  EXPECT_EQ(r->visibility_reads, kPostings);
}

TEST_F(VisibilityCheckerTest, NodesJoinedWithoutStreamingShowUpAsInvisibleAcknowledgedWrites) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(env_.cluster_->addNode("dc1", false).ok());
  auto r = checkVisibility(*env_.store_, options(6));
  ASSERT_TRUE(r.ok()) << r.status().toString();
  ASSERT_FALSE(r->clean());
  const Violation& v = r->violations.front();
  EXPECT_EQ(v.invariant, 8);
  EXPECT_EQ(v.subject.rfind("entryset ", 0), 0u) << v.subject;
  EXPECT_NE(v.detail.find("LOCAL_QUORUM read through node-"), std::string::npos) << v.detail;
  ASSERT_EQ(v.rows.size(), 1u);
  EXPECT_NE(v.rows[0].find("ledger.entrysets/"), std::string::npos) << v.rows[0];
}

TEST_F(VisibilityCheckerTest, ReadsThatCannotOverlapTheWriteQuorumAreNotChecked) {
  VisibilityOptions o = options(3);
  o.read_consistency = "ONE";  // W 2 + R 1 = RF: stale reads are allowed
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(env_.cluster_->addNode("dc1", false).ok());
  auto r = checkVisibility(*env_.store_, o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_TRUE(r->clean());
  ASSERT_FALSE(r->notes.empty());
  EXPECT_NE(r->notes[0].find("not checked"), std::string::npos) << r->notes[0];
}

TEST_F(VisibilityCheckerTest, TheBankCheckRunsTheLedgerAndVisibilityChecksTogether) {
  BankCheckOptions o;
  o.bus_address = env_.address_;
  auto r = checkBank(*env_.store_, o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_TRUE(r->report.clean()) << r->report.toText();
  EXPECT_EQ(r->invariants, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(r->report.entrysets, kPostings);
  EXPECT_EQ(r->report.visibility_reads, kPostings);
}

}  // namespace
}  // namespace sandbank::invariants
