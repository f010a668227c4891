// The asynchronous invariant checks (5 and 7) on a history made by the real transaction,
// feed and notification logic consuming from the in-process bus: clean when every
// approved authorisation has its one transaction, one feed item and at most one push;
// then each kind of violation planted (rows tampered behind the services' backs, bad
// events produced) and found, named, and shown with its records and trace.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <thread>

#include "../bankcore/bank_test_env.h"
#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/card_processor.pb.h"
#include "sandbank/bank/fps.pb.h"
#include "sandbank/bank/transaction.pb.h"
#include "sandbank/bankcore/fps_schema.h"
#include "sandbank/feed/feed.h"
#include "sandbank/invariants/async_checker.h"
#include "sandbank/kit/trace.h"
#include "sandbank/notification/notifications.h"
#include "sandbank/transaction/transactions.h"

namespace sandbank::invariants {
namespace {

namespace cp = ::sandbank::bank::card_processor;
namespace fps = ::sandbank::bank::fps;
namespace tx = ::sandbank::bank::transaction;

bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// Every account belongs to user_<account>.
class OwnerDirectory final : public notification::AccountDirectory {
 public:
  Result<std::string> userOf(const std::string& account_id) override { return "user_" + account_id; }
};

std::string authorisation(const std::string& id, const std::string& account, cp::AuthorisationState state) {
  cp::AuthorisationEvent ev;
  auto* a = ev.mutable_authorisation();
  a->set_authorisation_id(id);
  a->set_account_id(account);
  a->mutable_amount()->set_minor_units(1250);
  a->mutable_amount()->set_currency("GBP");
  a->mutable_merchant()->set_merchant_id("m_tesco");
  a->mutable_merchant()->set_category_code("5411");
  a->set_state(state);
  a->set_created_at_us(1000);
  return ev.SerializeAsString();
}

std::string clearing(const std::string& auth_id, const std::string& account, int64_t amount) {
  cp::ClearingEvent ev;
  ev.set_authorisation_id(auth_id);
  ev.set_account_id(account);
  ev.mutable_amount()->set_minor_units(amount);
  ev.mutable_amount()->set_currency("GBP");
  ev.set_at_us(2000);
  return ev.SerializeAsString();
}

std::string payment(const std::string& id, const std::string& account, fps::PaymentState state) {
  fps::FpsEvent ev;
  ev.mutable_payment()->set_payment_id(id);
  ev.mutable_payment()->set_account_id(account);
  ev.mutable_payment()->set_direction("out");
  ev.mutable_payment()->mutable_amount()->set_minor_units(500);
  ev.mutable_payment()->mutable_amount()->set_currency("GBP");
  ev.mutable_payment()->set_state(state);
  return ev.SerializeAsString();
}

class AsyncCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    for (const char* topic : {"card.authorisations", "card.clearings", "transfer.events", "fps.events",
                              "transaction.events", "pot.events", "feed.events"}) {
      bus::TopicConfig config;
      config.partitions = bank::testing::BankTestEnv::kPartitions;
      ASSERT_TRUE(env_.broker_->createTopic(topic, config).ok()) << topic;
    }
    auto t = transaction::Transactions::open(*env_.store_, env_.producer_.get(), env_.clock_);
    ASSERT_TRUE(t.ok()) << t.status().toString();
    transactions_ = std::move(t).value();
    auto f = feed::Feed::open(*env_.store_, env_.producer_.get(), env_.clock_);
    ASSERT_TRUE(f.ok()) << f.status().toString();
    feed_ = std::move(f).value();
    auto n = notification::Notifications::open(*env_.store_, env_.clock_, owners_);
    ASSERT_TRUE(n.ok()) << n.status().toString();
    notifications_ = std::move(n).value();
    for (const char* account : {"acc_a", "acc_b"}) {
      notification::pb::RegisterDeviceRequest req;
      req.set_idempotency_key(std::string("dev-") + account);
      req.set_user_id(std::string("user_") + account);
      req.set_push_token("tok");
      ASSERT_TRUE(notifications_->registerDevice(req).ok());
    }
    options_.bus_address = env_.address_;
  }
  void TearDown() override {
    for (auto& c : consumers_) c->stop();
    env_.stop();
  }

