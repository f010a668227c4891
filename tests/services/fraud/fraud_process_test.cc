// The real `fraud` executable against an in-process store and bus: it creates its topic
// and tables at start-up, joins transaction.events with a consumer group of its own
// instance, and lets what it read there drive the velocity rule; rule settings come from
// its environment. Runs the binary from SANDBANK_BIN_DIR.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <thread>

#include "../bankcore/bank_test_env.h"
#include "../p2p/service_process.h"
#include "sandbank/bank/fraud.grpc.pb.h"
#include "sandbank/bank/transaction.pb.h"

namespace sandbank::fraud {
namespace {

using namespace std::chrono_literals;
namespace pb = ::sandbank::bank::fraud;
namespace txpb = ::sandbank::bank::transaction;

TEST(FraudProcessTest, TheExecutableScoresFromItsEnvironmentAndTheTransactionsItConsumes) {
  bank::testing::BankTestEnv env;
  env.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  bank::testing::ServiceProcess fraud;
  // The process reads real time; the window is wide enough for events stamped by the
  // test's ManualClock (a fixed instant in 2023) to count.
  fraud.start("fraud", {{"SANDBANK_STORE", env.address_},
                        {"SANDBANK_BUS", env.address_},
                        {"SANDBANK_INSTANCE", "fraud-1"},
                        {"SANDBANK_TOPIC_PARTITIONS", std::to_string(bank::testing::BankTestEnv::kPartitions)},
                        {"FRAUD_CARD_CHECK", "false"},
                        {"FRAUD_VELOCITY_MAX", "2"},
                        {"FRAUD_VELOCITY_WINDOW", "87600h"},
                        {"FRAUD_BLOCKED_MCCS", "6051"}});
  ASSERT_FALSE(fraud.port().empty()) << "fraud never said it was listening; its output:\n" << fraud.log();
  ASSERT_TRUE(env.broker_->describeTopic("fraud.decisions").ok()) << "the service creates its topic";
  ASSERT_TRUE(env.broker_->describeTopic("transaction.events").ok()) << "... and the one it reads";

  for (const char* id : {"tx-1", "tx-2"}) {
    txpb::TransactionEvent ev;
    ev.mutable_transaction()->set_transaction_id(id);
    ev.mutable_transaction()->set_account_id("acc-1");
    ev.mutable_transaction()->mutable_amount()->set_minor_units(-100);
    ev.mutable_transaction()->mutable_amount()->set_currency("GBP");
    ev.mutable_transaction()->set_kind("card");
    ev.mutable_transaction()->set_created_at_us(toMicros(env.clock_.now()));
    kit::BusMessage m;
    m.key = "acc-1";
    m.value = ev.SerializeAsString();
    env.producer_->send("transaction.events", std::move(m));
  }
  ASSERT_TRUE(env.producer_->flush().ok());
  // Poll (bounded) until the instance's own group has committed both records.
  bool caught_up = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (; !caught_up && std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(10ms)) {
    auto lag = env.broker_->lag("fraud.fraud-1");
    int64_t total = 0;
    for (const auto& l : lag.valueOr({})) total += l.lag;
    caught_up = lag.ok() && !lag->empty() && total == 0;
  }
  ASSERT_TRUE(caught_up) << "group fraud.fraud-1 never consumed transaction.events";

  auto stub = pb::Fraud::NewStub(grpc::CreateChannel(fraud.address(), grpc::InsecureChannelCredentials()));
  pb::ScoreAuthorisationRequest req;
  req.set_account_id("acc-1");
  req.mutable_amount()->set_minor_units(100);
  req.mutable_amount()->set_currency("GBP");
  req.set_merchant_category_code("6051");
  pb::Score score;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 20s);
  grpc::Status s = stub->ScoreAuthorisation(&ctx, req, &score);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::set<std::string> fired(score.rules_fired().begin(), score.rules_fired().end());
  EXPECT_EQ(fired, (std::set<std::string>{"velocity", "merchant_category"})) << score.reason();
  EXPECT_EQ(score.verdict(), pb::BLOCK);

  EXPECT_EQ(fraud.stop(), 0);
  auto decisions = env.records("fraud.decisions");
  EXPECT_EQ(decisions.size(), 1u);
  env.stop();
}

}  // namespace
}  // namespace sandbank::fraud
