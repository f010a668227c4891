// The real `pots` executable against an in-process store and bus and fake account and
// ledger services reached through SANDBANK_ADDR_*: it creates its topic and tables,
// opens a pot and moves money into it. Runs the binary from SANDBANK_BIN_DIR.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "../bankcore/bank_test_env.h"
#include "../p2p/fake_upstreams.h"
#include "../p2p/service_process.h"
#include "sandbank/bank/pots.grpc.pb.h"

namespace sandbank::pots {
namespace {

using namespace std::chrono_literals;
namespace pb = ::sandbank::bank::pots;

TEST(PotsProcessTest, TheExecutableOpensAPotAndDepositsIntoIt) {
  bank::testing::BankTestEnv env;
  env.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  bank::testing::FakeAccount account;
  bank::testing::FakeLedger ledger;
  std::string account_address, ledger_address;
  auto account_server = bank::testing::BankTestEnv::serve(&account, &account_address);
  auto ledger_server = bank::testing::BankTestEnv::serve(&ledger, &ledger_address);
  account.add("alice", "GBP", 0);
  ledger.setBalance("account:alice:main", 1000);

  bank::testing::ServiceProcess pots;
  pots.start("pots", {{"SANDBANK_STORE", env.address_},
                      {"SANDBANK_BUS", env.address_},
                      {"SANDBANK_TOPIC_PARTITIONS", std::to_string(bank::testing::BankTestEnv::kPartitions)},
                      {"SANDBANK_ADDR_ACCOUNT", account_address},
                      {"SANDBANK_ADDR_LEDGER", ledger_address}});
  ASSERT_FALSE(pots.port().empty()) << "pots never said it was listening; its output:\n" << pots.log();

  auto stub = pb::Pots::NewStub(grpc::CreateChannel(pots.address(), grpc::InsecureChannelCredentials()));
  pb::CreatePotRequest create;
  create.set_idempotency_key("p-1");
  create.set_account_id("alice");
  create.set_name("Holiday");
  pb::Pot pot;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 20s);
  grpc::Status s = stub->Create(&ctx, create, &pot);
  ASSERT_TRUE(s.ok()) << s.error_message();
  pb::MoveRequest deposit;
  deposit.set_idempotency_key("d-1");
  deposit.set_pot_id(pot.pot_id());
  deposit.mutable_amount()->set_minor_units(600);
  deposit.mutable_amount()->set_currency("GBP");
  pb::MoveResponse moved;
  grpc::ClientContext ctx2;
  ctx2.set_deadline(std::chrono::system_clock::now() + 20s);
  s = stub->Deposit(&ctx2, deposit, &moved);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ledger.balance("pot:" + pot.pot_id()), 600);
  EXPECT_EQ(ledger.balance("account:alice:main"), 400);
  EXPECT_EQ(env.records("pot.events").size(), 2u) << "created and deposited, on the topic the service made";

  EXPECT_EQ(pots.stop(), 0);
  account_server->Shutdown();
  ledger_server->Shutdown();
  env.stop();
}

}  // namespace
}  // namespace sandbank::pots
