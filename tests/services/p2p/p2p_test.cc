// The p2p service over real gRPC with the store and bus in-process and fake account,
// fraud and ledger services: a transfer posts one EntrySet and publishes one event per
// side; a retry returns the original with replayed = true and never posts twice (also
// after a lost ledger answer); insufficient funds and fraud blocks are declined; a slow
// fraud service is handled by the explicit policy; bad requests name the field; the
// recovery sweeper finishes a transfer left PENDING once, also with two instances racing.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <thread>

#include "../bankcore/bank_test_env.h"
#include "fake_upstreams.h"
#include "sandbank/bank/p2p.grpc.pb.h"
#include "sandbank/bankcore/money.h"
#include "sandbank/bankcore/p2p_schema.h"
#include "sandbank/ledger/ledger.h"
#include "sandbank/ledger/ledger_service.h"
#include "sandbank/p2p/p2p_service.h"
#include "sandbank/p2p/transfers.h"

namespace sandbank::p2p {
namespace {

using namespace std::chrono_literals;
using Vars = std::map<std::string, std::string>;
namespace fraudpb = ::sandbank::bank::fraud;

class P2pTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    bus::TopicConfig config;
    config.partitions = bank::testing::BankTestEnv::kPartitions;
    ASSERT_TRUE(env_.broker_->createTopic("transfer.events", config).ok());
    account_server_ = bank::testing::BankTestEnv::serve(&account_, &account_address_);
    fraud_server_ = bank::testing::BankTestEnv::serve(&fraud_, &fraud_address_);
    ledger_server_ = bank::testing::BankTestEnv::serve(&ledger_, &ledger_address_);
    ASSERT_TRUE(account_server_ && fraud_server_ && ledger_server_);
    account_.add("alice", "GBP", 0);
    account_.add("bob", "GBP", 0);
    account_.add("carol", "GBP", 5000);  // may go 50.00 overdrawn
    account_.add("euro", "EUR", 0);
    account_.add("frozen", "GBP", 0, ::sandbank::bank::account::ACCOUNT_FROZEN);
    ledger_.setBalance("account:alice:main", 10'000);
    fraud_.answer(fraudpb::ALLOW, 0, "no rule fired");
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    for (auto* s : {&account_server_, &fraud_server_, &ledger_server_}) {
      if (*s) (*s)->Shutdown();
    }
    env_.stop();
  }

  // `ledger_address` empty = the fake ledger.
  void open(FraudPolicy policy = FraudPolicy::kFailClosed, const std::string& ledger_address = "") {
    TransfersOptions options;
    options.fraud_policy = policy;
    options.fraud_timeout = 100ms;
    options.account = grpc::CreateChannel(account_address_, grpc::InsecureChannelCredentials());
    options.fraud = grpc::CreateChannel(fraud_address_, grpc::InsecureChannelCredentials());
    options.ledger = grpc::CreateChannel(ledger_address.empty() ? ledger_address_ : ledger_address,
                                         grpc::InsecureChannelCredentials());
    auto t = Transfers::open(*env_.store_, env_.producer_.get(), env_.clock_, options);
    ASSERT_TRUE(t.ok()) << t.status().toString();
    transfers_ = std::move(t).value();
    service_ = makeP2pGrpcService(*transfers_);
    server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(server_, nullptr);
    stub_ = pb::P2p::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }

  grpc::Status send(const std::string& key, const std::string& from, const std::string& to, int64_t minor,
                    pb::TransferRecord* out, const std::string& currency = "GBP") {
    pb::CreateTransferRequest req;
    req.set_idempotency_key(key);
    req.set_from_account_id(from);
    req.set_to_account_id(to);
    req.mutable_amount()->set_minor_units(minor);
    req.mutable_amount()->set_currency(currency);
    req.set_reference("rent");
    grpc::ClientContext ctx;
    return stub_->CreateTransfer(&ctx, req, out);
  }

  std::vector<pb::TransferEvent> events() {
    std::vector<pb::TransferEvent> out;
    for (const auto& d : env_.records("transfer.events")) {
      pb::TransferEvent ev;
      EXPECT_TRUE(ev.ParseFromString(d.record->value));
      EXPECT_EQ(d.record->key.value_or(""), ev.account_id()) << "keyed by the side's account id";
      out.push_back(ev);
    }
    return out;
  }

