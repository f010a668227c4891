// The transaction service driven the way it runs: upstream events produced on the bus,
// consumed by a real consumer group into Transactions, read back through gRPC and from
// transaction.events. Covers one transaction per source under duplicate and concurrent
// delivery, forward-only states, the clearing's amount, a clearing that arrives before
// its authorisation, merchant enrichment, transfers and payments, and bad requests.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "../bankcore/bank_test_env.h"
#include "sandbank/bank/card_processor.pb.h"
#include "sandbank/bank/fps.pb.h"
#include "sandbank/bank/p2p.pb.h"
#include "sandbank/bank/transaction.grpc.pb.h"
#include "sandbank/transaction/merchant_directory.h"
#include "sandbank/transaction/transaction_service.h"
#include "sandbank/transaction/transactions.h"

namespace sandbank::transaction {
namespace {

namespace cp = ::sandbank::bank::card_processor;
namespace fps = ::sandbank::bank::fps;
namespace p2p = ::sandbank::bank::p2p;

// Polls `done` until it holds or 20 s pass (a bound, not a synchronisation).
bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

cp::Merchant merchant(const std::string& id, const std::string& name, const std::string& mcc) {
  cp::Merchant m;
  m.set_merchant_id(id);
  m.set_name(name);
  m.set_category_code(mcc);
  m.set_country("GB");
  return m;
}

std::string authorisation(const std::string& id, const std::string& account, int64_t amount, cp::AuthorisationState state,
                          const cp::Merchant& m = merchant("m_tesco", "TESCO STORES 3297", "5411"),
                          int64_t created_us = 1000) {
  cp::AuthorisationEvent ev;
  auto* a = ev.mutable_authorisation();
  a->set_authorisation_id(id);
  a->set_account_id(account);
  a->set_card_id("card_1");
  a->mutable_amount()->set_minor_units(amount);
  a->mutable_amount()->set_currency("GBP");
  *a->mutable_merchant() = m;
  a->set_state(state);
  if (state == cp::AUTH_DECLINED) a->set_decline_reason("insufficient_funds");
  a->set_created_at_us(created_us);
  ev.set_at_us(created_us);
  return ev.SerializeAsString();
}

std::string clearing(const std::string& auth_id, const std::string& account, int64_t amount,
                     bool force_posted = false) {
  cp::ClearingEvent ev;
  ev.set_force_posted(force_posted);
  ev.set_authorisation_id(auth_id);
  ev.set_account_id(account);
  ev.mutable_amount()->set_minor_units(amount);
  ev.mutable_amount()->set_currency("GBP");
  ev.set_entryset_id("es_" + auth_id);
  *ev.mutable_merchant() = merchant("m_tesco", "TESCO STORES 3297", "5411");
  ev.set_at_us(5000);
  return ev.SerializeAsString();
}

std::string transfer(const std::string& id, const std::string& from, const std::string& to, int64_t amount,
                     const std::string& side, p2p::TransferState state = p2p::TRANSFER_COMPLETED) {
  p2p::TransferEvent ev;
  auto* t = ev.mutable_transfer();
  t->set_transfer_id(id);
  t->set_from_account_id(from);
  t->set_to_account_id(to);
  t->mutable_amount()->set_minor_units(amount);
  t->mutable_amount()->set_currency("GBP");
  t->set_state(state);
  t->set_reference("rent");
  t->set_created_at_us(2000);
  ev.set_account_id(side);
  ev.set_at_us(2000);
  return ev.SerializeAsString();
}

std::string payment(const std::string& id, const std::string& account, int64_t amount, fps::PaymentState state,
                    const std::string& direction = "out") {
  fps::FpsEvent ev;
  auto* p = ev.mutable_payment();
  p->set_payment_id(id);
  p->set_account_id(account);
  p->set_direction(direction);
  p->mutable_amount()->set_minor_units(amount);
  p->mutable_amount()->set_currency("GBP");
  p->set_counterparty_sort_code("04-00-04");
  p->set_counterparty_account_number("12345678");
  p->set_reference("invoice 7");
  p->set_state(state);
  p->set_created_at_us(3000);
  ev.set_at_us(3000);
  return ev.SerializeAsString();
}

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    for (const std::string& topic : {std::string("transaction.events"), std::string(kAuthorisationsTopic),
                                     std::string(kClearingsTopic), std::string(kTransfersTopic),
                                     std::string(kFpsTopic)}) {
      bus::TopicConfig config;
      config.partitions = bank::testing::BankTestEnv::kPartitions;
      ASSERT_TRUE(env_.broker_->createTopic(topic, config).ok()) << topic;
    }
    auto t = Transactions::open(*env_.store_, env_.producer_.get(), env_.clock_);
    ASSERT_TRUE(t.ok()) << t.status().toString();
    transactions_ = std::move(t).value();
    service_ = makeTransactionGrpcService(*transactions_);
    server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(server_, nullptr);
    stub_ = pb::Transaction::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    consumer_ = startConsumer("transaction", *transactions_);
    ASSERT_NE(consumer_, nullptr);
  }
  void TearDown() override {
    for (auto& c : extra_consumers_) c->stop();
    if (consumer_) consumer_->stop();
    if (server_) server_->Shutdown();
    env_.stop();
  }

