// The real `transaction`, `feed` and `notification` executables chained over an
// in-process store and bus, with a fake account service: a card authorisation and its
// clearing produced on the bus become one settled transaction, one feed item with the
// settled text, and one push, read back through each process's gRPC API. Runs the
// binaries from SANDBANK_BIN_DIR.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <regex>
#include <thread>

#include "../bankcore/bank_test_env.h"
#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/card_processor.pb.h"
#include "sandbank/bank/feed.grpc.pb.h"
#include "sandbank/bank/notification.grpc.pb.h"
#include "sandbank/bank/transaction.grpc.pb.h"

namespace sandbank::transaction {
namespace {

namespace cp = ::sandbank::bank::card_processor;

bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// Every account belongs to user_<account id>.
class FakeAccount final : public ::sandbank::bank::account::Account::Service {
 public:
  grpc::Status Get(grpc::ServerContext*, const ::sandbank::bank::account::GetAccountRequest* r,
                   ::sandbank::bank::account::AccountRecord* out) override {
    out->set_account_id(r->account_id());
    out->set_user_id("user_" + r->account_id());
    return grpc::Status::OK;
  }
};

// A service executable started with its environment; its output is drained on a thread
// once it has said where it listens.
class Process {
 public:
  Process(const std::string& name, const std::vector<std::pair<std::string, std::string>>& env) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::setenv("SANDBANK_SERVICE", name.c_str(), 1);
      ::setenv("SANDBANK_PORT", "0", 1);
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      const std::string bin = std::string(SANDBANK_BIN_DIR) + "/" + name;
      ::execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    ::close(out[1]);
    lines_ = ::fdopen(out[0], "r");
    char buf[4096];
    while (port_.empty() && lines_ != nullptr && std::fgets(buf, sizeof buf, lines_) != nullptr) {
      log_ += buf;
      std::smatch m;
      std::string line(buf);
      if (std::regex_search(line, m, std::regex(R"re("msg":"listening".*"port":"(\d+)")re"))) port_ = m[1];
    }
    if (lines_ != nullptr) {
      drain_ = std::thread([f = lines_] {
        char b[4096];
        while (std::fgets(b, sizeof b, f) != nullptr) {
        }
      });
    }
  }
  // SIGTERM, then the exit status (-1 when it was never started).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    if (drain_.joinable()) drain_.join();
    if (lines_ != nullptr) std::fclose(lines_);
    lines_ = nullptr;
    return status;
  }
  ~Process() { stop(); }
  const std::string& port() const { return port_; }
  const std::string& log() const { return log_; }

 private:
  pid_t pid_ = -1;
  FILE* lines_ = nullptr;
  std::thread drain_;
  std::string port_;
  std::string log_;
};

