// The fraud service over real gRPC with the store and bus in-process and a fake card
// service: each rule firing and not firing, the velocity window sliding on the
// ManualClock and fed from transaction.events (duplicates counted once, a scored attempt
// not counted twice), the window kept in the store across a restart and across
// instances, verdicts at the block threshold, decisions on fraud.decisions, and bad
// requests answered with the field.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <thread>

#include "../bankcore/bank_test_env.h"
#include "../p2p/fake_upstreams.h"
#include "sandbank/bank/fraud.grpc.pb.h"
#include "sandbank/bank/transaction.pb.h"
#include "sandbank/fraud/fraud.h"
#include "sandbank/fraud/fraud_service.h"

namespace sandbank::fraud {
namespace {

using namespace std::chrono_literals;
using Vars = std::map<std::string, std::string>;
namespace txpb = ::sandbank::bank::transaction;

bool fired(const pb::Score& s, const std::string& rule) {
  return std::find(s.rules_fired().begin(), s.rules_fired().end(), rule) != s.rules_fired().end();
}

class FraudTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    for (const char* topic : {"transaction.events", "fraud.decisions"}) {
      bus::TopicConfig config;
      config.partitions = bank::testing::BankTestEnv::kPartitions;
      ASSERT_TRUE(env_.broker_->createTopic(topic, config).ok());
    }
    card_server_ = bank::testing::BankTestEnv::serve(&card_, &card_address_);
    ASSERT_NE(card_server_, nullptr);
    card_.add("card-ok", ::sandbank::bank::card::CARD_ACTIVE);
    card_.add("card-frozen", ::sandbank::bank::card::CARD_FROZEN);
  }
  void TearDown() override {
    if (fraud_) fraud_->stopConsuming();
    if (server_) server_->Shutdown();
    fraud_.reset();  // it drains its velocity writes through the store client, which must outlive it
    if (card_server_) card_server_->Shutdown();
    env_.stop();
  }

