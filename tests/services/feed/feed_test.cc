// The feed service driven the way it runs: TransactionEvents and PotEvents produced on
// the bus, consumed by a real consumer group into Feed, read back through gRPC and from
// feed.events. Covers one item per source event under duplicates, rival consumers and
// any order of a transaction's events, the text a person sees, pots, and bad requests.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "../bankcore/bank_test_env.h"
#include "sandbank/bank/feed.grpc.pb.h"
#include "sandbank/bank/pots.pb.h"
#include "sandbank/bank/transaction.pb.h"
#include "sandbank/feed/feed.h"
#include "sandbank/feed/feed_service.h"

namespace sandbank::feed {
namespace {

namespace tx = ::sandbank::bank::transaction;
namespace pots = ::sandbank::bank::pots;

bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

tx::TransactionRecord cardTransaction(const std::string& id, const std::string& account, int64_t amount,
                                      tx::TransactionState state, int64_t created_us = 1000) {
  tx::TransactionRecord t;
  t.set_transaction_id(id);
  t.set_account_id(account);
  t.mutable_amount()->set_minor_units(amount);
  t.mutable_amount()->set_currency("GBP");
  t.set_state(state);
  t.set_kind("card");
  t.set_source_id("auth_" + id);
  t.set_merchant_name("Tesco");
  t.set_merchant_logo("https://logos.sandbank.local/tesco.png");
  t.set_category("groceries");
  t.set_counterparty("Tesco");
  t.set_created_at_us(created_us);
  return t;
}

std::string event(const tx::TransactionRecord& t, tx::TransactionState previous) {
  tx::TransactionEvent ev;
  *ev.mutable_transaction() = t;
  ev.set_previous_state(previous);
  ev.set_at_us(t.created_at_us());
  return ev.SerializeAsString();
}

std::string potEvent(pots::PotEvent::Kind kind, const std::string& pot, const std::string& account, int64_t amount,
                     const std::string& entryset, int64_t at_us) {
  pots::PotEvent ev;
  ev.set_kind(kind);
  ev.mutable_pot()->set_pot_id(pot);
  ev.mutable_pot()->set_account_id(account);
  ev.mutable_pot()->set_name("Holiday");
  ev.mutable_pot()->set_currency("GBP");
  ev.mutable_amount()->set_minor_units(amount);
  ev.mutable_amount()->set_currency("GBP");
  ev.set_entryset_id(entryset);
  ev.set_at_us(at_us);
  return ev.SerializeAsString();
}

constexpr auto kNone = tx::TRANSACTION_STATE_UNSPECIFIED;

class FeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    for (const char* topic : {kTransactionsTopic, kPotsTopic, "feed.events"}) {
      bus::TopicConfig config;
      config.partitions = bank::testing::BankTestEnv::kPartitions;
      ASSERT_TRUE(env_.broker_->createTopic(topic, config).ok()) << topic;
    }
    auto f = Feed::open(*env_.store_, env_.producer_.get(), env_.clock_);
    ASSERT_TRUE(f.ok()) << f.status().toString();
    feed_ = std::move(f).value();
    service_ = makeFeedGrpcService(*feed_);
    server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(server_, nullptr);
    stub_ = pb::Feed::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    consumer_ = startConsumer("feed", *feed_);
    ASSERT_NE(consumer_, nullptr);
  }
  void TearDown() override {
    for (auto& c : extra_consumers_) c->stop();
    if (consumer_) consumer_->stop();
    if (server_) server_->Shutdown();
    env_.stop();
  }

