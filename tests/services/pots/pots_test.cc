// The pots service over real gRPC with the store and bus in-process and fake account
// and ledger services: pots created once per key for an existing account, listed by
// account; deposits and withdrawals as one EntrySet each, posted once per key (also
// after a lost ledger answer); a pot never below 0 and the main account never below its
// overdraft; events on pot.events; bad requests answered with the field; the recovery
// sweeper finishes a move left pending once, also with two instances racing.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <thread>

#include "../bankcore/bank_test_env.h"
#include "../p2p/fake_upstreams.h"
#include "sandbank/bank/pots.grpc.pb.h"
#include "sandbank/bankcore/pots_schema.h"
#include "sandbank/ledger/ledger.h"
#include "sandbank/ledger/ledger_service.h"
#include "sandbank/pots/pots.h"
#include "sandbank/pots/pots_service.h"

namespace sandbank::pots {
namespace {

class PotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    bus::TopicConfig config;
    config.partitions = bank::testing::BankTestEnv::kPartitions;
    ASSERT_TRUE(env_.broker_->createTopic("pot.events", config).ok());
    account_server_ = bank::testing::BankTestEnv::serve(&account_, &account_address_);
    ledger_server_ = bank::testing::BankTestEnv::serve(&ledger_, &ledger_address_);
    ASSERT_TRUE(account_server_ && ledger_server_);
    account_.add("alice", "GBP", 1000);  // may go 10.00 overdrawn
    account_.add("closed", "GBP", 0, ::sandbank::bank::account::ACCOUNT_CLOSED);
    account_.add("frozen", "GBP", 0, ::sandbank::bank::account::ACCOUNT_FROZEN);
    ledger_.setBalance("account:alice:main", 10'000);
    open(ledger_address_);
  }
  // Opens the service against the ledger at `ledger_address`.
  void open(const std::string& ledger_address) {
    if (server_) server_->Shutdown();
    PotsOptions options;
    options.account = grpc::CreateChannel(account_address_, grpc::InsecureChannelCredentials());
    options.ledger = grpc::CreateChannel(ledger_address, grpc::InsecureChannelCredentials());
    auto p = Pots::open(*env_.store_, env_.producer_.get(), env_.clock_, options);
    ASSERT_TRUE(p.ok()) << p.status().toString();
    pots_ = std::move(p).value();
    service_ = makePotsGrpcService(*pots_);
    server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(server_, nullptr);
    stub_ = pb::Pots::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (account_server_) account_server_->Shutdown();
    if (ledger_server_) ledger_server_->Shutdown();
    env_.stop();
  }

  grpc::Status create(const std::string& key, const std::string& account, const std::string& name, pb::Pot* out,
                      const std::string& currency = "") {
    pb::CreatePotRequest req;
    req.set_idempotency_key(key);
    req.set_account_id(account);
    req.set_name(name);
    req.set_currency(currency);
    grpc::ClientContext ctx;
    return stub_->Create(&ctx, req, out);
  }
  pb::Pot holiday() {
    pb::Pot pot;
    grpc::Status s = create("p-1", "alice", "Holiday", &pot);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return pot;
  }
  grpc::Status move(bool deposit, const std::string& key, const std::string& pot_id, int64_t minor,
                    pb::MoveResponse* out, const std::string& currency = "GBP") {
    pb::MoveRequest req;
    req.set_idempotency_key(key);
    req.set_pot_id(pot_id);
    req.mutable_amount()->set_minor_units(minor);
    req.mutable_amount()->set_currency(currency);
    grpc::ClientContext ctx;
    return deposit ? stub_->Deposit(&ctx, req, out) : stub_->Withdraw(&ctx, req, out);
  }
  std::vector<pb::PotEvent> events() {
    std::vector<pb::PotEvent> out;
    for (const auto& d : env_.records("pot.events")) {
      pb::PotEvent ev;
      EXPECT_TRUE(ev.ParseFromString(d.record->value));
      EXPECT_EQ(d.record->key.value_or(""), ev.pot().account_id()) << "keyed by the owning account";
      out.push_back(ev);
    }
    return out;
  }