TEST(AsyncChainProcessTest, AnAuthorisationAndItsClearingBecomeOneTransactionOneItemAndOnePush) {
  bank::testing::BankTestEnv env;
  env.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  FakeAccount account;
  std::string account_address;
  auto account_server = bank::testing::BankTestEnv::serve(&account, &account_address);
  const std::vector<std::pair<std::string, std::string>> common = {
      {"SANDBANK_STORE", env.address_}, {"SANDBANK_BUS", env.address_}, {"SANDBANK_TOPIC_PARTITIONS", "2"}};
  auto with = [&](std::vector<std::pair<std::string, std::string>> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  Process transaction("transaction", common);
  Process feed("feed", common);
  Process notification("notification", with({{"SANDBANK_ADDR_ACCOUNT", account_address}}));
  ASSERT_FALSE(transaction.port().empty()) << transaction.log();
  ASSERT_FALSE(feed.port().empty()) << feed.log();
  ASSERT_FALSE(notification.port().empty()) << notification.log();
  auto channel = [](const std::string& port) {
    return grpc::CreateChannel("127.0.0.1:" + port, grpc::InsecureChannelCredentials());
  };
  auto transactions = ::sandbank::bank::transaction::Transaction::NewStub(channel(transaction.port()));
  auto feeds = ::sandbank::bank::feed::Feed::NewStub(channel(feed.port()));
  auto notifications = ::sandbank::bank::notification::Notification::NewStub(channel(notification.port()));

  ::sandbank::bank::notification::RegisterDeviceRequest reg;
  reg.set_idempotency_key("phone-1");
  reg.set_user_id("user_acc_a");
  reg.set_push_token("tok-1");
  ::sandbank::bank::notification::Device device;
  grpc::ClientContext reg_ctx;
  reg_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  ASSERT_TRUE(notifications->RegisterDevice(&reg_ctx, reg, &device).ok());

  // The card processor's records: approved for 12.50, presented at 13.10.
  cp::AuthorisationEvent auth;
  auth.mutable_authorisation()->set_authorisation_id("auth_p1");
  auth.mutable_authorisation()->set_account_id("acc_a");
  auth.mutable_authorisation()->mutable_amount()->set_minor_units(1250);
  auth.mutable_authorisation()->mutable_amount()->set_currency("GBP");
  auth.mutable_authorisation()->mutable_merchant()->set_name("TESCO STORES 3297");
  auth.mutable_authorisation()->mutable_merchant()->set_category_code("5411");
  auth.mutable_authorisation()->set_state(cp::AUTH_APPROVED);
  kit::BusMessage m;
  m.key = "acc_a";
  m.value = auth.SerializeAsString();
  env.producer_->send("card.authorisations", m);
  cp::ClearingEvent clear;
  clear.set_authorisation_id("auth_p1");
  clear.set_account_id("acc_a");
  clear.mutable_amount()->set_minor_units(1310);
  clear.mutable_amount()->set_currency("GBP");
  *clear.mutable_merchant() = auth.authorisation().merchant();  // as the card processor sends it
  m.value = clear.SerializeAsString();
  env.producer_->send("card.clearings", m);
  ASSERT_TRUE(env.producer_->flush().ok());

  ::sandbank::bank::transaction::TransactionRecord txn;
  EXPECT_TRUE(eventually([&] {
    ::sandbank::bank::transaction::GetTransactionRequest req;
    req.set_transaction_id("txn_card_auth_p1");
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return transactions->Get(&ctx, req, &txn).ok() && txn.state() == ::sandbank::bank::transaction::SETTLED;
  })) << txn.DebugString();
  EXPECT_EQ(txn.amount().minor_units(), -1310);
  EXPECT_EQ(txn.merchant_name(), "Tesco");

  ::sandbank::bank::feed::ListFeedResponse items;
  EXPECT_TRUE(eventually([&] {
    ::sandbank::bank::feed::ListFeedRequest req;
    req.set_account_id("acc_a");
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return feeds->ListFeed(&ctx, req, &items).ok() && items.items_size() == 1 &&
           items.items(0).amount().minor_units() == -1310;
  })) << items.DebugString();
  EXPECT_EQ(items.items(0).title(), "Tesco -\xC2\xA3" "13.10");

  ::sandbank::bank::notification::ListPushesResponse pushes;
  EXPECT_TRUE(eventually([&] {
    ::sandbank::bank::notification::ListPushesRequest req;
    req.set_account_id("acc_a");
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return notifications->ListPushes(&ctx, req, &pushes).ok() && pushes.pushes_size() >= 1;
  }));
  ASSERT_EQ(pushes.pushes_size(), 1);
  EXPECT_EQ(pushes.pushes(0).feed_item_id(), "feed_txn_card_auth_p1");
  EXPECT_EQ(pushes.pushes(0).device_id(), device.device_id());

  for (Process* p : {&notification, &feed, &transaction}) {
    const int status = p->stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  account_server->Shutdown();
  env.stop();
}

}  // namespace
}  // namespace sandbank::transaction