  std::unique_ptr<kit::BusConsumer> startConsumer(const std::string& group, Feed& logic) {
    kit::BusConsumerOptions options;
    options.address = env_.address_;
    options.group = group;
    options.topics = Feed::consumedTopics();
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

  void drain(kit::BusConsumer* consumer = nullptr) {
    kit::BusConsumer* c = consumer != nullptr ? consumer : consumer_.get();
    ASSERT_TRUE(env_.producer_->flush().ok());
    ASSERT_TRUE(eventually([&] { return c->stats().handled >= produced_; }))
        << "handled " << c->stats().handled << " of " << produced_ << ", failed " << c->stats().failed;
  }

  std::vector<pb::FeedItem> list(const std::string& account, int limit = 0) {
    pb::ListFeedRequest req;
    req.set_account_id(account);
    req.set_limit(limit);
    pb::ListFeedResponse out;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ListFeed(&ctx, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {out.items().begin(), out.items().end()};
  }

  // The distinct feed item ids published on feed.events, and how many records.
  std::set<std::string> published(size_t* records = nullptr) {
    std::set<std::string> ids;
    auto all = env_.records("feed.events");
    for (const auto& d : all) {
      pb::FeedEvent ev;
      EXPECT_TRUE(ev.ParseFromString(d.record->value));
      ids.insert(ev.item().feed_item_id());
    }
    if (records != nullptr) *records = all.size();
    return ids;
  }

  bank::testing::BankTestEnv env_;
  std::unique_ptr<Feed> feed_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<pb::Feed::Stub> stub_;
  std::unique_ptr<kit::BusConsumer> consumer_;
  std::vector<std::unique_ptr<Feed>> extra_logic_;  // outlive extra_consumers_ (stopped in TearDown)
  std::vector<std::unique_ptr<kit::BusConsumer>> extra_consumers_;
  int64_t produced_ = 0;
};

TEST_F(FeedTest, ATransactionGetsOneItemThatFollowsItsStateDespiteDuplicatesAndARival) {
  auto rival = Feed::open(*env_.store_, env_.producer_.get(), env_.clock_);
  ASSERT_TRUE(rival.ok());
  extra_logic_.push_back(std::move(rival).value());
  extra_consumers_.push_back(startConsumer("feed-rival", *extra_logic_.back()));
  ASSERT_NE(extra_consumers_.back(), nullptr);
  tx::TransactionRecord t = cardTransaction("txn_1", "acc_a", -1250, tx::PENDING);
  produce(kTransactionsTopic, "acc_a", event(t, kNone));
  produce(kTransactionsTopic, "acc_a", event(t, kNone));  // republished after a redelivery
  drain();
  drain(extra_consumers_.back().get());
  auto items = list("acc_a");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].feed_item_id(), "feed_txn_1");
  EXPECT_EQ(items[0].source_event_id(), "txn_1");
  EXPECT_EQ(items[0].transaction_id(), "txn_1");
  EXPECT_EQ(items[0].title(), "Tesco -\xC2\xA3" "12.50");
  EXPECT_EQ(items[0].body(), "Groceries \xC2\xB7 pending");
  EXPECT_EQ(items[0].image_url(), "https://logos.sandbank.local/tesco.png");

  // Settled at a different amount: the same item, new text, no second item.
  t.set_state(tx::SETTLED);
  t.mutable_amount()->set_minor_units(-1310);
  produce(kTransactionsTopic, "acc_a", event(t, tx::PENDING));
  drain();
  drain(extra_consumers_.back().get());
  items = list("acc_a");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].title(), "Tesco -\xC2\xA3" "13.10");
  EXPECT_EQ(items[0].body(), "Groceries");
  EXPECT_EQ(items[0].amount().minor_units(), -1310);
  EXPECT_EQ(published(), (std::set<std::string>{"feed_txn_1"}));
}

TEST_F(FeedTest, ASettlementSeenBeforeTheCreationMakesTheOnlyItemAndIsNotUndone) {
  tx::TransactionRecord t = cardTransaction("txn_2", "acc_a", -990, tx::SETTLED);
  produce(kTransactionsTopic, "acc_a", event(t, tx::PENDING));
  drain();
  t.set_state(tx::PENDING);
  t.mutable_amount()->set_minor_units(-1000);
  produce(kTransactionsTopic, "acc_a", event(t, kNone));
  drain();
  auto items = list("acc_a");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].body(), "Groceries");  // still the settled text
  EXPECT_EQ(items[0].amount().minor_units(), -990);
  size_t records = 0;
  EXPECT_EQ(published(&records), (std::set<std::string>{"feed_txn_2"}));
  EXPECT_EQ(records, 1u);  // the stale creation published nothing
}

