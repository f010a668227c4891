// The real `ledger` executable against an in-process store and bus: it creates its
// tables and topic at start-up, prints the listening line, and serves PostEntrySet and
// GetBalance over gRPC. Runs the binary from SANDBANK_BIN_DIR.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <regex>

#include "../bankcore/bank_test_env.h"
#include "sandbank/bank/ledger.grpc.pb.h"

namespace sandbank::ledger {
namespace {

namespace pb = ::sandbank::bank::ledger;

TEST(LedgerProcessTest, TheExecutableStartsAgainstTheStoreAndBusAndServesPostings) {
  bank::testing::BankTestEnv env;
  env.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_TRUE(env.broker_->deleteTopic("ledger.entrysets").ok());  // the service must make it

  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::setenv("SANDBANK_SERVICE", "ledger", 1);
    ::setenv("SANDBANK_STORE", env.address_.c_str(), 1);
    ::setenv("SANDBANK_BUS", env.address_.c_str(), 1);
    ::setenv("SANDBANK_TOPIC_PARTITIONS", "2", 1);
    ::setenv("SANDBANK_PORT", "0", 1);
    const std::string bin = std::string(SANDBANK_BIN_DIR) + "/ledger";
    ::execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(out[1]);
  FILE* lines = ::fdopen(out[0], "r");
  ASSERT_NE(lines, nullptr);
  std::string port;
  char buf[4096];
  std::string log;
  while (port.empty() && std::fgets(buf, sizeof buf, lines) != nullptr) {  // blocks until a line or exit
    log += buf;
    std::smatch m;
    std::string line(buf);
    if (std::regex_search(line, m, std::regex(R"re("msg":"listening".*"port":"(\d+)")re"))) port = m[1];
  }
  ASSERT_FALSE(port.empty()) << "the ledger never said it was listening; its output:\n" << log;

  auto stub = pb::Ledger::NewStub(grpc::CreateChannel("127.0.0.1:" + port, grpc::InsecureChannelCredentials()));
  pb::PostEntrySetRequest req;
  req.set_idempotency_key("smoke-1");
  auto* d = req.add_entries();
  d->set_address("scheme:fps:suspense");
  d->mutable_amount()->set_minor_units(-750);
  d->mutable_amount()->set_currency("GBP");
  auto* c = req.add_entries();
  c->set_address("account:smoke:main");
  c->mutable_amount()->set_minor_units(750);
  c->mutable_amount()->set_currency("GBP");
  pb::PostEntrySetResponse posted;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Status s = stub->PostEntrySet(&ctx, req, &posted);
  EXPECT_TRUE(s.ok()) << s.error_message();
  pb::GetBalanceRequest breq;
  breq.set_address("account:smoke:main");
  breq.set_verify(true);
  pb::Balance bal;
  grpc::ClientContext ctx2;
  ctx2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  ASSERT_TRUE(stub->GetBalance(&ctx2, breq, &bal).ok());
  ASSERT_EQ(bal.currencies_size(), 1);
  EXPECT_EQ(bal.currencies(0).settled_minor_units(), 750);
  auto topic = env.broker_->describeTopic("ledger.entrysets");
  ASSERT_TRUE(topic.ok()) << topic.status().toString();
  EXPECT_EQ(topic->partitions.size(), 2u);

  ::kill(pid, SIGTERM);  // graceful: the producer flushes on the way out
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  std::fclose(lines);
  int64_t records = 0;
  for (int p = 0; p < 2; ++p) {
    auto r = env.broker_->fetch(bus::TopicPartition{"ledger.entrysets", p}, 0, 100);
    ASSERT_TRUE(r.ok());
    records += static_cast<int64_t>(r->size());
  }
  EXPECT_EQ(records, 1);
  env.stop();
}

}  // namespace
}  // namespace sandbank::ledger
