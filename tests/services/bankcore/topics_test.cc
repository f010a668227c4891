// ensureTopic against the in-process bus: creates a topic once, and is fine the second time.
#include <gtest/gtest.h>

#include "bank_test_env.h"
#include "sandbank/bankcore/topics.h"

namespace sandbank::bank {
namespace {

TEST(TopicsTest, EnsureTopicCreatesItOnceAndAcceptsAnExistingOne) {
  testing::BankTestEnv env;
  env.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_TRUE(ensureTopic(env.address_, "pot.events", 3).ok());
  auto t = env.broker_->describeTopic("pot.events");
  ASSERT_TRUE(t.ok()) << t.status().toString();
  EXPECT_EQ(t->partitions.size(), 3u);
  EXPECT_TRUE(ensureTopic(env.address_, "pot.events", 5).ok());
  EXPECT_TRUE(ensureTopic(env.address_, "ledger.entrysets", 1).ok());  // made by the env with 4
  Status bad = ensureTopic(env.address_, "bad topic name!", 1);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("bad topic name!"), std::string::npos) << bad.message();
  env.stop();
}

}  // namespace
}  // namespace sandbank::bank