  // The transfer id the key `key` was claimed for (the call that claimed it failed, so
  // its answer carried none).
  std::string transferIdOf(const std::string& key) {
    auto r = env_.store_->execute("SELECT result_id FROM p2p.idempotency WHERE idempotency_key = ?",
                                  {kit::StoreValue::text(key)}, quorum());
    EXPECT_TRUE(r.ok() && r->rows.size() == 1) << (r.ok() ? "no claim for " + key : r.status().toString());
    return r.ok() && !r->rows.empty() ? r->cell(0, "result_id").s : "";
  }

  // Listed transfers, over every bucket.
  int listedOpen() {
    int n = 0;
    for (int b = 0; b < bank::p2p_schema::kOpenBuckets; ++b) {
      auto r = env_.store_->execute("SELECT item_id FROM p2p.open_transfers WHERE bucket = ?",
                                    {kit::StoreValue::integer(b)}, quorum());
      EXPECT_TRUE(r.ok()) << r.status().toString();
      if (r.ok()) n += static_cast<int>(r->rows.size());
    }
    return n;
  }

  static kit::StoreCall quorum() {
    kit::StoreCall c;
    c.consistency = "LOCAL_QUORUM";
    return c;
  }

  bank::testing::BankTestEnv env_;
  bank::testing::FakeAccount account_;
  bank::testing::FakeFraud fraud_;
  bank::testing::FakeLedger ledger_;
  std::unique_ptr<grpc::Server> account_server_, fraud_server_, ledger_server_;
  std::string account_address_, fraud_address_, ledger_address_;
  std::unique_ptr<Transfers> transfers_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<pb::P2p::Stub> stub_;
};

TEST_F(P2pTest, TransferPostsOneEntrySetAndPublishesOneEventPerSide) {
  open();
  pb::TransferRecord t;
  grpc::Status s = send("k-1", "alice", "bob", 2500, &t);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(t.state(), pb::TRANSFER_COMPLETED);
  EXPECT_FALSE(t.replayed());
  EXPECT_FALSE(t.entryset_id().empty());
  EXPECT_EQ(ledger_.balance("account:alice:main"), 7500);
  EXPECT_EQ(ledger_.balance("account:bob:main"), 2500);

  auto posted = ledger_.posted();
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].idempotency_key(), "p2p:" + t.transfer_id());
  EXPECT_EQ(posted[0].source(), "p2p");
  ASSERT_EQ(posted[0].entries_size(), 2);
  EXPECT_EQ(posted[0].entries(0).address(), "account:alice:main");
  EXPECT_EQ(posted[0].entries(0).amount().minor_units(), -2500);
  EXPECT_EQ(posted[0].entries(1).address(), "account:bob:main");
  ASSERT_EQ(posted[0].floors_size(), 1);
  EXPECT_EQ(posted[0].floors(0).minimum_minor_units(), 0) << "alice has no overdraft";
  auto scored = fraud_.last();
  EXPECT_EQ(scored.from_account_id(), "alice");
  EXPECT_EQ(scored.to_account_id(), "bob");
  EXPECT_EQ(scored.amount().minor_units(), 2500);

  auto evs = events();
  ASSERT_EQ(evs.size(), 2u);
  std::set<std::string> sides;
  for (const auto& ev : evs) {
    sides.insert(ev.account_id());
    EXPECT_EQ(ev.transfer().transfer_id(), t.transfer_id());
    EXPECT_EQ(ev.transfer().state(), pb::TRANSFER_COMPLETED);
  }
  EXPECT_EQ(sides, (std::set<std::string>{"alice", "bob"}));

  pb::GetTransferRequest get;
  get.set_transfer_id(t.transfer_id());
  pb::TransferRecord got;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->GetTransfer(&ctx, get, &got).ok());
  EXPECT_EQ(got.state(), pb::TRANSFER_COMPLETED);
  EXPECT_EQ(got.entryset_id(), t.entryset_id());
  EXPECT_EQ(got.reference(), "rent");
  EXPECT_EQ(got.amount().minor_units(), 2500);
}

TEST_F(P2pTest, RetryReturnsTheOriginalTransferAndPostsOnce) {
  open();
  pb::TransferRecord first, retry;
  ASSERT_TRUE(send("k-1", "alice", "bob", 2500, &first).ok());
  ASSERT_TRUE(send("k-1", "alice", "bob", 2500, &retry).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.transfer_id(), first.transfer_id());
  EXPECT_EQ(retry.entryset_id(), first.entryset_id());
  EXPECT_EQ(retry.created_at_us(), first.created_at_us());
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.balance("account:alice:main"), 7500);
  EXPECT_EQ(fraud_.calls(), 1) << "a finished transfer is not scored again";
  EXPECT_EQ(events().size(), 2u);
  // The same key for another transfer is refused.
  pb::TransferRecord other;
  grpc::Status s = send("k-1", "alice", "bob", 9999, &other);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("different request"), std::string::npos) << s.error_message();
}

