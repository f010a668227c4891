// The real `card-processor` executable against an in-process store and bus, the real card
// service and ledger, and fake account and fraud services: it reads its configuration from
// the environment, creates its topics, approves a payment, and - with the shared simulated
// clock moved on 7 days - its own sweeper thread expires the hold with no call from anyone.
// Runs the binary from SANDBANK_BIN_DIR.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <thread>

#include "../bankcore/bank_test_env.h"
#include "../card/fake_account.h"
#include "sandbank/bank/card_processor.grpc.pb.h"
#include "sandbank/bank/fraud.grpc.pb.h"
#include "sandbank/card/card_service.h"
#include "sandbank/card/cards.h"
#include "sandbank/core/clock_file.h"
#include "sandbank/ledger/ledger.h"
#include "sandbank/ledger/ledger_service.h"

namespace sandbank::card_processor {
namespace {

namespace pb = ::sandbank::bank::card_processor;
namespace fraud_pb = ::sandbank::bank::fraud;
namespace ledger_pb = ::sandbank::bank::ledger;

class AllowingFraud final : public fraud_pb::Fraud::Service {
  grpc::Status ScoreAuthorisation(grpc::ServerContext*, const fraud_pb::ScoreAuthorisationRequest*,
                                  fraud_pb::Score* out) override {
    out->set_verdict(fraud_pb::ALLOW);
    return grpc::Status::OK;
  }
};

std::unique_ptr<grpc::Server> serveAll(const std::vector<grpc::Service*>& services, std::string* address) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  auto server = builder.BuildAndStart();
  *address = "127.0.0.1:" + std::to_string(port);
  return server;
}

TEST(CardProcessorProcessTest, TheExecutableApprovesAndItsSweeperExpiresHoldsAfterTheClockMoves) {
  bank::testing::BankTestEnv env;
  env.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  bus::TopicConfig topic;
  topic.partitions = 2;
  ASSERT_TRUE(env.broker_->createTopic("card.events", topic).ok());
  const std::string clock_path =
      (std::filesystem::temp_directory_path() / ("card-processor-clock-" + std::to_string(::getpid()))).string();
  auto offset = SharedClockOffset::create(clock_path);
  ASSERT_TRUE(offset.ok()) << offset.status().toString();

  bank::testing::FakeAccount accounts;
  accounts.put("acc_alice", ::sandbank::bank::account::ACCOUNT_ACTIVE);
  AllowingFraud fraud;
  auto led = ledger::Ledger::open(*env.store_, env.producer_.get(), env.clock_);
  ASSERT_TRUE(led.ok()) << led.status().toString();
  auto ledger_service = ledger::makeLedgerGrpcService(**led);
  std::string upstream_address;
  auto upstream = serveAll({&accounts, &fraud, ledger_service.get()}, &upstream_address);
  ASSERT_NE(upstream, nullptr);
  auto cards = card::Cards::open(*env.store_, env.producer_.get(), env.clock_,
                                 grpc::CreateChannel(upstream_address, grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(cards.ok()) << cards.status().toString();
  auto card_service = card::makeCardGrpcService(**cards);
  std::string card_address;
  auto card_server = serveAll({card_service.get()}, &card_address);
  ASSERT_NE(card_server, nullptr);
  ::sandbank::bank::card::IssueRequest issue;
  issue.set_idempotency_key("issue-1");
  issue.set_account_id("acc_alice");
  auto card = (*cards)->issue(issue);
  ASSERT_TRUE(card.ok()) << card.status().toString();
  ledger_pb::PostEntrySetRequest fund;
  fund.set_idempotency_key("fund-1");
  for (auto [address, amount] : {std::pair{"external:test:funding", -10000}, std::pair{"account:acc_alice:main", 10000}}) {
    auto* e = fund.add_entries();
    e->set_address(address);
    e->mutable_amount()->set_minor_units(amount);
    e->mutable_amount()->set_currency("GBP");
  }
  ASSERT_TRUE((*led)->post(fund).ok());

  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::setenv("SANDBANK_SERVICE", "card-processor", 1);
    ::setenv("SANDBANK_STORE", env.address_.c_str(), 1);
    ::setenv("SANDBANK_BUS", env.address_.c_str(), 1);
    ::setenv("SANDBANK_TOPIC_PARTITIONS", "2", 1);
    ::setenv("SANDBANK_PORT", "0", 1);
    ::setenv("SANDBANK_CLOCK_FILE", clock_path.c_str(), 1);
    ::setenv("SANDBANK_ADDR_CARD", card_address.c_str(), 1);
    ::setenv("SANDBANK_ADDR_ACCOUNT", upstream_address.c_str(), 1);
    ::setenv("SANDBANK_ADDR_FRAUD", upstream_address.c_str(), 1);
    ::setenv("SANDBANK_ADDR_LEDGER", upstream_address.c_str(), 1);
    ::setenv("CARD_PROCESSOR_SWEEP_INTERVAL", "20ms", 1);
    ::setenv("CARD_PROCESSOR_FRAUD_POLICY", "fail_closed", 1);
    const std::string bin = std::string(SANDBANK_BIN_DIR) + "/card-processor";
    ::execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(out[1]);
  FILE* lines = ::fdopen(out[0], "r");
  ASSERT_NE(lines, nullptr);
  std::string port, log;
  char buf[4096];
  while (port.empty() && std::fgets(buf, sizeof buf, lines) != nullptr) {  // blocks until a line or exit
    log += buf;
    std::smatch m;
    std::string line(buf);
    if (std::regex_search(line, m, std::regex(R"re("msg":"listening".*"port":"(\d+)")re"))) port = m[1];
  }
  ASSERT_FALSE(port.empty()) << "card-processor never said it was listening; its output:\n" << log;
  // Drain its log so it never blocks on a full pipe.
  std::thread drain([lines] {
    char b[4096];
    while (std::fgets(b, sizeof b, lines) != nullptr) {
    }
  });

  auto stub = pb::CardProcessor::NewStub(grpc::CreateChannel("127.0.0.1:" + port, grpc::InsecureChannelCredentials()));
  pb::AuthoriseRequest req;
  req.set_idempotency_key("scheme-msg-1");
  req.set_card_token(card->token());
  req.mutable_amount()->set_minor_units(2500);
  req.mutable_amount()->set_currency("GBP");
  req.mutable_merchant()->set_category_code("5411");
  pb::AuthoriseResponse approved;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Status s = stub->Authorise(&ctx, req, &approved);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(approved.decision(), pb::APPROVED) << approved.decline_reason();

  auto state = [&]() {
    pb::GetAuthorisationRequest get;
    get.set_authorisation_id(approved.authorisation_id());
    pb::AuthorisationRecord rec;
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    grpc::Status gs = stub->GetAuthorisation(&c, get, &rec);
    EXPECT_TRUE(gs.ok()) << gs.error_message();
    return rec;
  };
  pb::AuthorisationRecord before = state();
  EXPECT_EQ(before.state(), pb::AUTH_APPROVED);
  EXPECT_EQ(before.fraud_check(), "allow");

  (*offset)->advance(std::chrono::hours(24 * 7) + std::chrono::minutes(1));  // `sandbank clock advance 7d`
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  pb::AuthorisationRecord after = state();
  while (after.state() == pb::AUTH_APPROVED && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling, bounded by the deadline
    after = state();
  }
  EXPECT_EQ(after.state(), pb::AUTH_EXPIRED);
  // The sweeper ends the authorisation first (its state LWT), then releases the hold in
  // the ledger: the hold follows a moment later.
  auto hold = (*led)->getHold(approved.hold_id());
  while (hold.ok() && hold->state() != ledger_pb::HOLD_EXPIRED && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling, bounded by the deadline
    hold = (*led)->getHold(approved.hold_id());
  }
  ASSERT_TRUE(hold.ok()) << hold.status().toString();
  EXPECT_EQ(hold->state(), ledger_pb::HOLD_EXPIRED);
  auto topics = env.broker_->describeTopic("card.clearings");
  EXPECT_TRUE(topics.ok()) << "the service creates card.clearings at start-up: " << topics.status().toString();

  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  drain.join();
  std::fclose(lines);
  // Approved, then expired: both on card.authorisations.
  int64_t records = 0;
  for (int p = 0; p < 2; ++p) {
    auto r = env.broker_->fetch(bus::TopicPartition{"card.authorisations", p}, 0, 100);
    ASSERT_TRUE(r.ok()) << r.status().toString();
    records += static_cast<int64_t>(r->size());
  }
  EXPECT_EQ(records, 2);
  std::filesystem::remove(clock_path);
  card_server->Shutdown();
  upstream->Shutdown();
  env.stop();
}

}  // namespace
}  // namespace sandbank::card_processor
