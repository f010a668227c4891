// The real `p2p` executable against an in-process store and bus and fake account, fraud
// and ledger services reached through SANDBANK_ADDR_*: it creates its topic and tables,
// takes its fraud policy and deadline from the environment, and completes a transfer.
// Runs the binary from SANDBANK_BIN_DIR.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "../bankcore/bank_test_env.h"
#include "fake_upstreams.h"
#include "sandbank/bank/p2p.grpc.pb.h"
#include "service_process.h"

namespace sandbank::p2p {
namespace {

using namespace std::chrono_literals;
namespace pb = ::sandbank::bank::p2p;

TEST(P2pProcessTest, TheExecutableFailsOpenOnASlowFraudServiceWhenConfiguredTo) {
  bank::testing::BankTestEnv env;
  env.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  bank::testing::FakeAccount account;
  bank::testing::FakeFraud fraud;
  bank::testing::FakeLedger ledger;
  std::string account_address, fraud_address, ledger_address;
  auto account_server = bank::testing::BankTestEnv::serve(&account, &account_address);
  auto fraud_server = bank::testing::BankTestEnv::serve(&fraud, &fraud_address);
  auto ledger_server = bank::testing::BankTestEnv::serve(&ledger, &ledger_address);
  account.add("alice", "GBP", 0);
  account.add("bob", "GBP", 0);
  ledger.setBalance("account:alice:main", 1000);
  fraud.hang(true);

  bank::testing::ServiceProcess p2p;
  p2p.start("p2p", {{"SANDBANK_STORE", env.address_},
                    {"SANDBANK_BUS", env.address_},
                    {"SANDBANK_TOPIC_PARTITIONS", std::to_string(bank::testing::BankTestEnv::kPartitions)},
                    {"SANDBANK_ADDR_ACCOUNT", account_address},
                    {"SANDBANK_ADDR_FRAUD", fraud_address},
                    {"SANDBANK_ADDR_LEDGER", ledger_address},
                    {"P2P_FRAUD_POLICY", "fail_open"},
                    {"P2P_FRAUD_TIMEOUT", "50ms"}});
  ASSERT_FALSE(p2p.port().empty()) << "p2p never said it was listening; its output:\n" << p2p.log();

  auto stub = pb::P2p::NewStub(grpc::CreateChannel(p2p.address(), grpc::InsecureChannelCredentials()));
  pb::CreateTransferRequest req;
  req.set_idempotency_key("k-1");
  req.set_from_account_id("alice");
  req.set_to_account_id("bob");
  req.mutable_amount()->set_minor_units(400);
  req.mutable_amount()->set_currency("GBP");
  pb::TransferRecord t;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 20s);
  grpc::Status s = stub->CreateTransfer(&ctx, req, &t);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(t.state(), pb::TRANSFER_COMPLETED);
  EXPECT_EQ(fraud.calls(), 1);
  EXPECT_EQ(ledger.balance("account:bob:main"), 400);
  EXPECT_EQ(env.records("transfer.events").size(), 2u) << "one per side, on the topic the service made";

  EXPECT_EQ(p2p.stop(), 0);
  for (auto* server : {&account_server, &fraud_server, &ledger_server}) (*server)->Shutdown();
  env.stop();
}

}  // namespace
}  // namespace sandbank::p2p