TEST_F(P2pTest, RetryAfterALostLedgerAnswerFinishesTheTransferWithoutPostingTwice) {
  open();
  ledger_.loseAnswers(1);  // the posting happens but its answer never arrives
  pb::TransferRecord t;
  grpc::Status s = send("k-1", "alice", "bob", 2500, &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("retry with the same idempotency key"), std::string::npos) << s.error_message();
  EXPECT_TRUE(events().empty()) << "nothing is published before the posting is known";

  ASSERT_TRUE(send("k-1", "alice", "bob", 2500, &t).ok());
  EXPECT_EQ(t.state(), pb::TRANSFER_COMPLETED);
  EXPECT_TRUE(t.replayed());
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.calls(), 2);
  EXPECT_EQ(ledger_.balance("account:alice:main"), 7500);
  EXPECT_EQ(fraud_.calls(), 1) << "the retry resumes after the fraud check";
  EXPECT_EQ(events().size(), 2u);
}

TEST_F(P2pTest, LedgerOutageLeavesTheTransferPendingUntilARetry) {
  open();
  ledger_.refuse(1);
  pb::TransferRecord t;
  EXPECT_EQ(send("k-1", "alice", "bob", 2500, &t).error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(send("k-1", "alice", "bob", 2500, &t).ok());
  EXPECT_EQ(t.state(), pb::TRANSFER_COMPLETED);
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.balance("account:bob:main"), 2500);
}

