// IdempotencyKeys against the in-process store: the first claim wins, a retry gets the
// same id back, a key reused for another request is refused, an empty key is rejected;
// and the id generator.
#include <gtest/gtest.h>

#include <set>

#include "bank_test_env.h"
#include "sandbank/bankcore/idempotency.h"

namespace sandbank::bank {
namespace {

class IdempotencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    kit::StoreCall ddl;
    ddl.consistency = "ALL";
    ASSERT_TRUE(env_.store_->execute("CREATE KEYSPACE IF NOT EXISTS demo WITH replication = "
                                     "{'class': 'SimpleStrategy', 'replication_factor': 3}", {}, ddl).ok());
    ASSERT_TRUE(env_.store_->execute(idempotencyTableCql("demo"), {}, ddl).ok());
    auto keys = IdempotencyKeys::open(*env_.store_, "demo", "LOCAL_QUORUM", env_.clock_);
    ASSERT_TRUE(keys.ok()) << keys.status().toString();
    keys_ = std::move(keys).value();
  }
  void TearDown() override {
    keys_.reset();
    env_.stop();
  }
  testing::BankTestEnv env_;
  std::unique_ptr<IdempotencyKeys> keys_;
};

TEST_F(IdempotencyTest, FirstClaimWinsAndARetryGetsTheSameIdBack) {
  auto first = keys_->claim("k-1", "transfer", "a->b 100 GBP", "tr_1");
  ASSERT_TRUE(first.ok()) << first.status().toString();
  EXPECT_TRUE(first->fresh);
  EXPECT_EQ(first->id, "tr_1");
  auto retry = keys_->claim("k-1", "transfer", "a->b 100 GBP", "tr_2");
  ASSERT_TRUE(retry.ok()) << retry.status().toString();
  EXPECT_FALSE(retry->fresh);
  EXPECT_EQ(retry->id, "tr_1");
}

TEST_F(IdempotencyTest, AKeyReusedForADifferentRequestIsRefusedNamingTheEarlierOne) {
  ASSERT_TRUE(keys_->claim("k-2", "transfer", "a->b 100 GBP", "tr_1").ok());
  auto other = keys_->claim("k-2", "transfer", "a->b 999 GBP", "tr_9");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("transfer tr_1"), std::string::npos) << other.status().message();
  auto kind = keys_->claim("k-2", "payment", "a->b 100 GBP", "pay_1");
  EXPECT_EQ(kind.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(IdempotencyTest, AnEmptyKeyIsRejected) {
  auto r = keys_->claim("", "transfer", "x", "tr_1");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(IdGeneratorTest, IdsCarryThePrefixAndDoNotRepeat) {
  IdGenerator ids;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = ids.next("card");
    EXPECT_EQ(id.rfind("card_", 0), 0u) << id;
    EXPECT_EQ(id.size(), 5u + 16u) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace sandbank::bank