TEST_F(FeedTest, PotEventsAreOneItemEach) {
  produce(kPotsTopic, "acc_a", potEvent(pots::PotEvent::CREATED, "pot_1", "acc_a", 0, "", 1000));
  produce(kPotsTopic, "acc_a", potEvent(pots::PotEvent::DEPOSITED, "pot_1", "acc_a", 1000, "es_1", 2000));
  produce(kPotsTopic, "acc_a", potEvent(pots::PotEvent::DEPOSITED, "pot_1", "acc_a", 1000, "es_1", 2000));
  produce(kPotsTopic, "acc_a", potEvent(pots::PotEvent::WITHDRAWN, "pot_1", "acc_a", 250, "es_2", 3000));
  drain();
  auto items = list("acc_a");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].title(), "\xC2\xA3" "2.50 withdrawn from Holiday");
  EXPECT_EQ(items[0].amount().minor_units(), 250);
  EXPECT_EQ(items[1].title(), "\xC2\xA3" "10.00 added to Holiday");
  EXPECT_EQ(items[1].amount().minor_units(), -1000);
  EXPECT_EQ(items[1].source_event_id(), "pot_move:es_1");
  EXPECT_EQ(items[2].title(), "New pot: Holiday");
  EXPECT_EQ(published().size(), 3u);
}

TEST_F(FeedTest, ListFeedIsNewestFirstWithALimitAndRefusesBadRequests) {
  for (int i = 1; i <= 3; ++i) {
    produce(kTransactionsTopic, "acc_a",
            event(cardTransaction("txn_" + std::to_string(i), "acc_a", -100 * i, tx::PENDING, 1000 * i), kNone));
  }
  drain();
  auto two = list("acc_a", 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].transaction_id(), "txn_3");
  EXPECT_EQ(two[1].transaction_id(), "txn_2");
  pb::ListFeedRequest req;
  pb::ListFeedResponse out;
  grpc::ClientContext c1;
  grpc::Status s = stub_->ListFeed(&c1, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("account_id"), std::string::npos);
  req.set_account_id("acc_a");
  req.set_limit(-5);
  grpc::ClientContext c2;
  s = stub_->ListFeed(&c2, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("limit"), std::string::npos);
}

TEST(FeedTextTest, TitlesAndBodiesReadLikeABankApp) {
  EXPECT_EQ(formatMoney(-1250, "GBP", true), "-\xC2\xA3" "12.50");
  EXPECT_EQ(formatMoney(5, "EUR"), "\xE2\x82\xAC" "0.05");
  EXPECT_EQ(formatMoney(123456, "JPY"), "JPY 1234.56");
  tx::TransactionRecord t = cardTransaction("t", "a", -1250, tx::DECLINED);
  t.set_decline_reason("insufficient_funds");
  ItemText declined = describeTransaction(t);
  EXPECT_EQ(declined.title, "Declined: Tesco \xC2\xA3" "12.50");
  EXPECT_EQ(declined.body, "Declined: insufficient funds");
  t.set_state(tx::REVERSED);
  EXPECT_EQ(describeTransaction(t).title, "Tesco \xC2\xA3" "12.50 reversed");
  tx::TransactionRecord p;
  p.set_kind("p2p");
  p.set_state(tx::SETTLED);
  p.mutable_amount()->set_minor_units(-2000);
  p.mutable_amount()->set_currency("GBP");
  p.set_counterparty("acc_b");
  p.set_reference("rent");
  ItemText sent = describeTransaction(p);
  EXPECT_EQ(sent.title, "You sent \xC2\xA3" "20.00 to acc_b");
  EXPECT_EQ(sent.body, "Transfer \xC2\xB7 rent");
  p.mutable_amount()->set_minor_units(2000);
  p.set_counterparty("acc_a");
  EXPECT_EQ(describeTransaction(p).title, "acc_a sent you \xC2\xA3" "20.00");
  p.set_kind("fps_out");
  p.set_state(tx::REVERSED);
  p.mutable_amount()->set_minor_units(-3000);
  p.set_counterparty("04-00-04 12345678");
  EXPECT_EQ(describeTransaction(p).title, "Payment of \xC2\xA3" "30.00 to 04-00-04 12345678 returned");
  p.set_kind("fps_in");
  p.set_state(tx::SETTLED);
  p.mutable_amount()->set_minor_units(5000);
  EXPECT_EQ(describeTransaction(p).title, "You received \xC2\xA3" "50.00");
  EXPECT_EQ(describeTransaction(p).body, "Faster Payment from 04-00-04 12345678 \xC2\xB7 rent");
  p.set_state(tx::DECLINED);
  p.set_decline_reason("account_closed");
  EXPECT_EQ(describeTransaction(p).title, "Incoming payment of \xC2\xA3" "50.00 from 04-00-04 12345678 declined");
  EXPECT_EQ(describeTransaction(p).body, "Declined: account closed");
}

}  // namespace
}  // namespace sandbank::feed