  // Opens the service with `rules` (small velocity limits so tests stay short).
  void open(FraudRules rules) {
    FraudOptions options;
    options.rules = std::move(rules);
    options.card = grpc::CreateChannel(card_address_, grpc::InsecureChannelCredentials());
    auto f = Fraud::open(*env_.store_, env_.producer_.get(), env_.clock_, options);
    ASSERT_TRUE(f.ok()) << f.status().toString();
    fraud_ = std::move(f).value();
    service_ = makeFraudGrpcService(*fraud_);
    server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(server_, nullptr);
    stub_ = pb::Fraud::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  static FraudRules testRules() {
    FraudRules r;
    r.velocity_max = 3;
    r.velocity_window = std::chrono::minutes(1);
    return r;
  }

  pb::Score authorise(const std::string& account, int64_t minor, const std::string& mcc = "5411",
                      const std::string& card = "card-ok") {
    pb::ScoreAuthorisationRequest req;
    req.set_account_id(account);
    req.set_card_id(card);
    req.mutable_amount()->set_minor_units(minor);
    req.mutable_amount()->set_currency("GBP");
    req.set_merchant_category_code(mcc);
    pb::Score out;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ScoreAuthorisation(&ctx, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  pb::Score transfer(const std::string& from, const std::string& to, int64_t minor) {
    pb::ScoreTransferRequest req;
    req.set_from_account_id(from);
    req.set_to_account_id(to);
    req.mutable_amount()->set_minor_units(minor);
    req.mutable_amount()->set_currency("GBP");
    pb::Score out;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ScoreTransfer(&ctx, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  void publishTransaction(const std::string& id, const std::string& account, int64_t minor, const std::string& kind,
                          txpb::TransactionState previous = txpb::TRANSACTION_STATE_UNSPECIFIED,
                          int64_t created_us = 0) {
    txpb::TransactionEvent ev;
    auto* t = ev.mutable_transaction();
    t->set_transaction_id(id);
    t->set_account_id(account);
    t->mutable_amount()->set_minor_units(minor);
    t->mutable_amount()->set_currency("GBP");
    t->set_kind(kind);
    t->set_state(txpb::PENDING);
    t->set_created_at_us(created_us != 0 ? created_us : toMicros(env_.clock_.now()));
    ev.set_previous_state(previous);
    ev.set_at_us(toMicros(env_.clock_.now()));
    kit::BusMessage m;
    m.key = account;
    m.value = ev.SerializeAsString();
    env_.producer_->send("transaction.events", std::move(m));
  }
  void consume() {
    kit::BusConsumerOptions co;
    co.address = env_.address_;
    co.group = "fraud.test-instance";
    co.client_id = "fraud-test";
    ASSERT_TRUE(fraud_->startConsuming(co).ok());
  }
  // Polls (bounded) until the consumer group has committed every record published so far.
  bool caughtUp() {
    if (!env_.producer_->flush().ok()) return false;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto lag = env_.broker_->lag("fraud.test-instance");
      if (lag.ok() && !lag->empty()) {
        int64_t total = 0;
        for (const auto& l : *lag) total += l.lag;
        if (total == 0) return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  // Stops this instance as a process exit would (its memory goes) and opens a new one
  // on the same store.
  void restart(FraudRules rules) {
    fraud_->stopConsuming();
    server_->Shutdown();
    server_.reset();
    fraud_.reset();
    open(std::move(rules));
  }
  std::unique_ptr<Fraud> another(FraudRules rules) {
    FraudOptions options;
    options.rules = std::move(rules);
    auto f = Fraud::open(*env_.store_, nullptr, env_.clock_, options);
    EXPECT_TRUE(f.ok()) << f.status().toString();
    return f.ok() ? std::move(f).value() : nullptr;
  }
  txpb::TransactionEvent cardPayment(const std::string& id, const std::string& account, int64_t minor) {
    txpb::TransactionEvent ev;
    auto* t = ev.mutable_transaction();
    t->set_transaction_id(id);
    t->set_account_id(account);
    t->mutable_amount()->set_minor_units(minor);
    t->mutable_amount()->set_currency("GBP");
    t->set_kind("card");
    t->set_state(txpb::PENDING);
    t->set_created_at_us(toMicros(env_.clock_.now()));
    ev.set_at_us(toMicros(env_.clock_.now()));
    return ev;
  }

  bank::testing::BankTestEnv env_;
  bank::testing::FakeCard card_;
  std::unique_ptr<grpc::Server> card_server_;
  std::string card_address_;
  std::unique_ptr<Fraud> fraud_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<pb::Fraud::Stub> stub_;
};

TEST_F(FraudTest, AnOrdinaryPaymentFiresNoRuleAndIsAllowed) {
  open(testRules());
  pb::Score s = authorise("acc-1", 1250);
  EXPECT_EQ(s.verdict(), pb::ALLOW);
  EXPECT_EQ(s.risk(), 0);
  EXPECT_EQ(s.rules_fired_size(), 0);
  EXPECT_EQ(s.reason(), "no rule fired");
}

TEST_F(FraudTest, AmountRuleFiresOnlyAboveTheThreshold) {
  FraudRules rules = testRules();
  rules.amount_threshold = 10'000;
  open(rules);
  pb::Score at = authorise("acc-1", 10'000);
  EXPECT_FALSE(fired(at, "amount"));
  pb::Score above = authorise("acc-2", 10'001);
  EXPECT_TRUE(fired(above, "amount"));
  EXPECT_EQ(above.risk(), rules.amount_weight);
  EXPECT_EQ(above.verdict(), pb::ALLOW) << "the amount alone stays under the block threshold";
  EXPECT_NE(above.reason().find("above 10000"), std::string::npos) << above.reason();
}

TEST_F(FraudTest, BlockedMerchantCategoryBlocksAndOthersDoNot) {
  open(testRules());
  pb::Score gambling = authorise("acc-1", 500, "7995");
  EXPECT_TRUE(fired(gambling, "merchant_category"));
  EXPECT_EQ(gambling.verdict(), pb::BLOCK);
  EXPECT_EQ(gambling.risk(), 100);
  pb::Score groceries = authorise("acc-2", 500, "5411");
  EXPECT_FALSE(fired(groceries, "merchant_category"));
  EXPECT_EQ(groceries.verdict(), pb::ALLOW);
}

TEST_F(FraudTest, BlockedCategoriesComeFromTheEnvironment) {
  auto rules = FraudRules::fromConfig(kit::Config(
      Vars{{"FRAUD_BLOCKED_MCCS", "6051, 7995"}, {"FRAUD_VELOCITY_WINDOW", "30s"}, {"FRAUD_AMOUNT_THRESHOLD", "777"}}));
  ASSERT_TRUE(rules.ok()) << rules.status().toString();
  EXPECT_EQ(rules->blocked_mccs, (std::set<std::string>{"6051", "7995"}));
  EXPECT_EQ(rules->velocity_window, std::chrono::seconds(30));
  EXPECT_EQ(rules->amount_threshold, 777);
  auto bad = FraudRules::fromConfig(kit::Config(Vars{{"FRAUD_BLOCKED_MCCS", "79x5"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("FRAUD_BLOCKED_MCCS"), std::string::npos);
  auto weight = FraudRules::fromConfig(kit::Config(Vars{{"FRAUD_AMOUNT_WEIGHT", "150"}}));
  ASSERT_FALSE(weight.ok());
  EXPECT_NE(weight.status().message().find("FRAUD_AMOUNT_WEIGHT"), std::string::npos);
}

TEST_F(FraudTest, FrozenCardBlocksAndAnActiveCardDoesNot) {
  open(testRules());
  pb::Score frozen = authorise("acc-1", 500, "5411", "card-frozen");
  EXPECT_TRUE(fired(frozen, "frozen_card"));
  EXPECT_EQ(frozen.verdict(), pb::BLOCK);
  pb::Score active = authorise("acc-2", 500, "5411", "card-ok");
  EXPECT_FALSE(fired(active, "frozen_card"));
  EXPECT_EQ(active.verdict(), pb::ALLOW);
}

TEST_F(FraudTest, UnreachableCardServiceLeavesTheRuleUnfiredAndSaysSo) {
  card_server_->Shutdown();
  card_server_.reset();
  open(testRules());
  pb::Score s = authorise("acc-1", 500, "5411", "card-frozen");
  EXPECT_FALSE(fired(s, "frozen_card"));
  EXPECT_EQ(s.verdict(), pb::ALLOW);
  EXPECT_NE(s.reason().find("card status unchecked"), std::string::npos) << s.reason();
}

TEST_F(FraudTest, VelocityFiresAboveTheLimitAndTheWindowSlides) {
  open(testRules());  // more than 3 in a minute
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(fired(authorise("acc-1", 100), "velocity")) << "attempt " << i + 1;
    env_.clock_.advance(10s);
  }
  // t = 30 s: a fourth attempt within the minute fires; another account is unaffected.
  pb::Score fourth = authorise("acc-1", 100);
  EXPECT_TRUE(fired(fourth, "velocity"));
  EXPECT_NE(fourth.reason().find("4 attempts"), std::string::npos) << fourth.reason();
  EXPECT_FALSE(fired(authorise("acc-2", 100), "velocity"));
  // t = 75 s: the attempts at 0 s and 10 s have left the window, leaving 20 s and 30 s.
  env_.clock_.advance(45s);
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 2);
  EXPECT_FALSE(fired(authorise("acc-1", 100), "velocity"));
  // Transfers count as the same account's money-out attempts.
  pb::Score t = transfer("acc-1", "acc-9", 100);
  EXPECT_TRUE(fired(t, "velocity"));
  // Long after, the window is empty.
  env_.clock_.advance(10min);
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 0);
}

TEST_F(FraudTest, VelocityCountsMoneyOutFromTheBusOncePerTransaction) {
  open(testRules());
  consume();
  // Three card payments another instance approved, one delivered twice, plus records
  // that are not new money out: a credit, a settlement of a known one, a pot move.
  publishTransaction("tx-1", "acc-1", -100, "card");
  publishTransaction("tx-2", "acc-1", -100, "p2p");
  publishTransaction("tx-2", "acc-1", -100, "p2p");
  publishTransaction("tx-3", "acc-1", -100, "fps_out");
  publishTransaction("tx-4", "acc-1", 5000, "p2p");
  publishTransaction("tx-1", "acc-1", -100, "card", txpb::PENDING);
  publishTransaction("tx-5", "acc-1", -100, "pot");
  ASSERT_TRUE(caughtUp());
  EXPECT_EQ(fraud_->observedTransactions(), 3);
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 3);
  // The fourth attempt in the minute, the first this instance sees itself, fires.
  EXPECT_TRUE(fired(authorise("acc-1", 100), "velocity"));
}

TEST_F(FraudTest, AnAttemptScoredHereIsNotCountedAgainWhenItsTransactionArrives) {
  open(testRules());
  consume();
  pb::Score first = authorise("acc-1", 4200);
  EXPECT_FALSE(fired(first, "velocity"));
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 1);
  publishTransaction("tx-a", "acc-1", -4200, "card");
  ASSERT_TRUE(caughtUp());
  EXPECT_EQ(fraud_->observedTransactions(), 1);
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 1) << "the transaction is the attempt already counted";
  // A different amount is a different payment (made through another instance).
  publishTransaction("tx-b", "acc-1", -999, "card");
  ASSERT_TRUE(caughtUp());
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 2);
}

TEST_F(FraudTest, EventsOlderThanTheWindowAreIgnored) {
  open(testRules());
  consume();
  // A payment made two minutes ago, read now (a lagging consumer, or a restart).
  publishTransaction("tx-old", "acc-1", -100, "card", txpb::TRANSACTION_STATE_UNSPECIFIED,
                     toMicros(env_.clock_.now() - 2min));
  ASSERT_TRUE(caughtUp());
  EXPECT_EQ(fraud_->observedTransactions(), 0);
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 0);
}

TEST_F(FraudTest, ARestartedInstanceStillCountsTheAttemptsOfTheWindow) {
  open(testRules());  // more than 3 in a minute
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(fired(authorise("acc-1", 100), "velocity"));
    env_.clock_.advance(10s);
  }
  // t = 30 s: the process restarts and has no memory of its own.
  restart(testRules());
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 3);
  pb::Score fourth = authorise("acc-1", 100);
  EXPECT_TRUE(fired(fourth, "velocity"));
  EXPECT_NE(fourth.reason().find("4 attempts"), std::string::npos) << fourth.reason();
  // t = 75 s, after another restart: the window still slides over the stored attempts
  // (those at 0 s and 10 s have left it; 20 s and the fourth, at 30 s, remain).
  env_.clock_.advance(45s);
  restart(testRules());
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 2);
  EXPECT_EQ(fraud_->velocityCount("acc-2"), 0) << "another account is unaffected";
  env_.clock_.advance(10min);
  restart(testRules());
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 0);
}