  // The move id the key `key` was claimed for (the call that claimed it failed).
  std::string moveIdOf(const std::string& key) {
    auto r = env_.store_->execute("SELECT result_id FROM pots.idempotency WHERE idempotency_key = ?",
                                  {kit::StoreValue::text(key)}, quorum());
    EXPECT_TRUE(r.ok() && r->rows.size() == 1) << (r.ok() ? "no claim for " + key : r.status().toString());
    return r.ok() && !r->rows.empty() ? r->cell(0, "result_id").s : "";
  }
  std::string moveState(const std::string& move_id) {
    auto r = env_.store_->execute("SELECT state FROM pots.moves WHERE move_id = ?", {kit::StoreValue::text(move_id)},
                                  quorum());
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() && !r->rows.empty() ? r->cell(0, "state").s : "";
  }
  int listedOpen() {
    int n = 0;
    for (int b = 0; b < bank::pots_schema::kOpenBuckets; ++b) {
      auto r = env_.store_->execute("SELECT item_id FROM pots.open_moves WHERE bucket = ?",
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
  bank::testing::FakeLedger ledger_;
  std::unique_ptr<grpc::Server> account_server_, ledger_server_;
  std::string account_address_, ledger_address_;
  std::unique_ptr<Pots> pots_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<pb::Pots::Stub> stub_;
};

TEST_F(PotsTest, CreateIsIdempotentAndThePotCanBeReadAndListed) {
  pb::Pot pot = holiday();
  EXPECT_FALSE(pot.pot_id().empty());
  EXPECT_EQ(pot.currency(), "GBP") << "defaults to the account's currency";
  EXPECT_EQ(pot.ledger_address(), "pot:" + pot.pot_id());
  EXPECT_FALSE(pot.replayed());
  pb::Pot again;
  ASSERT_TRUE(create("p-1", "alice", "Holiday", &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.pot_id(), pot.pot_id());
  pb::Pot second;
  ASSERT_TRUE(create("p-2", "alice", "Car", &second).ok());

  pb::GetPotRequest get;
  get.set_pot_id(pot.pot_id());
  pb::Pot got;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Get(&ctx, get, &got).ok());
  EXPECT_EQ(got.name(), "Holiday");
  EXPECT_EQ(got.account_id(), "alice");
  EXPECT_EQ(got.created_at_us(), pot.created_at_us());

  pb::ListPotsRequest list;
  list.set_account_id("alice");
  pb::ListPotsResponse listed;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub_->ListByAccount(&ctx2, list, &listed).ok());
  std::set<std::string> names;
  for (const auto& p : listed.pots()) names.insert(p.name());
  EXPECT_EQ(names, (std::set<std::string>{"Holiday", "Car"}));

  auto evs = events();
  ASSERT_EQ(evs.size(), 2u) << "one CREATED per pot, none for the replay";
  EXPECT_EQ(evs[0].kind(), pb::PotEvent::CREATED);
}

TEST_F(PotsTest, CreateNeedsAnOpenOwnerAccountInItsCurrency) {
  pb::Pot pot;
  grpc::Status missing = create("p-1", "nobody", "Holiday", &pot);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(missing.error_message().find("account_id"), std::string::npos) << missing.error_message();
  EXPECT_EQ(create("p-2", "closed", "Holiday", &pot).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  grpc::Status euro = create("p-3", "alice", "Holiday", &pot, "EUR");
  EXPECT_EQ(euro.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(euro.error_message().find("GBP"), std::string::npos) << euro.error_message();
  EXPECT_EQ(create("", "alice", "Holiday", &pot).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create("p-4", "alice", "", &pot).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(events().empty());
}

TEST_F(PotsTest, DepositAndWithdrawMoveMoneyBetweenMainAndThePot) {
  pb::Pot pot = holiday();
  pb::MoveResponse in, out;
  ASSERT_TRUE(move(true, "d-1", pot.pot_id(), 3000, &in).ok());
  EXPECT_FALSE(in.entryset_id().empty());
  EXPECT_EQ(ledger_.balance("account:alice:main"), 7000);
  EXPECT_EQ(ledger_.balance("pot:" + pot.pot_id()), 3000);
  grpc::Status s = move(false, "w-1", pot.pot_id(), 1000, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ledger_.balance("account:alice:main"), 8000);
  EXPECT_EQ(ledger_.balance("pot:" + pot.pot_id()), 2000);

  auto posted = ledger_.posted();
  ASSERT_EQ(posted.size(), 2u);
  EXPECT_EQ(posted[0].entries(0).address(), "account:alice:main");
  EXPECT_EQ(posted[0].entries(1).address(), "pot:" + pot.pot_id());
  EXPECT_EQ(posted[0].floors(0).minimum_minor_units(), -1000) << "the deposit may use the overdraft";
  EXPECT_EQ(posted[1].entries(0).address(), "pot:" + pot.pot_id());
  EXPECT_EQ(posted[1].floors(0).address(), "pot:" + pot.pot_id());
  EXPECT_EQ(posted[1].floors(0).minimum_minor_units(), 0);
  EXPECT_EQ(posted[0].source(), "pots");

  auto evs = events();
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[1].kind(), pb::PotEvent::DEPOSITED);
  EXPECT_EQ(evs[1].amount().minor_units(), 3000);
  EXPECT_EQ(evs[1].entryset_id(), in.entryset_id());
  EXPECT_EQ(evs[2].kind(), pb::PotEvent::WITHDRAWN);
  EXPECT_EQ(evs[2].entryset_id(), out.entryset_id());
}

TEST_F(PotsTest, OverdrawingThePotIsRefusedWithTheLedgersReason) {
  pb::Pot pot = holiday();
  pb::MoveResponse r;
  ASSERT_TRUE(move(true, "d-1", pot.pot_id(), 500, &r).ok());
  grpc::Status s = move(false, "w-1", pot.pot_id(), 501, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("withdrawal refused: insufficient funds at pot:"), std::string::npos)
      << s.error_message();
  EXPECT_EQ(ledger_.balance("pot:" + pot.pot_id()), 500);
  // The retry gets the same refusal, and no posting.
  grpc::Status again = move(false, "w-1", pot.pot_id(), 501, &r);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(again.error_message().find("original result"), std::string::npos) << again.error_message();
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.calls(), 2);
  EXPECT_EQ(events().size(), 2u) << "created + deposited; nothing for the refusal";
}

TEST_F(PotsTest, DepositRespectsTheMainAccountsOverdraft) {
  pb::Pot pot = holiday();
  pb::MoveResponse r;
  ASSERT_TRUE(move(true, "d-1", pot.pot_id(), 11'000, &r).ok()) << "10.00 of overdraft allowed";
  EXPECT_EQ(ledger_.balance("account:alice:main"), -1000);
  grpc::Status s = move(true, "d-2", pot.pot_id(), 1, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("deposit refused: insufficient funds at account:alice:main"), std::string::npos)
      << s.error_message();
}

TEST_F(PotsTest, RetriedMovesPostOnceAndReportReplayed) {
  pb::Pot pot = holiday();
  pb::MoveResponse first, retry;
  ASSERT_TRUE(move(true, "d-1", pot.pot_id(), 3000, &first).ok());
  ASSERT_TRUE(move(true, "d-1", pot.pot_id(), 3000, &retry).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.entryset_id(), first.entryset_id());
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.balance("pot:" + pot.pot_id()), 3000);
  // The same key for a different amount is another request.
  grpc::Status other = move(true, "d-1", pot.pot_id(), 3001, &retry);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(other.error_message().find("different request"), std::string::npos) << other.error_message();
}

TEST_F(PotsTest, RetryAfterALostLedgerAnswerPostsOnce) {
  pb::Pot pot = holiday();
  ledger_.loseAnswers(1);
  pb::MoveResponse r;
  grpc::Status lost = move(true, "d-1", pot.pot_id(), 3000, &r);
  EXPECT_EQ(lost.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(lost.error_message().find("retry with the same idempotency key"), std::string::npos);
  // The owner's overdraft changes meanwhile: the retry still sends the original posting.
  account_.add("alice", "GBP", 99'999);
  ASSERT_TRUE(move(true, "d-1", pot.pot_id(), 3000, &r).ok());
  EXPECT_TRUE(r.replayed());
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.calls(), 2);
  EXPECT_EQ(ledger_.balance("pot:" + pot.pot_id()), 3000);
  EXPECT_EQ(events().size(), 2u);
}

TEST_F(PotsTest, BadMovesAreRefusedWithTheField) {
  pb::Pot pot = holiday();
  pb::MoveResponse r;
  grpc::Status zero = move(true, "d-1", pot.pot_id(), 0, &r);
  EXPECT_EQ(zero.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(zero.error_message().find("amount.minor_units"), std::string::npos) << zero.error_message();
  EXPECT_EQ(move(true, "", pot.pot_id(), 10, &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(move(true, "d-2", "", 10, &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(move(true, "d-3", "pot_missing", 10, &r).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status euro = move(true, "d-4", pot.pot_id(), 10, &r, "EUR");
  EXPECT_EQ(euro.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(euro.error_message().find("amount.currency"), std::string::npos) << euro.error_message();
  EXPECT_EQ(ledger_.calls(), 0);
}

TEST_F(PotsTest, AFrozenAccountCannotPayIntoItsPot) {
  pb::Pot pot;
  ASSERT_TRUE(create("p-1", "frozen", "Rainy day", &pot).ok());
  pb::MoveResponse r;
  grpc::Status s = move(true, "d-1", pot.pot_id(), 10, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("not active"), std::string::npos) << s.error_message();
  EXPECT_EQ(ledger_.calls(), 0);
}

TEST_F(PotsTest, SweeperFinishesADepositWhoseLedgerAnswerWasLostExactlyOnce) {
  pb::Pot pot = holiday();
  ledger_.loseAnswers(1);  // posted, answer lost, the caller gone: the move stays pending
  pb::MoveResponse r;
  EXPECT_EQ(move(true, "d-1", pot.pot_id(), 2500, &r).error_code(), grpc::StatusCode::UNAVAILABLE);
  const std::string id = moveIdOf("d-1");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(moveState(id), "pending");
  EXPECT_EQ(pots_->sweepOnce().resolved, 0) << "too young: its own call may still be on it";

  env_.clock_.advance(std::chrono::minutes(2));
  bank::SweepReport swept = pots_->sweepOnce();
  EXPECT_EQ(swept.resolved, 1);
  EXPECT_EQ(moveState(id), "posted");
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.balance("account:alice:main"), 7500);
  EXPECT_EQ(ledger_.balance("pot:" + pot.pot_id()), 2500);
  EXPECT_EQ(listedOpen(), 0);
  EXPECT_EQ(pots_->sweepOnce().examined, 0);
  auto evs = events();
  ASSERT_EQ(evs.size(), 2u) << "CREATED, then one DEPOSITED from the sweep";
  EXPECT_EQ(evs[1].kind(), pb::PotEvent::DEPOSITED);

  ASSERT_TRUE(move(true, "d-1", pot.pot_id(), 2500, &r).ok());
  EXPECT_TRUE(r.replayed());
  EXPECT_EQ(ledger_.posted().size(), 1u);
}

TEST_F(PotsTest, SweeperRecordsAPendingWithdrawalThePotCanNoLongerCoverAsRefused) {
  pb::Pot pot = holiday();
  ledger_.setBalance("pot:" + pot.pot_id(), 3000);
  ledger_.refuse(1);  // the ledger was down: nothing posted
  pb::MoveResponse r;
  EXPECT_EQ(move(false, "w-1", pot.pot_id(), 2000, &r).error_code(), grpc::StatusCode::UNAVAILABLE);
  const std::string id = moveIdOf("w-1");
  ledger_.setBalance("pot:" + pot.pot_id(), 1000);  // withdrawn meanwhile by another move
  env_.clock_.advance(std::chrono::minutes(2));
  EXPECT_EQ(pots_->sweepOnce().resolved, 1);
  EXPECT_EQ(moveState(id), "refused");
  EXPECT_TRUE(ledger_.posted().empty());
  EXPECT_EQ(listedOpen(), 0);
  EXPECT_EQ(move(false, "w-1", pot.pot_id(), 2000, &r).error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << "the retry gets the sweep's outcome";
}

TEST_F(PotsTest, TwoInstancesSweepingAtOnceFinishAMoveOnce) {
  pb::Pot pot = holiday();
  ledger_.refuse(1);
  pb::MoveResponse r;
  EXPECT_EQ(move(true, "d-1", pot.pot_id(), 2500, &r).error_code(), grpc::StatusCode::UNAVAILABLE);
  PotsOptions options;
  options.account = grpc::CreateChannel(account_address_, grpc::InsecureChannelCredentials());
  options.ledger = grpc::CreateChannel(ledger_address_, grpc::InsecureChannelCredentials());
  auto other = Pots::open(*env_.store_, env_.producer_.get(), env_.clock_, options);
  ASSERT_TRUE(other.ok()) << other.status().toString();
  env_.clock_.advance(std::chrono::minutes(2));
  bank::SweepReport a, b;
  std::thread ta([&] { a = pots_->sweepOnce(); });
  std::thread tb([&] { b = (*other)->sweepOnce(); });
  ta.join();
  tb.join();
  EXPECT_EQ(a.resolved + b.resolved, 1);
  EXPECT_EQ(a.failed + b.failed, 0);
  EXPECT_EQ(ledger_.calls(), 2) << "the refused first attempt and one sweep";
  EXPECT_EQ(ledger_.posted().size(), 1u);
  EXPECT_EQ(ledger_.balance("pot:" + pot.pot_id()), 2500);
  EXPECT_EQ(events().size(), 2u) << "CREATED and one DEPOSITED";
  EXPECT_EQ(listedOpen(), 0);
}

TEST_F(PotsTest, PendingTimeoutComesFromTheEnvironment) {
  using Vars = std::map<std::string, std::string>;
  auto options = PotsOptions::fromConfig(kit::Config(Vars{{"POTS_PENDING_TIMEOUT", "90s"}}));
  ASSERT_TRUE(options.ok()) << options.status().toString();
  EXPECT_EQ(options->pending_timeout, std::chrono::seconds(90));
  auto bad = PotsOptions::fromConfig(kit::Config(Vars{{"POTS_PENDING_TIMEOUT", "0s"}}));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("POTS_PENDING_TIMEOUT"), std::string::npos) << bad.status().toString();
}

TEST_F(PotsTest, AgainstTheRealLedgerAPotNeverGoesBelowZero) {
  // The real ledger in-process on the same store: its refusal text and its idempotency
  // are what the pots service maps and relies on.
  auto ledger = ledger::Ledger::open(*env_.store_, nullptr, env_.clock_);
  ASSERT_TRUE(ledger.ok()) << ledger.status().toString();
  auto ledger_service = ledger::makeLedgerGrpcService(**ledger);
  std::string ledger_address;
  auto ledger_server = bank::testing::BankTestEnv::serve(ledger_service.get(), &ledger_address);
  ASSERT_NE(ledger_server, nullptr);
  open(ledger_address);
  pb::Pot pot = holiday();
  pb::MoveResponse in, retry, out;
  // alice has nothing but a 10.00 overdraft: a 10.00 deposit fits, a penny more does not.
  ASSERT_TRUE(move(true, "d-1", pot.pot_id(), 1000, &in).ok());
  ASSERT_TRUE(move(true, "d-1", pot.pot_id(), 1000, &retry).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.entryset_id(), in.entryset_id());
  grpc::Status over = move(true, "d-2", pot.pot_id(), 1, &out);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(over.error_message().find("deposit refused: insufficient funds"), std::string::npos)
      << over.error_message();
  grpc::Status below_zero = move(false, "w-1", pot.pot_id(), 1001, &out);
  EXPECT_EQ(below_zero.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(below_zero.error_message().find("withdrawal refused: insufficient funds"), std::string::npos)
      << below_zero.error_message();
  ASSERT_TRUE(move(false, "w-2", pot.pot_id(), 1000, &out).ok());
  auto balance = (*ledger)->balance("pot:" + pot.pot_id(), true);
  ASSERT_TRUE(balance.ok()) << balance.status().toString();
  ASSERT_EQ(balance->currencies_size(), 1);
  EXPECT_EQ(balance->currencies(0).settled_minor_units(), 0);
  auto main = (*ledger)->balance("account:alice:main", true);
  ASSERT_TRUE(main.ok()) << main.status().toString();
  EXPECT_EQ(main->currencies(0).settled_minor_units(), 0);
  server_->Shutdown();
  server_.reset();
  ledger_server->Shutdown();
}

}  // namespace
}  // namespace sandbank::pots