  // Starts the three services' consumers (when a test wants them).
  void startServices() {
    start("transaction", transaction::Transactions::consumedTopics(),
          [this](const kit::BusDelivery& d) { return transactions_->handle(d); });
    start("feed", feed::Feed::consumedTopics(), [this](const kit::BusDelivery& d) { return feed_->handle(d); });
    start("notification", {notification::kFeedTopic},
          [this](const kit::BusDelivery& d) { return notifications_->handle(d); });
  }

  void start(const std::string& group, std::vector<std::string> topics, kit::BusHandler handler) {
    kit::BusConsumerOptions options;
    options.address = env_.address_;
    options.group = group;
    options.topics = std::move(topics);
    options.session_timeout = std::chrono::milliseconds(30000);
    auto c = kit::BusConsumer::start(options, std::move(handler));
    ASSERT_TRUE(c.ok()) << c.status().toString();
    consumers_.push_back(std::move(c).value());
  }

  // Produces under a fresh trace, so the record carries a traceparent header.
  std::string produce(const std::string& topic, const std::string& key, const std::string& value) {
    kit::TraceContext ctx;
    ctx.trace_id = kit::newTraceId();
    ctx.span_id = kit::newSpanId();
    kit::TraceScope scope(ctx);
    kit::BusMessage m;
    m.key = key;
    m.value = value;
    env_.producer_->send(topic, std::move(m));
    return ctx.trace_id;
  }

  // Waits until every consumer group has committed everything on its topics (lag 0).
  void settle() {
    ASSERT_TRUE(env_.producer_->flush().ok());
    for (const char* group : {"transaction", "feed", "notification"}) {
      ASSERT_TRUE(eventually([&] {
        auto lag = env_.broker_->lag(group);
        if (!lag.ok()) return false;
        int64_t total = 0;
        for (const auto& p : *lag) total += p.lag;
        return total == 0;
      })) << group;
    }
  }

  AsyncCheckReport check() {
    auto r = checkAsync(*env_.store_, options_);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : AsyncCheckReport{};
  }

  // A clean history: a cleared payment, a reversed one, a declined one, a payment out.
  void cleanHistory() {
    produce("card.authorisations", "acc_a", authorisation("auth_1", "acc_a", cp::AUTH_APPROVED));
    produce("card.authorisations", "acc_a", authorisation("auth_2", "acc_a", cp::AUTH_APPROVED));
    produce("card.authorisations", "acc_b", authorisation("auth_3", "acc_b", cp::AUTH_DECLINED));
    produce("fps.events", "acc_b", payment("pay_1", "acc_b", fps::PAYMENT_PENDING));
    produce("fps.events", "acc_b", payment("pay_1", "acc_b", fps::PAYMENT_COMPLETED));
    settle();
    produce("card.clearings", "acc_a", clearing("auth_1", "acc_a", 1300));
    produce("card.authorisations", "acc_a", authorisation("auth_2", "acc_a", cp::AUTH_REVERSED));
    settle();
  }

  bank::testing::BankTestEnv env_;
  OwnerDirectory owners_;
  std::unique_ptr<transaction::Transactions> transactions_;
  std::unique_ptr<feed::Feed> feed_;
  std::unique_ptr<notification::Notifications> notifications_;
  std::vector<std::unique_ptr<kit::BusConsumer>> consumers_;
  AsyncCheckOptions options_;
};