TEST_F(FraudTest, AfterARestartATransactionIsStillCountedOnceAndItsRedeliveryIgnored) {
  open(testRules());
  consume();
  authorise("acc-1", 4200);                             // scored here...
  publishTransaction("tx-a", "acc-1", -4200, "card");  // ...and then seen as this transaction
  publishTransaction("tx-b", "acc-1", -999, "card");   // made through another instance
  ASSERT_TRUE(caughtUp());
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 2);
  restart(testRules());
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 2);
  // The restarted consumer is handed both again (at-least-once): neither counts twice.
  consume();
  publishTransaction("tx-a", "acc-1", -4200, "card");
  publishTransaction("tx-b", "acc-1", -999, "card");
  ASSERT_TRUE(caughtUp());
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 2);
  EXPECT_EQ(fraud_->observedTransactions(), 0) << "both were already known from the store";
}

TEST_F(FraudTest, ATransactionStoredByTwoInstancesCountsOnceForAThird) {
  open(testRules());
  auto b = another(testRules());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->velocityCount("acc-1"), 0);  // B has loaded acc-1 already, while it was empty
  authorise("acc-1", 4200);                 // A scores a payment...
  b->observe(cardPayment("tx-a", "acc-1", -4200));        // ...B sees it on the bus: its own row
  fraud_->observe(cardPayment("tx-a", "acc-1", -4200));   // A sees it become tx-a: A's row names it
  EXPECT_EQ(fraud_->velocityCount("acc-1"), 1);
  EXPECT_EQ(b->velocityCount("acc-1"), 1);
  fraud_->waitForWrites();  // rows are written off the scoring path
  b->waitForWrites();
  auto c = another(testRules());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->velocityCount("acc-1"), 1) << "two rows name tx-a; it is one payment";
  // An attempt A scored that never became a transaction (declined, say) still counts.
  authorise("acc-1", 50);
  fraud_->waitForWrites();
  auto d = another(testRules());
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->velocityCount("acc-1"), 2);
}

