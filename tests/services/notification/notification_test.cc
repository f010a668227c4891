// The notification service driven the way it runs: FeedEvents produced on the bus and
// consumed by a real consumer group, with a fake account service behind the account
// directory. Covers idempotent device registration, at most one push per feed item
// under duplicates and a rival consumer, a claim left by a crash, accounts without
// devices, unknown accounts, an account service that is down, and bad requests.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "../bankcore/bank_test_env.h"
#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/feed.pb.h"
#include "sandbank/bank/notification.grpc.pb.h"
#include "sandbank/notification/account_directory.h"
#include "sandbank/notification/notification_service.h"
#include "sandbank/notification/notifications.h"

namespace sandbank::notification {
namespace {

namespace acct = ::sandbank::bank::account;

bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// The account service as far as notification needs it: Get -> user id.
class FakeAccount final : public acct::Account::Service {
 public:
  grpc::Status Get(grpc::ServerContext*, const acct::GetAccountRequest* r, acct::AccountRecord* out) override {
    ++calls_;
    if (down_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "account is down");
    std::lock_guard lock(mu_);
    auto it = owners_.find(r->account_id());
    if (it == owners_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no account " + r->account_id());
    out->set_account_id(r->account_id());
    out->set_user_id(it->second);
    return grpc::Status::OK;
  }
  void own(const std::string& account, const std::string& user) {
    std::lock_guard lock(mu_);
    owners_[account] = user;
  }
  std::atomic<bool> down_{false};
  std::atomic<int> calls_{0};

 private:
  std::mutex mu_;
  std::map<std::string, std::string> owners_;  // guarded by mu_
};

std::string feedEvent(const std::string& item_id, const std::string& account) {
  ::sandbank::bank::feed::FeedEvent ev;
  auto* i = ev.mutable_item();
  i->set_feed_item_id(item_id);
  i->set_account_id(account);
  i->set_source_event_id(item_id.substr(5));
  i->set_title("Tesco -\xC2\xA3" "12.50");
  i->set_body("Groceries");
  return ev.SerializeAsString();
}

class NotificationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    bus::TopicConfig config;
    config.partitions = bank::testing::BankTestEnv::kPartitions;
    ASSERT_TRUE(env_.broker_->createTopic(kFeedTopic, config).ok());
    account_server_ = bank::testing::BankTestEnv::serve(&fake_account_, &account_address_);
    ASSERT_NE(account_server_, nullptr);
    directory_ = makeAccountServiceDirectory(
        grpc::CreateChannel(account_address_, grpc::InsecureChannelCredentials()), std::chrono::seconds(5));
    auto n = Notifications::open(*env_.store_, env_.clock_, *directory_);
    ASSERT_TRUE(n.ok()) << n.status().toString();
    notifications_ = std::move(n).value();
    service_ = makeNotificationGrpcService(*notifications_);
    server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(server_, nullptr);
    stub_ = pb::Notification::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    fake_account_.own("acc_a", "user_a");
    fake_account_.own("acc_b", "user_b");
  }
  void TearDown() override {
    for (auto& c : consumers_) c->stop();
    if (server_) server_->Shutdown();
    if (account_server_) account_server_->Shutdown();
    env_.stop();
  }

  kit::BusConsumer* startConsumer(const std::string& group, Notifications& logic) {
    kit::BusConsumerOptions options;
    options.address = env_.address_;
    options.group = group;
    options.topics = {kFeedTopic};
    options.session_timeout = std::chrono::milliseconds(30000);
    options.max_delivery_attempts = 100000;  // the outage test must not dead-letter
    options.retry_backoff = std::chrono::milliseconds(2);
    auto c = kit::BusConsumer::start(options, [&logic](const kit::BusDelivery& d) { return logic.handle(d); });
    EXPECT_TRUE(c.ok()) << c.status().toString();
    if (!c.ok()) return nullptr;
    consumers_.push_back(std::move(c).value());
    return consumers_.back().get();
  }