TEST_F(P2pTest, InsufficientFundsIsDeclinedAndStaysDeclinedOnRetry) {
  open();
  pb::TransferRecord t;
  ASSERT_TRUE(send("k-1", "alice", "bob", 10'001, &t).ok());
  EXPECT_EQ(t.state(), pb::TRANSFER_DECLINED);
  EXPECT_EQ(t.decline_reason(), "insufficient_funds");
  EXPECT_TRUE(t.entryset_id().empty());
  EXPECT_EQ(ledger_.balance("account:alice:main"), 10'000);
  auto evs = events();
  ASSERT_EQ(evs.size(), 1u) << "a declined transfer concerns the payer only";
  EXPECT_EQ(evs[0].account_id(), "alice");
  EXPECT_EQ(evs[0].transfer().state(), pb::TRANSFER_DECLINED);

  pb::TransferRecord retry;
  ASSERT_TRUE(send("k-1", "alice", "bob", 10'001, &retry).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.state(), pb::TRANSFER_DECLINED);
  EXPECT_EQ(retry.transfer_id(), t.transfer_id());
  EXPECT_EQ(ledger_.calls(), 1);
}

TEST_F(P2pTest, OverdraftIsTheFloorOfThePayer) {
  open();
  pb::TransferRecord within, beyond;
  ASSERT_TRUE(send("k-1", "carol", "bob", 5000, &within).ok());
  EXPECT_EQ(within.state(), pb::TRANSFER_COMPLETED);
  EXPECT_EQ(ledger_.balance("account:carol:main"), -5000);
  ASSERT_TRUE(send("k-2", "carol", "bob", 1, &beyond).ok());
  EXPECT_EQ(beyond.state(), pb::TRANSFER_DECLINED);
  EXPECT_EQ(beyond.decline_reason(), "insufficient_funds");
}

TEST_F(P2pTest, FraudBlockDeclinesWithoutTouchingTheLedger) {
  open();
  fraud_.answer(fraudpb::BLOCK, 90, "velocity; amount");
  pb::TransferRecord t;
  ASSERT_TRUE(send("k-1", "alice", "bob", 2500, &t).ok());
  EXPECT_EQ(t.state(), pb::TRANSFER_DECLINED);
  EXPECT_EQ(t.decline_reason(), "fraud_blocked");
  EXPECT_EQ(ledger_.calls(), 0);
  EXPECT_EQ(ledger_.balance("account:alice:main"), 10'000);
}

TEST_F(P2pTest, SlowFraudFailsClosedWhenThePolicySaysSo) {
  open(FraudPolicy::kFailClosed);
  fraud_.hang(true);
  pb::TransferRecord t;
  ASSERT_TRUE(send("k-1", "alice", "bob", 2500, &t).ok());
  EXPECT_EQ(t.state(), pb::TRANSFER_DECLINED);
  EXPECT_EQ(t.decline_reason(), "fraud_unavailable");
  EXPECT_EQ(ledger_.calls(), 0);
}

TEST_F(P2pTest, SlowFraudFailsOpenWhenThePolicySaysSo) {
  open(FraudPolicy::kFailOpen);
  fraud_.hang(true);
  pb::TransferRecord t;
  ASSERT_TRUE(send("k-1", "alice", "bob", 2500, &t).ok());
  EXPECT_EQ(t.state(), pb::TRANSFER_COMPLETED);
  EXPECT_EQ(fraud_.calls(), 1);
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.balance("account:bob:main"), 2500);
}

TEST_F(P2pTest, PolicyComesFromTheEnvironment) {
  auto open_policy = TransfersOptions::fromConfig(
      kit::Config(Vars{{"P2P_FRAUD_POLICY", "fail_open"}, {"P2P_FRAUD_TIMEOUT", "150ms"}}));
  ASSERT_TRUE(open_policy.ok()) << open_policy.status().toString();
  EXPECT_EQ(open_policy->fraud_policy, FraudPolicy::kFailOpen);
  EXPECT_EQ(open_policy->fraud_timeout, 150ms);
  auto bad = TransfersOptions::fromConfig(kit::Config(Vars{{"P2P_FRAUD_POLICY", "maybe"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("P2P_FRAUD_POLICY"), std::string::npos);
}

TEST_F(P2pTest, BadRequestsAreRefusedWithTheField) {
  open();
  pb::TransferRecord t;
  grpc::Status self = send("k-1", "alice", "alice", 100, &t);
  EXPECT_EQ(self.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(self.error_message().find("to_account_id"), std::string::npos) << self.error_message();
  grpc::Status zero = send("k-2", "alice", "bob", 0, &t);
  EXPECT_EQ(zero.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(zero.error_message().find("amount.minor_units"), std::string::npos) << zero.error_message();
  EXPECT_EQ(send("k-3", "alice", "bob", -5, &t).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(send("", "alice", "bob", 5, &t).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(send("k-4", "alice", "bob", 5, &t, "gbp").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status unknown = send("k-5", "alice", "nobody", 100, &t);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown.error_message().find("to_account_id"), std::string::npos) << unknown.error_message();
  grpc::Status currency = send("k-6", "alice", "euro", 100, &t);
  EXPECT_EQ(currency.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(currency.error_message().find("EUR"), std::string::npos) << currency.error_message();
  grpc::Status frozen = send("k-7", "frozen", "bob", 100, &t);
  EXPECT_EQ(frozen.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(frozen.error_message().find("frozen"), std::string::npos) << frozen.error_message();
  EXPECT_EQ(ledger_.calls(), 0);
  EXPECT_EQ(fraud_.calls(), 0);
  EXPECT_TRUE(events().empty());

  pb::GetTransferRequest get;
  get.set_transfer_id("tr_missing");
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->GetTransfer(&ctx, get, &t).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(P2pTest, SweeperFinishesATransferWhoseLedgerAnswerWasLostExactlyOnce) {
  open();
  // The posting happens, its answer is lost and the caller never retries: PENDING.
  ledger_.loseAnswers(1);
  pb::TransferRecord t;
  EXPECT_EQ(send("k-1", "alice", "bob", 2500, &t).error_code(), grpc::StatusCode::UNAVAILABLE);
  const std::string id = transferIdOf("k-1");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(listedOpen(), 1);

  bank::SweepReport young = transfers_->sweepOnce();
  EXPECT_EQ(young.examined, 1);
  EXPECT_EQ(young.resolved, 0) << "a transfer younger than the pending timeout may still be in flight";
  EXPECT_EQ(ledger_.calls(), 1);

  env_.clock_.advance(std::chrono::minutes(2));
  bank::SweepReport swept = transfers_->sweepOnce();
  EXPECT_EQ(swept.resolved, 1);
  auto after = transfers_->getTransfer(id);
  ASSERT_TRUE(after.ok()) << after.status().toString();
  EXPECT_EQ(after->state(), pb::TRANSFER_COMPLETED);
  EXPECT_EQ(ledger_.posted().size(), 1u) << "the sweep re-sent the same posting; the ledger applied it once";
  EXPECT_EQ(ledger_.balance("account:alice:main"), 7500);
  EXPECT_EQ(ledger_.balance("account:bob:main"), 2500);
  EXPECT_EQ(events().size(), 2u);
  EXPECT_EQ(listedOpen(), 0);

  // Nothing left for a later sweep, and the caller's late retry gets the same transfer.
  EXPECT_EQ(transfers_->sweepOnce().examined, 0);
  ASSERT_TRUE(send("k-1", "alice", "bob", 2500, &t).ok());
  EXPECT_TRUE(t.replayed());
  EXPECT_EQ(t.transfer_id(), id);
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.calls(), 2);
}

TEST_F(P2pTest, SweeperDeclinesAPendingTransferThePayerCanNoLongerAfford) {
  open();
  ledger_.refuse(1);  // the ledger was down: nothing posted, the transfer stays PENDING
  pb::TransferRecord t;
  EXPECT_EQ(send("k-1", "alice", "bob", 2500, &t).error_code(), grpc::StatusCode::UNAVAILABLE);
  const std::string id = transferIdOf("k-1");
  ledger_.setBalance("account:alice:main", 1000);  // spent meanwhile
  env_.clock_.advance(std::chrono::minutes(2));
  EXPECT_EQ(transfers_->sweepOnce().resolved, 1);
  auto after = transfers_->getTransfer(id);
  ASSERT_TRUE(after.ok()) << after.status().toString();
  EXPECT_EQ(after->state(), pb::TRANSFER_DECLINED);
  EXPECT_EQ(after->decline_reason(), "insufficient_funds");
  EXPECT_TRUE(ledger_.posted().empty());
  EXPECT_EQ(ledger_.balance("account:bob:main"), 0);
  EXPECT_EQ(listedOpen(), 0);
}

TEST_F(P2pTest, SweeperKeepsATransferListedWhileTheLedgerIsDownAndFinishesItLater) {
  open();
  ledger_.refuse(2);  // the first attempt and the first sweep both meet the outage
  pb::TransferRecord t;
  EXPECT_EQ(send("k-1", "alice", "bob", 2500, &t).error_code(), grpc::StatusCode::UNAVAILABLE);
  env_.clock_.advance(std::chrono::minutes(2));
  bank::SweepReport failed = transfers_->sweepOnce();
  EXPECT_EQ(failed.failed, 1);
  EXPECT_EQ(listedOpen(), 1);
  // The failed sweep released its claim: the next one does not wait for it to lapse.
  bank::SweepReport done = transfers_->sweepOnce();
  EXPECT_EQ(done.resolved, 1);
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.balance("account:bob:main"), 2500);
}

TEST_F(P2pTest, SweeperDropsAListingWhoseTransferWasNeverWrittenAndOneAlreadyFinished) {
  open();
  // A process listed a transfer and died before writing its row (no money moved), and
  // another finished a transfer and died before taking it off the list.
  pb::TransferRecord t;
  ASSERT_TRUE(send("k-done", "alice", "bob", 100, &t).ok());
  for (const std::string& id : {std::string("tr_never_written"), t.transfer_id()}) {
    ASSERT_TRUE(env_.tamper("INSERT INTO p2p.open_transfers (bucket, item_id, since_us, claimed_us) VALUES (" +
                            std::to_string(bank::bucketOf(id, bank::p2p_schema::kOpenBuckets)) + ", '" + id +
                            "', " + std::to_string(toMicros(env_.clock_.now())) + ", 0)")
                    .ok());
  }
  ASSERT_EQ(listedOpen(), 2);
  env_.clock_.advance(std::chrono::minutes(2));
  bank::SweepReport r = transfers_->sweepOnce();
  EXPECT_EQ(r.resolved, 2);
  EXPECT_EQ(listedOpen(), 0);
  EXPECT_EQ(ledger_.posted().size(), 1u) << "only the finished transfer's own posting";
  EXPECT_EQ(events().size(), 2u) << "nothing published again";
}

TEST_F(P2pTest, TwoInstancesSweepingAtOnceFinishATransferOnce) {
  open();
  ledger_.loseAnswers(1);
  pb::TransferRecord t;
  EXPECT_EQ(send("k-1", "alice", "bob", 2500, &t).error_code(), grpc::StatusCode::UNAVAILABLE);
  TransfersOptions options;
  options.account = grpc::CreateChannel(account_address_, grpc::InsecureChannelCredentials());
  options.fraud = grpc::CreateChannel(fraud_address_, grpc::InsecureChannelCredentials());
  options.ledger = grpc::CreateChannel(ledger_address_, grpc::InsecureChannelCredentials());
  auto other = Transfers::open(*env_.store_, env_.producer_.get(), env_.clock_, options);
  ASSERT_TRUE(other.ok()) << other.status().toString();
  env_.clock_.advance(std::chrono::minutes(2));
  bank::SweepReport a, b;
  std::thread ta([&] { a = transfers_->sweepOnce(); });
  std::thread tb([&] { b = (*other)->sweepOnce(); });
  ta.join();
  tb.join();
  EXPECT_EQ(a.resolved + b.resolved, 1) << "one instance claims the transfer, the other skips it";
  EXPECT_EQ(a.failed + b.failed, 0);
  EXPECT_EQ(ledger_.calls(), 2) << "the first attempt and one sweep";
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.balance("account:bob:main"), 2500);
  EXPECT_EQ(events().size(), 2u) << "published once per side, by the one sweeper";
  EXPECT_EQ(listedOpen(), 0);
}

TEST_F(P2pTest, PendingTimeoutComesFromTheEnvironment) {
  auto options = TransfersOptions::fromConfig(kit::Config(Vars{{"P2P_PENDING_TIMEOUT", "90s"}}));
  ASSERT_TRUE(options.ok()) << options.status().toString();
  EXPECT_EQ(options->pending_timeout, std::chrono::seconds(90));
  auto bad = TransfersOptions::fromConfig(kit::Config(Vars{{"P2P_PENDING_TIMEOUT", "0s"}}));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("P2P_PENDING_TIMEOUT"), std::string::npos) << bad.status().toString();
}

TEST_F(P2pTest, AgainstTheRealLedgerATransferPostsOnceAndAShortfallIsDeclined) {
  // The real ledger in-process on the same store, so its refusal text and its
  // idempotency (which includes the floors) are what p2p relies on.
  auto ledger = ledger::Ledger::open(*env_.store_, nullptr, env_.clock_);
  ASSERT_TRUE(ledger.ok()) << ledger.status().toString();
  auto ledger_service = ledger::makeLedgerGrpcService(**ledger);
  std::string ledger_address;
  auto ledger_server = bank::testing::BankTestEnv::serve(ledger_service.get(), &ledger_address);
  ASSERT_NE(ledger_server, nullptr);
  ::sandbank::bank::ledger::PostEntrySetRequest seed;
  seed.set_idempotency_key("seed-alice");
  auto* from = seed.add_entries();
  from->set_address("external:seed");
  from->mutable_amount()->set_minor_units(-10'000);
  from->mutable_amount()->set_currency("GBP");
  auto* to = seed.add_entries();
  to->set_address("account:alice:main");
  to->mutable_amount()->set_minor_units(10'000);
  to->mutable_amount()->set_currency("GBP");
  ASSERT_TRUE((*ledger)->post(seed).ok());
  open(FraudPolicy::kFailClosed, ledger_address);

  pb::TransferRecord t, retry, short_of_funds;
  grpc::Status s = send("k-1", "alice", "bob", 4000, &t);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(t.state(), pb::TRANSFER_COMPLETED);
  ASSERT_TRUE(send("k-1", "alice", "bob", 4000, &retry).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.entryset_id(), t.entryset_id());
  auto entryset = (*ledger)->getEntrySet(t.entryset_id());
  ASSERT_TRUE(entryset.ok()) << entryset.status().toString();
  EXPECT_EQ(entryset->idempotency_key(), "p2p:" + t.transfer_id());
  auto alice = (*ledger)->balance("account:alice:main", true);
  ASSERT_TRUE(alice.ok()) << alice.status().toString();
  ASSERT_EQ(alice->currencies_size(), 1);
  EXPECT_EQ(alice->currencies(0).settled_minor_units(), 6000) << "posted once";

  ASSERT_TRUE(send("k-2", "alice", "bob", 6001, &short_of_funds).ok());
  EXPECT_EQ(short_of_funds.state(), pb::TRANSFER_DECLINED);
  EXPECT_EQ(short_of_funds.decline_reason(), "insufficient_funds");
  auto bob = (*ledger)->balance("account:bob:main", true);
  ASSERT_TRUE(bob.ok()) << bob.status().toString();
  EXPECT_EQ(bob->currencies(0).settled_minor_units(), 4000);
  server_->Shutdown();
  server_.reset();
  ledger_server->Shutdown();
}

}  // namespace
}  // namespace sandbank::p2p