TEST_F(FraudTest, NewPayeeFiresOnTheFirstLargeTransferOnly) {
  FraudRules rules = testRules();
  rules.new_payee_threshold = 50'000;
  open(rules);
  // A small first transfer does not fire, and makes the payee known.
  pb::Score small = transfer("acc-1", "acc-2", 1000);
  EXPECT_FALSE(fired(small, "new_payee"));
  EXPECT_FALSE(fired(transfer("acc-1", "acc-2", 60'000), "new_payee")) << "acc-2 is known now";
  // A large first transfer to someone else fires.
  pb::Score large = transfer("acc-1", "acc-3", 60'000);
  EXPECT_TRUE(fired(large, "new_payee"));
  EXPECT_EQ(large.risk(), rules.new_payee_weight);
  EXPECT_EQ(large.verdict(), pb::ALLOW);
  // Allowed, so acc-3 is known now too - also to a fresh instance reading the store.
  server_->Shutdown();
  fraud_.reset();
  open(rules);
  EXPECT_FALSE(fired(transfer("acc-1", "acc-3", 60'000), "new_payee"));
  // The same payee is new for another payer.
  EXPECT_TRUE(fired(transfer("acc-7", "acc-3", 60'000), "new_payee"));
}

TEST_F(FraudTest, RulesAddUpToABlockAndABlockedTransferLeavesThePayeeNew) {
  FraudRules rules = testRules();
  rules.amount_threshold = 50'000;
  rules.new_payee_threshold = 50'000;
  open(rules);  // amount 40 + new payee 40 = 80 >= 70
  pb::Score s = transfer("acc-1", "acc-2", 90'000);
  EXPECT_TRUE(fired(s, "amount"));
  EXPECT_TRUE(fired(s, "new_payee"));
  EXPECT_EQ(s.risk(), 80);
  EXPECT_EQ(s.verdict(), pb::BLOCK);
  EXPECT_TRUE(fired(transfer("acc-1", "acc-2", 90'000), "new_payee"));
}

TEST_F(FraudTest, EveryDecisionIsPublishedKeyedByAccount) {
  open(testRules());
  authorise("acc-1", 100, "7995");
  transfer("acc-2", "acc-3", 100);
  auto records = env_.records("fraud.decisions");
  ASSERT_EQ(records.size(), 2u);
  std::map<std::string, pb::FraudDecision> by_key;
  for (const auto& r : records) {
    pb::FraudDecision d;
    ASSERT_TRUE(d.ParseFromString(r.record->value));
    by_key[r.record->key.value_or("")] = d;
  }
  EXPECT_EQ(by_key["acc-1"].subject(), "authorisation");
  EXPECT_EQ(by_key["acc-1"].score().verdict(), pb::BLOCK);
  EXPECT_EQ(by_key["acc-2"].subject(), "transfer");
  EXPECT_EQ(by_key["acc-2"].score().verdict(), pb::ALLOW);
}

TEST_F(FraudTest, BadRequestsNameTheField) {
  open(testRules());
  pb::ScoreAuthorisationRequest req;
  req.set_account_id("acc-1");
  req.mutable_amount()->set_minor_units(0);
  req.mutable_amount()->set_currency("GBP");
  pb::Score out;
  grpc::ClientContext ctx;
  grpc::Status s = stub_->ScoreAuthorisation(&ctx, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("amount.minor_units"), std::string::npos) << s.error_message();
  pb::ScoreTransferRequest t;
  t.set_from_account_id("acc-1");
  t.mutable_amount()->set_minor_units(10);
  t.mutable_amount()->set_currency("GBP");
  grpc::ClientContext ctx2;
  s = stub_->ScoreTransfer(&ctx2, t, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("to_account_id"), std::string::npos) << s.error_message();
}

}  // namespace
}  // namespace sandbank::fraud