  void produce(const std::string& key, const std::string& value) {
    kit::BusMessage m;
    m.key = key;
    m.value = value;
    env_.producer_->send(kFeedTopic, std::move(m));
    ++produced_;
  }

  void drain(kit::BusConsumer* c) {
    ASSERT_TRUE(env_.producer_->flush().ok());
    ASSERT_TRUE(eventually([&] { return c->stats().handled >= produced_; }))
        << "handled " << c->stats().handled << " of " << produced_ << ", failed " << c->stats().failed;
  }

  grpc::Status registerDevice(const std::string& key, const std::string& user, const std::string& token,
                              pb::Device* out) {
    pb::RegisterDeviceRequest req;
    req.set_idempotency_key(key);
    req.set_user_id(user);
    req.set_push_token(token);
    grpc::ClientContext ctx;
    return stub_->RegisterDevice(&ctx, req, out);
  }

  std::vector<pb::Push> pushes(const std::string& account, const std::string& user = "") {
    pb::ListPushesRequest req;
    req.set_account_id(account);
    req.set_user_id(user);
    pb::ListPushesResponse out;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ListPushes(&ctx, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {out.pushes().begin(), out.pushes().end()};
  }

  bank::testing::BankTestEnv env_;
  FakeAccount fake_account_;
  std::unique_ptr<grpc::Server> account_server_;
  std::string account_address_;
  std::unique_ptr<AccountDirectory> directory_;
  std::unique_ptr<Notifications> notifications_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<pb::Notification::Stub> stub_;
  std::vector<std::unique_ptr<Notifications>> extra_logic_;  // outlive consumers_ (stopped in TearDown)
  std::vector<std::unique_ptr<kit::BusConsumer>> consumers_;
  int64_t produced_ = 0;
};

TEST_F(NotificationTest, RegisterDeviceIsIdempotentByKey) {
  pb::Device first, retry, other;
  ASSERT_TRUE(registerDevice("d-1", "user_a", "tok-1", &first).ok());
  EXPECT_FALSE(first.device_id().empty());
  EXPECT_FALSE(first.replayed());
  ASSERT_TRUE(registerDevice("d-1", "user_a", "tok-1", &retry).ok());
  EXPECT_EQ(retry.device_id(), first.device_id());
  EXPECT_TRUE(retry.replayed());
  grpc::Status reused = registerDevice("d-1", "user_a", "tok-2", &other);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  grpc::Status no_token = registerDevice("d-2", "user_a", "", &other);
  EXPECT_EQ(no_token.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(no_token.error_message().find("push_token"), std::string::npos);
  grpc::Status no_user = registerDevice("d-3", "", "tok", &other);
  EXPECT_EQ(no_user.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(no_user.error_message().find("user_id"), std::string::npos);
  pb::ListPushesRequest req;
  pb::ListPushesResponse out;
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->ListPushes(&ctx, req, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(NotificationTest, AtMostOnePushPerFeedItemUnderDuplicatesAndARivalConsumer) {
  pb::Device old_phone, new_phone;
  ASSERT_TRUE(registerDevice("d-old", "user_a", "tok-old", &old_phone).ok());
  env_.clock_.advance(std::chrono::seconds(1));
  ASSERT_TRUE(registerDevice("d-new", "user_a", "tok-new", &new_phone).ok());
  auto rival = Notifications::open(*env_.store_, env_.clock_, *directory_);
  ASSERT_TRUE(rival.ok());
  extra_logic_.push_back(std::move(rival).value());
  kit::BusConsumer* main = startConsumer("notification", *notifications_);
  kit::BusConsumer* other = startConsumer("notification-rival", *extra_logic_.back());
  ASSERT_NE(main, nullptr);
  ASSERT_NE(other, nullptr);
  for (int i = 0; i < 3; ++i) produce("acc_a", feedEvent("feed_txn_1", "acc_a"));
  produce("acc_a", feedEvent("feed_txn_2", "acc_a"));
  drain(main);
  drain(other);
  auto sent = pushes("acc_a");
  ASSERT_EQ(sent.size(), 2u);
  std::set<std::string> items;
  for (const auto& p : sent) {
    items.insert(p.feed_item_id());
    EXPECT_EQ(p.device_id(), new_phone.device_id());  // the newest device
    EXPECT_EQ(p.title(), "Tesco -\xC2\xA3" "12.50");
  }
  EXPECT_EQ(items, (std::set<std::string>{"feed_txn_1", "feed_txn_2"}));
  EXPECT_EQ(notifications_->stats().sent + extra_logic_.back()->stats().sent, 2);
  EXPECT_EQ(notifications_->stats().duplicates + extra_logic_.back()->stats().duplicates, 6);
  EXPECT_EQ(pushes("", "user_a").size(), 2u);
}

TEST_F(NotificationTest, AClaimLeftByACrashMeansNoPush) {
  pb::Device phone;
  ASSERT_TRUE(registerDevice("d-1", "user_a", "tok", &phone).ok());
  // A first consumer claimed the item and died before sending.
  ASSERT_TRUE(env_.tamper("INSERT INTO notification.push_claims (feed_item_id, push_id, account_id, claimed_us) "
                          "VALUES ('feed_txn_9', 'push_dead', 'acc_a', 1)")
                  .ok());
  kit::BusConsumer* main = startConsumer("notification", *notifications_);
  ASSERT_NE(main, nullptr);
  produce("acc_a", feedEvent("feed_txn_9", "acc_a"));
  drain(main);
  EXPECT_TRUE(pushes("acc_a").empty());
  EXPECT_EQ(notifications_->stats().duplicates, 1);
}

TEST_F(NotificationTest, NoDeviceOrUnknownAccountRecordsNothing) {
  kit::BusConsumer* main = startConsumer("notification", *notifications_);
  ASSERT_NE(main, nullptr);
  produce("acc_b", feedEvent("feed_txn_b", "acc_b"));      // user_b has no device
  produce("acc_x", feedEvent("feed_txn_x", "acc_x"));      // the account service does not know acc_x
  produce("acc_b", "\x01\x02 not a feed event");
  drain(main);
  EXPECT_TRUE(pushes("acc_b").empty());
  EXPECT_TRUE(pushes("acc_x").empty());
  EXPECT_EQ(notifications_->stats().no_device, 1);
  EXPECT_EQ(notifications_->stats().unknown_account, 1);
  // The device registered later gets later items, and the owner lookup was cached.
  pb::Device phone;
  ASSERT_TRUE(registerDevice("d-b", "user_b", "tok-b", &phone).ok());
  const int calls = fake_account_.calls_.load();
  produce("acc_b", feedEvent("feed_txn_b2", "acc_b"));
  drain(main);
  ASSERT_EQ(pushes("acc_b").size(), 1u);
  EXPECT_EQ(fake_account_.calls_.load(), calls);
}

TEST_F(NotificationTest, AnAccountServiceOutageDelaysThePushButDoesNotLoseIt) {
  pb::Device phone;
  ASSERT_TRUE(registerDevice("d-1", "user_a", "tok", &phone).ok());
  fake_account_.down_ = true;
  kit::BusConsumer* main = startConsumer("notification", *notifications_);
  ASSERT_NE(main, nullptr);
  produce("acc_a", feedEvent("feed_txn_1", "acc_a"));
  ASSERT_TRUE(env_.producer_->flush().ok());
  ASSERT_TRUE(eventually([&] { return main->stats().failed >= 2; }));
  EXPECT_TRUE(pushes("acc_a").empty());
  fake_account_.down_ = false;
  drain(main);
  EXPECT_EQ(pushes("acc_a").size(), 1u);
  EXPECT_EQ(main->stats().dead_lettered, 0);
}

}  // namespace
}  // namespace sandbank::notification
