// OpenItems against the in-process store: only items older than the age are resolved,
// final ones leave the list, an item still open (or whose resolver failed) is released for
// the next sweep, a claim whose sweeper died lapses after the age, and removed items are
// never swept.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bank_test_env.h"
#include "sandbank/bankcore/money.h"
#include "sandbank/bankcore/open_items.h"

namespace sandbank::bank {
namespace {

using namespace std::chrono_literals;

class OpenItemsTest : public ::testing::Test {
 protected:
  static constexpr int kBuckets = 4;

  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    kit::StoreCall ddl;
    ddl.consistency = "ALL";
    ASSERT_TRUE(env_.store_->execute("CREATE KEYSPACE IF NOT EXISTS demo WITH replication = "
                                     "{'class': 'SimpleStrategy', 'replication_factor': 3}", {}, ddl).ok());
    ASSERT_TRUE(env_.store_->execute(openItemsTableCql("demo", "open_things"), {}, ddl).ok());
    auto items = OpenItems::open(*env_.store_, "demo", "open_things", "LOCAL_QUORUM", env_.clock_, kBuckets);
    ASSERT_TRUE(items.ok()) << items.status().toString();
    items_ = std::move(items).value();
  }
  void TearDown() override {
    items_.reset();
    env_.stop();
  }

  // Sweeps with a resolver that records the ids it is given and answers `answer`.
  SweepReport sweep(std::vector<std::string>* seen, Result<bool> answer = true) {
    return items_->sweep(1min, [&](const std::string& id) -> Result<bool> {
      seen->push_back(id);
      return answer;
    });
  }

  testing::BankTestEnv env_;
  std::unique_ptr<OpenItems> items_;
};

TEST_F(OpenItemsTest, OnlyItemsOlderThanTheAgeAreResolvedAndFinalOnesLeaveTheList) {
  ASSERT_TRUE(items_->add("a").ok());
  env_.clock_.advance(30s);
  ASSERT_TRUE(items_->add("b").ok());
  env_.clock_.advance(40s);  // a is 70 s old, b 40 s
  std::vector<std::string> seen;
  SweepReport r = sweep(&seen);
  EXPECT_EQ(seen, std::vector<std::string>{"a"});
  EXPECT_EQ(r.examined, 2);
  EXPECT_EQ(r.resolved, 1);
  env_.clock_.advance(30s);
  seen.clear();
  r = sweep(&seen);
  EXPECT_EQ(seen, std::vector<std::string>{"b"}) << "a was taken off the list";
  EXPECT_EQ(r.examined, 1);
  EXPECT_EQ(sweep(&seen).examined, 0);
}

TEST_F(OpenItemsTest, AnItemStillOpenOrWhoseResolverFailedIsReleasedForTheNextSweep) {
  ASSERT_TRUE(items_->add("a").ok());
  env_.clock_.advance(2min);
  std::vector<std::string> seen;
  SweepReport open = sweep(&seen, false);
  EXPECT_EQ(open.still_open, 1);
  SweepReport failed = sweep(&seen, Unavailable("ledger down"));
  EXPECT_EQ(failed.failed, 1);
  SweepReport done = sweep(&seen);
  EXPECT_EQ(done.resolved, 1);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "a", "a"})) << "no sweep waited for a lapse";
}

TEST_F(OpenItemsTest, AClaimWhoseSweeperDiedLapsesAfterTheAge) {
  ASSERT_TRUE(items_->add("a").ok());
  env_.clock_.advance(2min);
  // A sweeper claimed it just now and died before resolving it.
  ASSERT_TRUE(env_.tamper("UPDATE demo.open_things SET claimed_us = " + std::to_string(toMicros(env_.clock_.now())) +
                          " WHERE bucket = " + std::to_string(bucketOf("a", kBuckets)) + " AND item_id = 'a'")
                  .ok());
  std::vector<std::string> seen;
  SweepReport held = sweep(&seen);
  EXPECT_EQ(held.skipped, 1);
  EXPECT_TRUE(seen.empty());
  env_.clock_.advance(2min);
  SweepReport lapsed = sweep(&seen);
  EXPECT_EQ(lapsed.resolved, 1);
  EXPECT_EQ(seen, std::vector<std::string>{"a"});
}

TEST_F(OpenItemsTest, RemovedItemsAreNeverSwept) {
  ASSERT_TRUE(items_->add("a").ok());
  ASSERT_TRUE(items_->remove("a").ok());
  env_.clock_.advance(2min);
  std::vector<std::string> seen;
  EXPECT_EQ(sweep(&seen).examined, 0);
  EXPECT_TRUE(seen.empty());
}

TEST_F(OpenItemsTest, AListNeedsABucket) {
  auto none = OpenItems::open(*env_.store_, "demo", "open_things", "LOCAL_QUORUM", env_.clock_, 0);
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sandbank::bank