  std::unique_ptr<kit::BusConsumer> startConsumer(const std::string& group, Transactions& logic) {
    kit::BusConsumerOptions options;
    options.address = env_.address_;
    options.group = group;
    options.topics = Transactions::consumedTopics();
    options.session_timeout = std::chrono::milliseconds(30000);
    auto c = kit::BusConsumer::start(options, [&logic](const kit::BusDelivery& d) { return logic.handle(d); });
    EXPECT_TRUE(c.ok()) << c.status().toString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  void produce(const std::string& topic, const std::string& key, const std::string& value) {
    kit::BusMessage m;
    m.key = key;
    m.value = value;
    env_.producer_->send(topic, std::move(m));
    ++produced_;
  }

  // Waits until `consumer` (the main one by default) has handled everything produced.
  void drain(kit::BusConsumer* consumer = nullptr) {
    kit::BusConsumer* c = consumer != nullptr ? consumer : consumer_.get();
    ASSERT_TRUE(env_.producer_->flush().ok());
    ASSERT_TRUE(eventually([&] { return c->stats().handled >= produced_; }))
        << "handled " << c->stats().handled << " of " << produced_ << ", failed " << c->stats().failed;
  }

  pb::TransactionRecord get(const std::string& id) {
    pb::GetTransactionRequest req;
    req.set_transaction_id(id);
    pb::TransactionRecord out;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->Get(&ctx, req, &out);
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    return out;
  }

  std::vector<pb::TransactionRecord> list(const std::string& account, int limit = 0) {
    pb::ListByAccountRequest req;
    req.set_account_id(account);
    req.set_limit(limit);
    pb::ListByAccountResponse out;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ListByAccount(&ctx, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {out.transactions().begin(), out.transactions().end()};
  }

  // The (previous -> state) moves published for `id`, in order per partition (all of an
  // account's events share one partition).
  std::vector<std::pair<pb::TransactionState, pb::TransactionState>> moves(const std::string& id) {
    std::vector<std::pair<pb::TransactionState, pb::TransactionState>> out;
    for (const auto& d : env_.records("transaction.events")) {
      pb::TransactionEvent ev;
      EXPECT_TRUE(ev.ParseFromString(d.record->value));
      if (ev.transaction().transaction_id() == id) out.emplace_back(ev.previous_state(), ev.transaction().state());
    }
    return out;
  }

  bank::testing::BankTestEnv env_;
  std::unique_ptr<Transactions> transactions_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<pb::Transaction::Stub> stub_;
  std::unique_ptr<kit::BusConsumer> consumer_;
  std::vector<std::unique_ptr<Transactions>> extra_logic_;  // outlive extra_consumers_ (stopped in TearDown)
  std::vector<std::unique_ptr<kit::BusConsumer>> extra_consumers_;
  int64_t produced_ = 0;
};


using Move = std::pair<pb::TransactionState, pb::TransactionState>;
constexpr auto kNone = pb::TRANSACTION_STATE_UNSPECIFIED;

TEST_F(TransactionTest, ApprovedAuthorisationMakesOneEnrichedPendingTransactionDespiteDuplicates) {
  // Given the same authorisation delivered three times, and a second consumer (another
  // instance, its own group) racing the first on every record.
  auto rival = Transactions::open(*env_.store_, env_.producer_.get(), env_.clock_);
  ASSERT_TRUE(rival.ok());
  extra_logic_.push_back(std::move(rival).value());
  extra_consumers_.push_back(startConsumer("transaction-rival", *extra_logic_.back()));
  ASSERT_NE(extra_consumers_.back(), nullptr);
  for (int i = 0; i < 3; ++i) produce(kAuthorisationsTopic, "acc_a", authorisation("auth_1", "acc_a", 1250, cp::AUTH_APPROVED));
  drain();
  drain(extra_consumers_.back().get());

  // Then one transaction, pending, money out, enriched from the directory.
  pb::TransactionRecord t = get("txn_card_auth_1");
  EXPECT_EQ(t.state(), pb::PENDING);
  EXPECT_EQ(t.amount().minor_units(), -1250);
  EXPECT_EQ(t.amount().currency(), "GBP");
  EXPECT_EQ(t.kind(), "card");
  EXPECT_EQ(t.source_id(), "auth_1");
  EXPECT_EQ(t.merchant_name(), "Tesco");
  EXPECT_EQ(t.category(), "groceries");
  EXPECT_EQ(t.merchant_logo(), "https://logos.sandbank.local/tesco.png");
  EXPECT_EQ(list("acc_a").size(), 1u);
  // Every event for it is the creation (duplicates republish it; none moves it).
  auto m = moves("txn_card_auth_1");
  ASSERT_GE(m.size(), 1u);
  for (const Move& mv : m) EXPECT_EQ(mv, Move(kNone, pb::PENDING));
}

TEST_F(TransactionTest, ClearingSettlesTheTransactionAtThePresentedAmount) {
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_1", "acc_a", 1250, cp::AUTH_APPROVED));
  drain();
  produce(kClearingsTopic, "acc_a", clearing("auth_1", "acc_a", 1310));
  produce(kClearingsTopic, "acc_a", clearing("auth_1", "acc_a", 1310));  // retransmitted
  drain();
  pb::TransactionRecord t = get("txn_card_auth_1");
  EXPECT_EQ(t.state(), pb::SETTLED);
  EXPECT_EQ(t.amount().minor_units(), -1310);
  auto m = moves("txn_card_auth_1");
  ASSERT_GE(m.size(), 2u);
  EXPECT_EQ(m[0], Move(kNone, pb::PENDING));
  for (size_t i = 1; i < m.size(); ++i) EXPECT_EQ(m[i], Move(pb::PENDING, pb::SETTLED)) << i;
  EXPECT_EQ(list("acc_a").size(), 1u);
}

TEST_F(TransactionTest, ClearingBeforeItsAuthorisationIsKeptAndTheAuthorisationDoesNotMoveItBack) {
  // The clearing overtakes the authorisation (different topics, no order between them).
  produce(kClearingsTopic, "acc_a", clearing("auth_1", "acc_a", 990));
  drain();
  pb::TransactionRecord t = get("txn_card_auth_1");
  EXPECT_EQ(t.state(), pb::SETTLED);
  EXPECT_EQ(t.amount().minor_units(), -990);
  EXPECT_EQ(t.merchant_name(), "Tesco");
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_1", "acc_a", 1000, cp::AUTH_APPROVED));
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_1", "acc_a", 1000, cp::AUTH_EXPIRED));
  drain();
  t = get("txn_card_auth_1");
  EXPECT_EQ(t.state(), pb::SETTLED);
  EXPECT_EQ(t.amount().minor_units(), -990);
  EXPECT_EQ(list("acc_a").size(), 1u);
  for (const Move& mv : moves("txn_card_auth_1")) EXPECT_EQ(mv, Move(kNone, pb::SETTLED));
}

TEST_F(TransactionTest, ReversedAndExpiredAuthorisationsReverseAndAReversedOneNeverSettles) {
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_r", "acc_a", 500, cp::AUTH_APPROVED));
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_e", "acc_a", 700, cp::AUTH_APPROVED));
  drain();
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_r", "acc_a", 500, cp::AUTH_REVERSED));
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_e", "acc_a", 700, cp::AUTH_EXPIRED));
  drain();
  EXPECT_EQ(get("txn_card_auth_r").state(), pb::REVERSED);
  EXPECT_EQ(get("txn_card_auth_e").state(), pb::REVERSED);
  // A late presentment after the hold expired: the transaction stays reversed.
  produce(kClearingsTopic, "acc_a", clearing("auth_e", "acc_a", 700));
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_r", "acc_a", 500, cp::AUTH_APPROVED));
  drain();
  EXPECT_EQ(get("txn_card_auth_e").state(), pb::REVERSED);
  EXPECT_EQ(get("txn_card_auth_r").state(), pb::REVERSED);
  for (const std::string id : {"txn_card_auth_r", "txn_card_auth_e"}) {
    auto m = moves(id);
    ASSERT_EQ(m.size(), 2u) << id;
    EXPECT_EQ(m[0], Move(kNone, pb::PENDING));
    EXPECT_EQ(m[1], Move(pb::PENDING, pb::REVERSED));
  }
}

TEST_F(TransactionTest, ALatePresentmentAfterExpiryIsASecondSettledTransactionAndTheFirstStaysReversed) {
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_e", "acc_a", 700, cp::AUTH_APPROVED));
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_e", "acc_a", 700, cp::AUTH_EXPIRED));
  drain();
  // The card processor force-posts the presentment (no hold was left); delivered twice.
  produce(kClearingsTopic, "acc_a", clearing("auth_e", "acc_a", 720, /*force_posted=*/true));
  produce(kClearingsTopic, "acc_a", clearing("auth_e", "acc_a", 720, /*force_posted=*/true));
  drain();
  EXPECT_EQ(get("txn_card_auth_e").state(), pb::REVERSED);
  pb::TransactionRecord late = get("txn_card_auth_e_late");
  EXPECT_EQ(late.state(), pb::SETTLED);
  EXPECT_EQ(late.amount().minor_units(), -720);
  EXPECT_EQ(late.source_id(), "auth_e:late_presentment");
  EXPECT_EQ(late.merchant_name(), "Tesco");
  EXPECT_EQ(list("acc_a").size(), 2u);
}

TEST_F(TransactionTest, AForcePostedClearingBeforeTheReversalIsSeenSettlesTheOneTransaction) {
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_r", "acc_a", 500, cp::AUTH_APPROVED));
  drain();
  produce(kClearingsTopic, "acc_a", clearing("auth_r", "acc_a", 500, /*force_posted=*/true));
  drain();
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_r", "acc_a", 500, cp::AUTH_REVERSED));
  drain();
  EXPECT_EQ(get("txn_card_auth_r").state(), pb::SETTLED);
  EXPECT_EQ(list("acc_a").size(), 1u);
}

TEST_F(TransactionTest, DeclinedAuthorisationIsAFinalDeclinedTransaction) {
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_d", "acc_a", 99999, cp::AUTH_DECLINED));
  drain();
  pb::TransactionRecord t = get("txn_card_auth_d");
  EXPECT_EQ(t.state(), pb::DECLINED);
  EXPECT_EQ(t.decline_reason(), "insufficient_funds");
  produce(kClearingsTopic, "acc_a", clearing("auth_d", "acc_a", 99999));
  drain();
  EXPECT_EQ(get("txn_card_auth_d").state(), pb::DECLINED);
}

TEST_F(TransactionTest, TransferMakesOneTransactionPerSide) {
  for (int i = 0; i < 2; ++i) {
    produce(kTransfersTopic, "acc_a", transfer("tr_1", "acc_a", "acc_b", 2000, "acc_a"));
    produce(kTransfersTopic, "acc_b", transfer("tr_1", "acc_a", "acc_b", 2000, "acc_b"));
  }
  drain();
  pb::TransactionRecord out = get("txn_p2p_tr_1_out");
  pb::TransactionRecord in = get("txn_p2p_tr_1_in");
  EXPECT_EQ(out.account_id(), "acc_a");
  EXPECT_EQ(out.amount().minor_units(), -2000);
  EXPECT_EQ(out.counterparty(), "acc_b");
  EXPECT_EQ(out.state(), pb::SETTLED);
  EXPECT_EQ(out.reference(), "rent");
  EXPECT_EQ(in.account_id(), "acc_b");
  EXPECT_EQ(in.amount().minor_units(), 2000);
  EXPECT_EQ(in.counterparty(), "acc_a");
  EXPECT_EQ(list("acc_a").size(), 1u);
  EXPECT_EQ(list("acc_b").size(), 1u);
}

TEST_F(TransactionTest, PaymentStatesOnlyMoveForwardWhateverTheOrder) {
  produce(kFpsTopic, "acc_a", payment("pay_ok", "acc_a", 3000, fps::PAYMENT_PENDING));
  produce(kFpsTopic, "acc_a", payment("pay_ok", "acc_a", 3000, fps::PAYMENT_COMPLETED));
  produce(kFpsTopic, "acc_a", payment("pay_rej", "acc_a", 4000, fps::PAYMENT_PENDING));
  produce(kFpsTopic, "acc_a", payment("pay_rej", "acc_a", 4000, fps::PAYMENT_REVERSED));
  // Out of order: completed first, then a stale pending.
  produce(kFpsTopic, "acc_a", payment("pay_late", "acc_a", 100, fps::PAYMENT_COMPLETED));
  produce(kFpsTopic, "acc_a", payment("pay_late", "acc_a", 100, fps::PAYMENT_PENDING));
  produce(kFpsTopic, "acc_b", payment("pay_in", "acc_b", 5000, fps::PAYMENT_COMPLETED, "in"));
  drain();
  EXPECT_EQ(get("txn_fps_pay_ok").state(), pb::SETTLED);
  EXPECT_EQ(get("txn_fps_pay_rej").state(), pb::REVERSED);
  EXPECT_EQ(get("txn_fps_pay_late").state(), pb::SETTLED);
  pb::TransactionRecord ok = get("txn_fps_pay_ok");
  EXPECT_EQ(ok.kind(), "fps_out");
  EXPECT_EQ(ok.amount().minor_units(), -3000);
  EXPECT_EQ(ok.counterparty(), "04-00-04 12345678");
  pb::TransactionRecord in = get("txn_fps_pay_in");
  EXPECT_EQ(in.kind(), "fps_in");
  EXPECT_EQ(in.amount().minor_units(), 5000);
  EXPECT_EQ(moves("txn_fps_pay_late"), (std::vector<Move>{{kNone, pb::SETTLED}}));
  EXPECT_EQ(moves("txn_fps_pay_ok"), (std::vector<Move>{{kNone, pb::PENDING}, {pb::PENDING, pb::SETTLED}}));
}

TEST_F(TransactionTest, ListByAccountIsNewestFirstAndHonoursTheLimit) {
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_old", "acc_a", 100, cp::AUTH_APPROVED,
                                                       merchant("", "PRET A MANGER #12", "5814"), 1000));
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_mid", "acc_a", 200, cp::AUTH_APPROVED,
                                                       merchant("", "CORNER SHOP 77", "5411"), 2000));
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_new", "acc_a", 300, cp::AUTH_APPROVED,
                                                       merchant("", "ACME WIDGETS", "1234"), 3000));
  drain();
  auto all = list("acc_a");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].source_id(), "auth_new");
  EXPECT_EQ(all[1].source_id(), "auth_mid");
  EXPECT_EQ(all[2].source_id(), "auth_old");
  // Enrichment by name and the fallback by MCC.
  EXPECT_EQ(all[2].merchant_name(), "Pret A Manger");
  EXPECT_EQ(all[2].category(), "eating_out");
  EXPECT_EQ(all[1].merchant_name(), "Corner Shop");
  EXPECT_EQ(all[1].category(), "groceries");
  EXPECT_EQ(all[1].merchant_logo(), "");
  EXPECT_EQ(all[0].category(), "general");
  auto two = list("acc_a", 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].source_id(), "auth_new");
}