bool mentions(const Violation& v, const std::string& text) {
  if (v.subject.find(text) != std::string::npos || v.detail.find(text) != std::string::npos) return true;
  for (const auto& r : v.rows) {
    if (r.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_F(AsyncCheckerTest, AHistoryMadeByTheServicesIsClean) {
  startServices();
  ASSERT_FALSE(HasFatalFailure());
  cleanHistory();
  ASSERT_FALSE(HasFatalFailure());
  AsyncCheckReport r = check();
  EXPECT_TRUE(r.clean()) << r.toText();
  EXPECT_EQ(r.approved_authorisations, 2);
  EXPECT_EQ(r.feed_items, 2);
  EXPECT_EQ(r.pushes, 2);
  EXPECT_EQ(r.transactions, 4);  // two card payments, the declined one, the payment out
  EXPECT_EQ(r.payments, 1);
  EXPECT_GE(r.transaction_events, 6);
  EXPECT_NE(r.toText().find("clean"), std::string::npos);
}

TEST_F(AsyncCheckerTest, AnApprovedAuthorisationWithNothingBuiltIsReportedWithItsTrace) {
  // No consumers: the authorisation never becomes a transaction.
  const std::string trace = produce("card.authorisations", "acc_a", authorisation("auth_lost", "acc_a", cp::AUTH_APPROVED));
  ASSERT_TRUE(env_.producer_->flush().ok());
  AsyncCheckReport r = check();
  // One violation, the root: with no transaction there is nothing to have a feed item.
  const std::vector<Violation> v5 = r.report.of(5);
  ASSERT_EQ(v5.size(), 1u) << r.toText();
  const Violation& v = v5[0];
  EXPECT_EQ(v.subject, "authorisation auth_lost");
  EXPECT_NE(v.detail.find("no transaction"), std::string::npos) << v.detail;
  EXPECT_TRUE(mentions(v, "trace=" + trace)) << r.toText();
  EXPECT_TRUE(mentions(v, "card.authorisations[")) << r.toText();
  EXPECT_EQ(v.trace_id, trace);
}

TEST_F(AsyncCheckerTest, ATransactionWithoutAFeedItemIsReported) {
  // Only the transaction consumer runs: the transaction is made, the feed never sees it.
  start("transaction", transaction::Transactions::consumedTopics(),
        [this](const kit::BusDelivery& d) { return transactions_->handle(d); });
  ASSERT_FALSE(HasFatalFailure());
  produce("card.authorisations", "acc_a", authorisation("auth_1", "acc_a", cp::AUTH_APPROVED));
  ASSERT_TRUE(env_.producer_->flush().ok());
  ASSERT_TRUE(eventually([&] {
    auto lag = env_.broker_->lag("transaction");
    if (!lag.ok()) return false;
    int64_t total = 0;
    for (const auto& p : *lag) total += p.lag;
    return total == 0;
  }));
  AsyncCheckReport r = check();
  ASSERT_EQ(r.report.of(5).size(), 1u) << r.toText();
  EXPECT_NE(r.report.of(5)[0].detail.find("has no feed item"), std::string::npos) << r.toText();
  EXPECT_TRUE(r.report.of(7).empty()) << r.toText();
}

TEST_F(AsyncCheckerTest, ASecondTransactionFeedItemOrPushIsFound) {
  startServices();
  ASSERT_FALSE(HasFatalFailure());
  cleanHistory();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(check().clean());
  // A second transaction for auth_1, a second feed item for auth_2's transaction, and a
  // second push for auth_1's feed item.
  ASSERT_TRUE(env_.tamper("INSERT INTO transaction.by_account (account_id, created_us, transaction_id, kind, "
                          "source_id) VALUES ('acc_a', 7, 'txn_dup', 'card', 'auth_1')")
                  .ok());
  ASSERT_TRUE(env_.tamper("INSERT INTO feed.by_account (account_id, created_us, feed_item_id, source_event_id, "
                          "transaction_id) VALUES ('acc_a', 7, 'feed_dup', 'x', 'txn_card_auth_2')")
                  .ok());
  ASSERT_TRUE(env_.tamper("INSERT INTO notification.pushes_by_account (account_id, sent_us, push_id, device_id, "
                          "feed_item_id) VALUES ('acc_a', 7, 'push_dup', 'dev', 'feed_txn_card_auth_1')")
                  .ok());
  AsyncCheckReport r = check();
  auto v5 = r.report.of(5);
  ASSERT_EQ(v5.size(), 3u) << r.toText();
  int seen = 0;
  for (const Violation& v : v5) {
    if (v.subject == "authorisation auth_1" && v.detail.find("2 transactions") != std::string::npos) {
      EXPECT_TRUE(mentions(v, "txn_dup"));
      ++seen;
    }
    if (v.subject == "authorisation auth_2" && v.detail.find("2 feed items") != std::string::npos) {
      EXPECT_TRUE(mentions(v, "feed_dup"));
      ++seen;
    }
    if (v.subject == "feed item feed_txn_card_auth_1" && v.detail.find("2 pushes") != std::string::npos) {
      EXPECT_TRUE(mentions(v, "push_dup"));
      ++seen;
    }
  }
  EXPECT_EQ(seen, 3) << r.toText();
  EXPECT_TRUE(r.report.of(7).empty()) << r.toText();
}

TEST_F(AsyncCheckerTest, TransactionsThatMoveBackAreFoundInEventsAndRows) {
  startServices();
  ASSERT_FALSE(HasFatalFailure());
  cleanHistory();
  ASSERT_FALSE(HasFatalFailure());
  // A row moved back behind the service's back: auth_1's transaction settled, now pending.
  ASSERT_TRUE(env_.tamper("UPDATE transaction.transactions SET state = 'pending' WHERE transaction_id = "
                          "'txn_card_auth_1'")
                  .ok());
  // And events that move auth_2's reversed transaction: settled -> pending, and a
  // pending -> settled although it already left pending for reversed.
  tx::TransactionEvent back;
  back.mutable_transaction()->set_transaction_id("txn_card_auth_2");
  back.mutable_transaction()->set_account_id("acc_a");
  back.mutable_transaction()->set_state(tx::PENDING);
  back.set_previous_state(tx::SETTLED);
  const std::string trace = produce("transaction.events", "acc_a", back.SerializeAsString());
  tx::TransactionEvent twice = back;
  twice.mutable_transaction()->set_state(tx::SETTLED);
  twice.set_previous_state(tx::PENDING);
  produce("transaction.events", "acc_a", twice.SerializeAsString());
  settle();
  AsyncCheckReport r = check();
  auto v7 = r.report.of(7);
  int row_back = 0, not_forward = 0, two_ways = 0;
  for (const Violation& v : v7) {
    if (v.subject == "transaction txn_card_auth_1" && v.detail.find("row is pending") != std::string::npos) ++row_back;
    if (v.subject == "transaction txn_card_auth_2" && v.detail.find("not a forward move") != std::string::npos) {
      EXPECT_TRUE(mentions(v, "trace=" + trace)) << r.toText();
      ++not_forward;
    }
    if (v.subject == "transaction txn_card_auth_2" && v.detail.find("left pending 2 different ways") != std::string::npos) {
      ++two_ways;
    }
  }
  EXPECT_EQ(row_back, 1) << r.toText();
  EXPECT_EQ(not_forward, 1) << r.toText();
  EXPECT_EQ(two_ways, 1) << r.toText();
}

TEST_F(AsyncCheckerTest, APaymentThatMovesBackOnFpsEventsIsFound) {
  produce("fps.events", "acc_b", payment("pay_ok", "acc_b", fps::PAYMENT_PENDING));
  produce("fps.events", "acc_b", payment("pay_ok", "acc_b", fps::PAYMENT_COMPLETED));
  produce("fps.events", "acc_b", payment("pay_bad", "acc_b", fps::PAYMENT_REVERSED));
  produce("fps.events", "acc_b", payment("pay_bad", "acc_b", fps::PAYMENT_COMPLETED));
  ASSERT_TRUE(env_.producer_->flush().ok());
  AsyncCheckReport r = check();
  auto v7 = r.report.of(7);
  ASSERT_EQ(v7.size(), 1u) << r.toText();
  EXPECT_EQ(v7[0].subject, "payment pay_bad");
  EXPECT_NE(v7[0].detail.find("PAYMENT_REVERSED to PAYMENT_COMPLETED"), std::string::npos) << v7[0].detail;
  EXPECT_EQ(v7[0].rows.size(), 2u);
  EXPECT_EQ(r.payments, 2);

  // The fps service's row for pay_ok moved back to pending after its completion was
  // published.
  for (const std::string& cql : {std::string("CREATE KEYSPACE IF NOT EXISTS fps WITH replication = {'class': "
                                            "'SimpleStrategy', 'replication_factor': 3}"),
                                std::string(bank::fps_schema::kTables[1])}) {
    ASSERT_TRUE(env_.store_->execute(cql).ok()) << cql;
  }
  ASSERT_TRUE(env_.tamper("INSERT INTO fps.payments (payment_id, account_id, direction, state) VALUES ('pay_ok', "
                          "'acc_b', 'out', 'pending')")
                  .ok());
  r = check();
  v7 = r.report.of(7);
  ASSERT_EQ(v7.size(), 2u) << r.toText();
  EXPECT_EQ(v7[1].subject, "payment pay_ok");
  EXPECT_NE(v7[1].detail.find("row is pending but its events already reached PAYMENT_COMPLETED"), std::string::npos)
      << v7[1].detail;
  EXPECT_TRUE(mentions(v7[1], "fps.payments:"));
}

TEST_F(AsyncCheckerTest, RefusesToRunWithoutABusAddress) {
  AsyncCheckOptions none;
  auto r = checkAsync(*env_.store_, none);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sandbank::invariants