TEST_F(TransactionTest, UnreadableRecordsAreSkippedNotRetriedForever) {
  produce(kAuthorisationsTopic, "acc_a", "not a protobuf \xff\xff\xff");
  produce(kAuthorisationsTopic, "acc_a", authorisation("", "acc_a", 100, cp::AUTH_APPROVED));
  produce(kAuthorisationsTopic, "acc_a", authorisation("auth_ok", "acc_a", 100, cp::AUTH_APPROVED));
  drain();
  EXPECT_EQ(consumer_->stats().dead_lettered, 0);
  EXPECT_EQ(list("acc_a").size(), 1u);
}

TEST_F(TransactionTest, BadRequestsGetAStatusNamingTheField) {
  pb::TransactionRecord out;
  pb::GetTransactionRequest get;
  grpc::ClientContext c1;
  grpc::Status empty = stub_->Get(&c1, get, &out);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(empty.error_message().find("transaction_id"), std::string::npos);
  get.set_transaction_id("txn_nope");
  grpc::ClientContext c2;
  EXPECT_EQ(stub_->Get(&c2, get, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::ListByAccountRequest list;
  pb::ListByAccountResponse listed;
  grpc::ClientContext c3;
  grpc::Status no_account = stub_->ListByAccount(&c3, list, &listed);
  EXPECT_EQ(no_account.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(no_account.error_message().find("account_id"), std::string::npos);
  list.set_account_id("acc_a");
  list.set_limit(-1);
  grpc::ClientContext c4;
  grpc::Status negative = stub_->ListByAccount(&c4, list, &listed);
  EXPECT_EQ(negative.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(negative.error_message().find("limit"), std::string::npos);
}

TEST(MerchantDirectoryTest, FindsByIdThenByNameThenFallsBackByMcc) {
  MerchantInfo by_id = enrichMerchant("m_tfl", "anything", "0000");
  EXPECT_EQ(by_id.display_name, "Transport for London");
  EXPECT_EQ(by_id.category, "transport");
  EXPECT_TRUE(by_id.known);
  MerchantInfo by_name = enrichMerchant("", "SAINSBURYS S/MKTS", "5411");
  EXPECT_EQ(by_name.display_name, "Sainsbury's");
  EXPECT_EQ(by_name.logo_url, "https://logos.sandbank.local/sainsburys.png");
  MerchantInfo not_a_prefix = enrichMerchant("", "TESCOVILLE CAFE", "5814");
  EXPECT_FALSE(not_a_prefix.known);
  EXPECT_EQ(not_a_prefix.display_name, "Tescoville Cafe");
  EXPECT_EQ(not_a_prefix.category, "eating_out");
  EXPECT_EQ(enrichMerchant("", "", "9999").display_name, "Card payment");
  EXPECT_EQ(categoryOfMcc("6011"), "cash");
  EXPECT_EQ(categoryOfMcc("9999"), "general");
}

}  // namespace
}  // namespace sandbank::transaction
