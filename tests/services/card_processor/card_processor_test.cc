// The card processor over real gRPC with the store and the bus in-process: the real card
// service and ledger (the ledger behind a wrapper that counts calls and can lose a reply),
// fake account and fraud services. Approvals, every decline reason, fraud timeouts under
// both policies, retransmissions, clearing, reversal, expiry on the ManualClock, states
// that only move forward, and bad requests.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "../bankcore/bank_test_env.h"
#include "../card/fake_account.h"
#include "sandbank/bank/card_processor.grpc.pb.h"
#include "sandbank/bank/fraud.grpc.pb.h"
#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/card/card_service.h"
#include "sandbank/card/cards.h"
#include "sandbank/card_processor/card_processor.h"
#include "sandbank/card_processor/card_processor_service.h"
#include "sandbank/ledger/ledger.h"

namespace sandbank::card_processor {
namespace {

namespace account_pb = ::sandbank::bank::account;
namespace card_pb = ::sandbank::bank::card;
namespace fraud_pb = ::sandbank::bank::fraud;
namespace ledger_pb = ::sandbank::bank::ledger;

constexpr auto kSevenDays = std::chrono::hours(24 * 7);

// Scores ALLOW, BLOCK, fails with UNAVAILABLE, or hangs until the caller's deadline passes.
class FakeFraud final : public fraud_pb::Fraud::Service {
 public:
  enum class Mode { kAllow, kBlock, kUnavailable, kHang };
  void setMode(Mode m) { mode_ = m; }
  int calls() const { return calls_; }

  grpc::Status ScoreAuthorisation(grpc::ServerContext* ctx, const fraud_pb::ScoreAuthorisationRequest*,
                                  fraud_pb::Score* out) override {
    ++calls_;
    switch (mode_.load()) {
      case Mode::kAllow: out->set_verdict(fraud_pb::ALLOW); return grpc::Status::OK;
      case Mode::kBlock:
        out->set_verdict(fraud_pb::BLOCK);
        out->add_rules_fired("amount");
        return grpc::Status::OK;
      case Mode::kUnavailable: return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fraud is down");
      case Mode::kHang: {
        // Answers only after the client has given up (its deadline cancels the call).
        std::unique_lock lock(mu_);
        while (!ctx->IsCancelled()) cv_.wait_for(lock, std::chrono::milliseconds(5));
        out->set_verdict(fraud_pb::ALLOW);
        return grpc::Status::OK;
      }
    }
    return grpc::Status::OK;
  }

 private:
  std::atomic<Mode> mode_{Mode::kAllow};
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

// The real ledger behind the RPCs the card processor uses, counting them; it can perform
// the next CreateHold and then answer UNAVAILABLE, as if the reply were lost.
class CountingLedger final : public ledger_pb::Ledger::Service {
 public:
  explicit CountingLedger(ledger::Ledger& ledger) : ledger_(ledger) {}
  std::atomic<int> create_hold{0}, release_hold{0}, settle_hold{0}, post{0};
  std::atomic<bool> lose_next_hold_reply{false};
  std::atomic<bool> lose_next_settle_reply{false};  // settles, then answers UNAVAILABLE
  std::atomic<bool> fail_next_release{false};       // answers UNAVAILABLE without releasing

  template <class T>
  static grpc::Status reply(Result<T> r, T* out) {
    if (!r.ok()) return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
    *out = std::move(r).value();
    return grpc::Status::OK;
  }
  grpc::Status CreateHold(grpc::ServerContext*, const ledger_pb::CreateHoldRequest* r, ledger_pb::Hold* out) override {
    ++create_hold;
    grpc::Status s = reply(ledger_.createHold(*r), out);
    if (s.ok() && lose_next_hold_reply.exchange(false)) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "reply lost");
    return s;
  }
  grpc::Status ReleaseHold(grpc::ServerContext*, const ledger_pb::ReleaseHoldRequest* r, ledger_pb::Hold* out) override {
    if (fail_next_release.exchange(false)) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "ledger unreachable");
    ++release_hold;
    return reply(ledger_.releaseHold(*r), out);
  }
  grpc::Status SettleHold(grpc::ServerContext*, const ledger_pb::SettleHoldRequest* r,
                          ledger_pb::SettleHoldResponse* out) override {
    ++settle_hold;
    grpc::Status s = reply(ledger_.settleHold(*r), out);
    if (s.ok() && lose_next_settle_reply.exchange(false)) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "reply lost");
    return s;
  }
  grpc::Status PostEntrySet(grpc::ServerContext*, const ledger_pb::PostEntrySetRequest* r,
                            ledger_pb::PostEntrySetResponse* out) override {
    ++post;
    return reply(ledger_.post(*r), out);
  }
  grpc::Status ListHolds(grpc::ServerContext*, const ledger_pb::ListHoldsRequest* r,
                         ledger_pb::ListHoldsResponse* out) override {
    return reply(ledger_.listHolds(r->address(), r->active_only()), out);
  }

 private:
  ledger::Ledger& ledger_;
};

class CardProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    for (const char* topic : {"card.events", "card.authorisations", "card.clearings"}) {
      bus::TopicConfig config;
      config.partitions = bank::testing::BankTestEnv::kPartitions;
      ASSERT_TRUE(env_.broker_->createTopic(topic, config).ok());
    }
    accounts_.put("acc_alice", account_pb::ACCOUNT_ACTIVE, /*overdraft=*/0);
    accounts_.put("acc_over", account_pb::ACCOUNT_ACTIVE, /*overdraft=*/5000);
    accounts_.put("acc_frozen", account_pb::ACCOUNT_FROZEN);
    accounts_.put("acc_euro", account_pb::ACCOUNT_ACTIVE, /*overdraft=*/0, "EUR");
    auto led = ledger::Ledger::open(*env_.store_, env_.producer_.get(), env_.clock_);
    ASSERT_TRUE(led.ok()) << led.status().toString();
    ledger_ = std::move(led).value();
    counting_ledger_ = std::make_unique<CountingLedger>(*ledger_);

    // One server for the upstreams: the fakes, the real card service and the ledger.
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&accounts_);
    builder.RegisterService(&fraud_);
    builder.RegisterService(counting_ledger_.get());
    upstream_server_ = builder.BuildAndStart();
    ASSERT_NE(upstream_server_, nullptr);
    upstream_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
    auto cards = card::Cards::open(*env_.store_, env_.producer_.get(), env_.clock_, upstream_);
    ASSERT_TRUE(cards.ok()) << cards.status().toString();
    cards_ = std::move(cards).value();
    card_service_ = card::makeCardGrpcService(*cards_);
    card_server_ = bank::testing::BankTestEnv::serve(card_service_.get(), &card_address_);
    ASSERT_NE(card_server_, nullptr);

    alice_card_ = issue("acc_alice");
    over_card_ = issue("acc_over");
    frozen_account_card_ = issue("acc_frozen_later");
    euro_card_ = issue("acc_euro");
    fund("acc_alice", 10000);
  }

  void TearDown() override {
    sweeper_.reset();
    if (server_) server_->Shutdown();
    if (card_server_) card_server_->Shutdown();
    if (upstream_server_) upstream_server_->Shutdown();
    env_.stop();
  }

  // Opens the processor (again) with `policy` and serves it.
  void openProcessor(FraudPolicy policy = FraudPolicy::kFailOpen) {
    if (server_) server_->Shutdown();
    CardProcessorOptions options;
    options.fraud_policy = policy;
    options.fraud_timeout = std::chrono::milliseconds(100);
    Upstreams up;
    up.card = grpc::CreateChannel(card_address_, grpc::InsecureChannelCredentials());
    up.account = upstream_;
    up.fraud = upstream_;
    up.ledger = upstream_;
    auto p = CardProcessor::open(*env_.store_, env_.producer_.get(), env_.clock_, up, options);
    ASSERT_TRUE(p.ok()) << p.status().toString();
    processor_ = std::move(p).value();
    service_ = makeCardProcessorGrpcService(*processor_);
    server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(server_, nullptr);
    stub_ = pb::CardProcessor::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }

  // A card for `account_id` (put in the fake as active first; acc_frozen_later is frozen
  // after its card is issued).
  card_pb::CardRecord issue(const std::string& account_id) {
    if (account_id == "acc_frozen_later") accounts_.put(account_id, account_pb::ACCOUNT_ACTIVE);
    card_pb::IssueRequest req;
    req.set_idempotency_key("issue-" + account_id);
    req.set_account_id(account_id);
    auto c = cards_->issue(req);
    EXPECT_TRUE(c.ok()) << c.status().toString();
    if (account_id == "acc_frozen_later") accounts_.put(account_id, account_pb::ACCOUNT_FROZEN);
    return c.ok() ? *c : card_pb::CardRecord{};
  }

  void fund(const std::string& account_id, int64_t amount) {
    ledger_pb::PostEntrySetRequest req;
    req.set_idempotency_key("fund-" + account_id + "-" + std::to_string(amount));
    auto* from = req.add_entries();
    from->set_address("external:test:funding");
    from->mutable_amount()->set_minor_units(-amount);
    from->mutable_amount()->set_currency("GBP");
    auto* to = req.add_entries();
    to->set_address("account:" + account_id + ":main");
    to->mutable_amount()->set_minor_units(amount);
    to->mutable_amount()->set_currency("GBP");
    auto r = ledger_->post(req);
    ASSERT_TRUE(r.ok()) << r.status().toString();
  }

  grpc::Status authorise(const std::string& key, const std::string& token, int64_t amount, pb::AuthoriseResponse* out,
                         const std::string& currency = "GBP") {
    pb::AuthoriseRequest req;
    req.set_idempotency_key(key);
    req.set_card_token(token);
    req.mutable_amount()->set_minor_units(amount);
    req.mutable_amount()->set_currency(currency);
    req.mutable_merchant()->set_merchant_id("m-1");
    req.mutable_merchant()->set_name("Corner Shop");
    req.mutable_merchant()->set_category_code("5411");
    req.mutable_merchant()->set_country("GB");
    grpc::ClientContext ctx;
    return stub_->Authorise(&ctx, req, out);
  }
  pb::AuthoriseResponse authorised(const std::string& key, const std::string& token, int64_t amount) {
    pb::AuthoriseResponse r;
    grpc::Status s = authorise(key, token, amount, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r;
  }
  grpc::Status clear(const std::string& key, const std::string& auth_id, int64_t amount, pb::ClearingResponse* out,
                     const std::string& currency = "GBP") {
    pb::ClearingRequest req;
    req.set_idempotency_key(key);
    req.set_authorisation_id(auth_id);
    req.mutable_amount()->set_minor_units(amount);
    req.mutable_amount()->set_currency(currency);
    grpc::ClientContext ctx;
    return stub_->ApplyClearing(&ctx, req, out);
  }
  grpc::Status reverse(const std::string& key, const std::string& auth_id, pb::ReverseResponse* out) {
    pb::ReverseRequest req;
    req.set_idempotency_key(key);
    req.set_authorisation_id(auth_id);
    grpc::ClientContext ctx;
    return stub_->Reverse(&ctx, req, out);
  }
  int expire() {
    pb::ExpireHoldsRequest req;
    pb::ExpireHoldsResponse out;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ExpireHolds(&ctx, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.expired();
  }
  pb::AuthorisationRecord record(const std::string& auth_id) {
    auto r = processor_->getAuthorisation(auth_id);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : pb::AuthorisationRecord{};
  }
  // (settled, held, available) in GBP at an address, verified against a recomputation.
  std::tuple<int64_t, int64_t, int64_t> balance(const std::string& address) {
    auto b = ledger_->balance(address, /*verify=*/true);
    EXPECT_TRUE(b.ok()) << b.status().toString();
    if (b.ok()) {
      for (const auto& c : b->currencies()) {
        if (c.currency() == "GBP") return {c.settled_minor_units(), c.held_minor_units(), c.available_minor_units()};
      }
    }
    return {0, 0, 0};
  }
  int activeHolds(const std::string& account_id) {
    auto h = ledger_->listHolds("account:" + account_id + ":main", /*active_only=*/true);
    EXPECT_TRUE(h.ok()) << h.status().toString();
    return h.ok() ? h->holds_size() : -1;
  }
  std::vector<pb::AuthorisationRecord> authorisationEvents() {
    std::vector<pb::AuthorisationRecord> out;
    for (const auto& d : env_.records("card.authorisations")) {
      pb::AuthorisationEvent ev;
      EXPECT_TRUE(ev.ParseFromString(d.record->value));
      if (!ev.authorisation().account_id().empty()) {
        EXPECT_EQ(d.record->key.value_or(""), ev.authorisation().account_id());
      }
      out.push_back(ev.authorisation());
    }
    return out;
  }
  std::vector<pb::ClearingEvent> clearingEvents() {
    std::vector<pb::ClearingEvent> out;
    for (const auto& d : env_.records("card.clearings")) {
      pb::ClearingEvent ev;
      EXPECT_TRUE(ev.ParseFromString(d.record->value));
      EXPECT_EQ(d.record->key.value_or(""), ev.account_id());
      out.push_back(ev);
    }
    return out;
  }

  bank::testing::BankTestEnv env_;
  bank::testing::FakeAccount accounts_;
  FakeFraud fraud_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<CountingLedger> counting_ledger_;
  std::unique_ptr<grpc::Server> upstream_server_;
  std::shared_ptr<grpc::Channel> upstream_;
  std::unique_ptr<card::Cards> cards_;
  std::unique_ptr<grpc::Service> card_service_;
  std::unique_ptr<grpc::Server> card_server_;
  std::string card_address_;
  card_pb::CardRecord alice_card_, over_card_, frozen_account_card_, euro_card_;
  std::unique_ptr<CardProcessor> processor_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<pb::CardProcessor::Stub> stub_;
  std::unique_ptr<HoldSweeper> sweeper_;
};

TEST_F(CardProcessorTest, ApprovalHoldsTheAmountAndIsPublished) {
  openProcessor();
  pb::AuthoriseResponse r = authorised("msg-1", alice_card_.token(), 2500);
  EXPECT_EQ(r.decision(), pb::APPROVED);
  EXPECT_FALSE(r.hold_id().empty());
  EXPECT_FALSE(r.replayed());
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(10000, 2500, 7500));
  pb::AuthorisationRecord rec = record(r.authorisation_id());
  EXPECT_EQ(rec.state(), pb::AUTH_APPROVED);
  EXPECT_EQ(rec.account_id(), "acc_alice");
  EXPECT_EQ(rec.card_id(), alice_card_.card_id());
  EXPECT_EQ(rec.hold_id(), r.hold_id());
  EXPECT_EQ(rec.fraud_check(), "allow");
  EXPECT_EQ(rec.merchant().category_code(), "5411");
  EXPECT_EQ(rec.expires_at_us(), toMicros(env_.clock_.now()) + std::chrono::microseconds(kSevenDays).count());
  auto evs = authorisationEvents();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].authorisation_id(), r.authorisation_id());
  EXPECT_EQ(evs[0].state(), pb::AUTH_APPROVED);
}

TEST_F(CardProcessorTest, EachDeclineCarriesItsReasonAndTakesNoHold) {
  openProcessor();
  card_pb::IssueRequest second;
  second.set_idempotency_key("issue-acc_over-2");
  second.set_account_id("acc_over");
  auto cancelled = cards_->issue(second);
  ASSERT_TRUE(cancelled.ok());
  card_pb::CancelCardRequest cancel;
  cancel.set_idempotency_key("cancel-1");
  cancel.set_card_id(cancelled->card_id());
  ASSERT_TRUE(cards_->cancel(cancel).ok());
  card_pb::IssueRequest third;
  third.set_idempotency_key("issue-acc_alice-2");
  third.set_account_id("acc_alice");
  auto frozen = cards_->issue(third);
  ASSERT_TRUE(frozen.ok());
  card_pb::FreezeRequest freeze;
  freeze.set_idempotency_key("freeze-1");
  freeze.set_card_id(frozen->card_id());
  ASSERT_TRUE(cards_->freeze(freeze).ok());

  struct Case {
    std::string key, token;
    int64_t amount;
    FakeFraud::Mode fraud;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"d-unknown", "tok_nobody", 100, FakeFraud::Mode::kAllow, "card_invalid"},
      {"d-cancelled", cancelled->token(), 100, FakeFraud::Mode::kAllow, "card_invalid"},
      {"d-frozen", frozen->token(), 100, FakeFraud::Mode::kAllow, "card_frozen"},
      {"d-account", frozen_account_card_.token(), 100, FakeFraud::Mode::kAllow, "account_inactive"},
      {"d-currency", euro_card_.token(), 100, FakeFraud::Mode::kAllow, "currency_not_supported"},
      {"d-fraud", alice_card_.token(), 100, FakeFraud::Mode::kBlock, "fraud"},
      {"d-funds", alice_card_.token(), 10001, FakeFraud::Mode::kAllow, "insufficient_funds"},
      {"d-overdraft", over_card_.token(), 5001, FakeFraud::Mode::kAllow, "insufficient_funds"},
  };
  for (const Case& c : cases) {
    fraud_.setMode(c.fraud);
    pb::AuthoriseResponse r = authorised(c.key, c.token, c.amount);
    EXPECT_EQ(r.decision(), pb::DECLINED) << c.key;
    EXPECT_EQ(r.decline_reason(), c.reason) << c.key;
    EXPECT_TRUE(r.hold_id().empty()) << c.key;
    EXPECT_EQ(record(r.authorisation_id()).state(), pb::AUTH_DECLINED) << c.key;
  }
  EXPECT_EQ(activeHolds("acc_alice"), 0);
  EXPECT_EQ(activeHolds("acc_over"), 0);
  // Within the overdraft is fine: 5000 below zero is the floor.
  fraud_.setMode(FakeFraud::Mode::kAllow);
  EXPECT_EQ(authorised("a-overdraft", over_card_.token(), 5000).decision(), pb::APPROVED);
  EXPECT_EQ(balance("account:acc_over:main"), std::make_tuple(0, 5000, -5000));
  // Every decision is published, declines included, with its reason.
  auto evs = authorisationEvents();
  ASSERT_EQ(evs.size(), cases.size() + 1);
  std::map<std::string, std::string> reason_by_key;
  for (const auto& e : evs) reason_by_key[e.idempotency_key()] = e.decline_reason();
  for (const Case& c : cases) EXPECT_EQ(reason_by_key[c.key], c.reason) << c.key;
  EXPECT_EQ(reason_by_key["a-overdraft"], "");
}

TEST_F(CardProcessorTest, FraudTimeoutApprovesUnderFailOpenAndSaysSo) {
  openProcessor(FraudPolicy::kFailOpen);
  fraud_.setMode(FakeFraud::Mode::kHang);
  pb::AuthoriseResponse r = authorised("msg-1", alice_card_.token(), 1000);
  EXPECT_EQ(r.decision(), pb::APPROVED);
  EXPECT_EQ(record(r.authorisation_id()).fraud_check(), "timeout:fail_open");
  fraud_.setMode(FakeFraud::Mode::kUnavailable);
  pb::AuthoriseResponse r2 = authorised("msg-2", alice_card_.token(), 1000);
  EXPECT_EQ(r2.decision(), pb::APPROVED);
  EXPECT_EQ(record(r2.authorisation_id()).fraud_check(), "unavailable:fail_open");
  EXPECT_EQ(activeHolds("acc_alice"), 2);
}

TEST_F(CardProcessorTest, FraudTimeoutDeclinesUnderFailClosedAndSaysSo) {
  openProcessor(FraudPolicy::kFailClosed);
  fraud_.setMode(FakeFraud::Mode::kHang);
  pb::AuthoriseResponse r = authorised("msg-1", alice_card_.token(), 1000);
  EXPECT_EQ(r.decision(), pb::DECLINED);
  EXPECT_EQ(r.decline_reason(), "fraud_timeout");
  EXPECT_EQ(record(r.authorisation_id()).fraud_check(), "timeout:fail_closed");
  fraud_.setMode(FakeFraud::Mode::kUnavailable);
  pb::AuthoriseResponse r2 = authorised("msg-2", alice_card_.token(), 1000);
  EXPECT_EQ(r2.decision(), pb::DECLINED);
  EXPECT_EQ(r2.decline_reason(), "fraud_unavailable");
  EXPECT_EQ(record(r2.authorisation_id()).fraud_check(), "unavailable:fail_closed");
  EXPECT_EQ(activeHolds("acc_alice"), 0);
  // A score that arrives still decides, whatever the policy.
  fraud_.setMode(FakeFraud::Mode::kAllow);
  EXPECT_EQ(authorised("msg-3", alice_card_.token(), 1000).decision(), pb::APPROVED);
}

TEST_F(CardProcessorTest, RetransmissionGetsTheOriginalAnswerAndCreatesNoSecondHold) {
  openProcessor();
  pb::AuthoriseResponse first = authorised("msg-1", alice_card_.token(), 2500);
  pb::AuthoriseResponse again = authorised("msg-1", alice_card_.token(), 2500);
  EXPECT_EQ(again.authorisation_id(), first.authorisation_id());
  EXPECT_EQ(again.hold_id(), first.hold_id());
  EXPECT_EQ(again.decision(), pb::APPROVED);
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(counting_ledger_->create_hold.load(), 1);
  EXPECT_EQ(activeHolds("acc_alice"), 1);
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(10000, 2500, 7500));
  EXPECT_EQ(authorisationEvents().size(), 1u);
  // A decline is replayed too, even though the card is fine by now.
  fraud_.setMode(FakeFraud::Mode::kBlock);
  pb::AuthoriseResponse blocked = authorised("msg-2", alice_card_.token(), 100);
  fraud_.setMode(FakeFraud::Mode::kAllow);
  pb::AuthoriseResponse blocked_again = authorised("msg-2", alice_card_.token(), 100);
  EXPECT_EQ(blocked_again.decision(), pb::DECLINED);
  EXPECT_EQ(blocked_again.decline_reason(), "fraud");
  EXPECT_TRUE(blocked_again.replayed());
  // The same message id for a different request is refused.
  pb::AuthoriseResponse other;
  grpc::Status reused = authorise("msg-1", alice_card_.token(), 999, &other);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(CardProcessorTest, RetransmissionFinishesAnAuthorisationWhoseHoldReplyWasLost) {
  openProcessor();
  counting_ledger_->lose_next_hold_reply = true;
  pb::AuthoriseResponse lost;
  grpc::Status s = authorise("msg-1", alice_card_.token(), 2500, &lost);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("retransmit"), std::string::npos) << s.error_message();
  EXPECT_EQ(activeHolds("acc_alice"), 1);  // the hold was taken; the answer was not
  // Even if fraud would now block, the hold the first attempt took stands, once.
  fraud_.setMode(FakeFraud::Mode::kBlock);
  pb::AuthoriseResponse r = authorised("msg-1", alice_card_.token(), 2500);
  EXPECT_EQ(r.decision(), pb::APPROVED);
  EXPECT_EQ(activeHolds("acc_alice"), 1);
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(10000, 2500, 7500));
  EXPECT_EQ(record(r.authorisation_id()).hold_id(), r.hold_id());
}

TEST_F(CardProcessorTest, UpstreamFailureDecidesNothingAndARetransmissionDecides) {
  openProcessor();
  accounts_.setDown(true);
  pb::AuthoriseResponse r;
  grpc::Status s = authorise("msg-1", alice_card_.token(), 1000, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("account service"), std::string::npos) << s.error_message();
  EXPECT_EQ(activeHolds("acc_alice"), 0);
  EXPECT_TRUE(authorisationEvents().empty());
  accounts_.setDown(false);
  pb::AuthoriseResponse ok = authorised("msg-1", alice_card_.token(), 1000);
  EXPECT_EQ(ok.decision(), pb::APPROVED);
  EXPECT_FALSE(ok.replayed());
}

TEST_F(CardProcessorTest, ClearingSettlesThePresentedAmountOnce) {
  openProcessor();
  pb::AuthoriseResponse a = authorised("msg-1", alice_card_.token(), 2500);
  pb::ClearingResponse c;
  ASSERT_TRUE(clear("clr-1", a.authorisation_id(), 2700, &c).ok());  // a tip: more than authorised
  EXPECT_FALSE(c.entryset_id().empty());
  EXPECT_FALSE(c.replayed());
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(7300, 0, 7300));
  EXPECT_EQ(std::get<0>(balance("scheme:mastercard:pending")), 2700);
  pb::AuthorisationRecord rec = record(a.authorisation_id());
  EXPECT_EQ(rec.state(), pb::AUTH_CLEARED);
  EXPECT_EQ(rec.cleared_amount().minor_units(), 2700);
  EXPECT_EQ(rec.clearing_entryset_id(), c.entryset_id());
  EXPECT_FALSE(rec.force_posted());
  auto hold = ledger_->getHold(a.hold_id());
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(hold->state(), ledger_pb::HOLD_SETTLED);
  // The retransmission gets the original answer; another presentment is refused.
  pb::ClearingResponse again;
  ASSERT_TRUE(clear("clr-1", a.authorisation_id(), 2700, &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.entryset_id(), c.entryset_id());
  pb::ClearingResponse second;
  grpc::Status s = clear("clr-2", a.authorisation_id(), 2700, &second);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("already cleared"), std::string::npos) << s.error_message();
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(7300, 0, 7300));
  EXPECT_EQ(counting_ledger_->settle_hold.load(), 1);
  auto evs = clearingEvents();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].amount().minor_units(), 2700);
  EXPECT_EQ(evs[0].authorised_amount().minor_units(), 2500);
  EXPECT_EQ(evs[0].entryset_id(), c.entryset_id());
  EXPECT_EQ(evs[0].merchant().name(), "Corner Shop");
}

TEST_F(CardProcessorTest, ReversalReleasesTheHoldAndIsPublished) {
  openProcessor();
  pb::AuthoriseResponse a = authorised("msg-1", alice_card_.token(), 2500);
  pb::ReverseResponse r;
  ASSERT_TRUE(reverse("rev-1", a.authorisation_id(), &r).ok());
  EXPECT_FALSE(r.replayed());
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(10000, 0, 10000));
  EXPECT_EQ(record(a.authorisation_id()).state(), pb::AUTH_REVERSED);
  auto hold = ledger_->getHold(a.hold_id());
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(hold->state(), ledger_pb::HOLD_RELEASED);
  pb::ReverseResponse again;
  ASSERT_TRUE(reverse("rev-1", a.authorisation_id(), &again).ok());
  EXPECT_TRUE(again.replayed());
  ASSERT_TRUE(reverse("rev-2", a.authorisation_id(), &again).ok());  // another message: nothing changes
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(counting_ledger_->release_hold.load(), 1);
  auto evs = authorisationEvents();
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[1].state(), pb::AUTH_REVERSED);
  EXPECT_EQ(evs[1].authorisation_id(), a.authorisation_id());
}

TEST_F(CardProcessorTest, HoldExpiresAfterSevenDaysAndNotBefore) {
  openProcessor();
  pb::AuthoriseResponse a = authorised("msg-1", alice_card_.token(), 2500);
  env_.clock_.advance(kSevenDays - std::chrono::seconds(1));
  EXPECT_EQ(expire(), 0);
  EXPECT_EQ(record(a.authorisation_id()).state(), pb::AUTH_APPROVED);
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(10000, 2500, 7500));
  env_.clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(expire(), 1);
  pb::AuthorisationRecord rec = record(a.authorisation_id());
  EXPECT_EQ(rec.state(), pb::AUTH_EXPIRED);
  EXPECT_EQ(rec.ended_at_us(), toMicros(env_.clock_.now()));
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(10000, 0, 10000));
  auto hold = ledger_->getHold(a.hold_id());
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(hold->state(), ledger_pb::HOLD_EXPIRED);
  EXPECT_EQ(expire(), 0);  // ends exactly once
  EXPECT_EQ(counting_ledger_->release_hold.load(), 1);
  auto evs = authorisationEvents();
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[1].state(), pb::AUTH_EXPIRED);
}

TEST_F(CardProcessorTest, SweeperExpiresHoldsOnItsOwnOnceTheClockHasMoved) {
  openProcessor();
  pb::AuthoriseResponse a = authorised("msg-1", alice_card_.token(), 2500);
  pb::AuthoriseResponse cleared = authorised("msg-2", alice_card_.token(), 1000);
  pb::ClearingResponse c;
  ASSERT_TRUE(clear("clr-2", cleared.authorisation_id(), 1000, &c).ok());
  sweeper_ = std::make_unique<HoldSweeper>(*processor_, std::chrono::milliseconds(5));
  env_.clock_.advance(kSevenDays);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (record(a.authorisation_id()).state() != pb::AUTH_EXPIRED && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling, bounded by the deadline
  }
  EXPECT_EQ(record(a.authorisation_id()).state(), pb::AUTH_EXPIRED);
  sweeper_->stop();
  EXPECT_EQ(record(cleared.authorisation_id()).state(), pb::AUTH_CLEARED);
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(9000, 0, 9000));
  EXPECT_EQ(counting_ledger_->release_hold.load(), 1);
}

TEST_F(CardProcessorTest, StatesOnlyMoveForwardAndALatePresentmentIsForcePostedOnce) {
  openProcessor();
  // Reversed, then presented anyway: the presented amount is posted without a hold, once.
  pb::AuthoriseResponse a = authorised("msg-1", alice_card_.token(), 2500);
  pb::ReverseResponse r;
  ASSERT_TRUE(reverse("rev-1", a.authorisation_id(), &r).ok());
  pb::ClearingResponse c;
  ASSERT_TRUE(clear("clr-1", a.authorisation_id(), 2500, &c).ok());
  pb::AuthorisationRecord rec = record(a.authorisation_id());
  EXPECT_EQ(rec.state(), pb::AUTH_REVERSED);  // reversed stays reversed
  EXPECT_TRUE(rec.force_posted());
  EXPECT_EQ(rec.clearing_entryset_id(), c.entryset_id());
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(7500, 0, 7500));
  pb::ClearingResponse again;
  ASSERT_TRUE(clear("clr-1", a.authorisation_id(), 2500, &again).ok());
  EXPECT_TRUE(again.replayed());
  grpc::Status second = clear("clr-2", a.authorisation_id(), 2500, &again);
  EXPECT_EQ(second.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(7500, 0, 7500));  // never twice
  EXPECT_EQ(counting_ledger_->settle_hold.load(), 0);
  auto evs = clearingEvents();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_TRUE(evs[0].force_posted());

  // Cleared: no reversal, no expiry.
  pb::AuthoriseResponse b = authorised("msg-2", alice_card_.token(), 1000);
  ASSERT_TRUE(clear("clr-3", b.authorisation_id(), 1000, &c).ok());
  grpc::Status late_reverse = reverse("rev-2", b.authorisation_id(), &r);
  EXPECT_EQ(late_reverse.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(late_reverse.error_message().find("cleared"), std::string::npos) << late_reverse.error_message();
  env_.clock_.advance(kSevenDays);
  EXPECT_EQ(expire(), 0);
  EXPECT_EQ(record(b.authorisation_id()).state(), pb::AUTH_CLEARED);

  // Expired: no reversal; a late presentment is force-posted.
  pb::AuthoriseResponse e = authorised("msg-3", alice_card_.token(), 500);
  env_.clock_.advance(kSevenDays);
  EXPECT_EQ(expire(), 1);
  grpc::Status expired_reverse = reverse("rev-3", e.authorisation_id(), &r);
  EXPECT_EQ(expired_reverse.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(clear("clr-4", e.authorisation_id(), 450, &c).ok());
  EXPECT_EQ(record(e.authorisation_id()).state(), pb::AUTH_EXPIRED);
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(7500 - 1000 - 450, 0, 7500 - 1000 - 450));
  EXPECT_EQ(counting_ledger_->release_hold.load(), 2);  // the reversal and the expiry, one each

  // Declined: nothing to clear or reverse.
  fraud_.setMode(FakeFraud::Mode::kBlock);
  pb::AuthoriseResponse d = authorised("msg-4", alice_card_.token(), 100);
  EXPECT_EQ(clear("clr-5", d.authorisation_id(), 100, &c).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(reverse("rev-4", d.authorisation_id(), &r).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(CardProcessorTest, ClearingRetransmissionFinishesAClearingWhoseLedgerReplyWasLost) {
  openProcessor();
  pb::AuthoriseResponse a = authorised("msg-1", alice_card_.token(), 2500);
  counting_ledger_->lose_next_settle_reply = true;
  pb::ClearingResponse c;
  grpc::Status lost = clear("clr-1", a.authorisation_id(), 2000, &c);
  EXPECT_EQ(lost.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(8000, 0, 8000));  // settled; answer lost
  ASSERT_TRUE(clear("clr-1", a.authorisation_id(), 2000, &c).ok());
  auto hold = ledger_->getHold(a.hold_id());
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(c.entryset_id(), hold->settle_entryset_id());
  EXPECT_EQ(record(a.authorisation_id()).clearing_entryset_id(), c.entryset_id());
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(8000, 0, 8000));  // posted once
  EXPECT_EQ(clearingEvents().size(), 1u);
}

TEST_F(CardProcessorTest, AnExpiryThatStoppedHalfWayIsFinishedByTheNextSweep) {
  openProcessor();
  pb::AuthoriseResponse a = authorised("msg-1", alice_card_.token(), 2500);
  env_.clock_.advance(kSevenDays);
  counting_ledger_->fail_next_release = true;
  auto first = processor_->expireHolds();
  EXPECT_EQ(first.status().code(), StatusCode::kUnavailable) << first.status().toString();
  EXPECT_EQ(record(a.authorisation_id()).state(), pb::AUTH_EXPIRED);  // decided...
  EXPECT_EQ(activeHolds("acc_alice"), 1);                              // ...but the hold is still there
  EXPECT_EQ(expire(), 1);
  EXPECT_EQ(activeHolds("acc_alice"), 0);
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(10000, 0, 10000));
  EXPECT_EQ(expire(), 0);
  EXPECT_EQ(counting_ledger_->release_hold.load(), 1);
  auto evs = authorisationEvents();
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[1].state(), pb::AUTH_EXPIRED);
}

TEST_F(CardProcessorTest, RacingClearingAndReversalEndTheHoldOnceAndPostOnce) {
  openProcessor();
  constexpr int kPayments = 6;
  std::vector<std::string> ids;
  for (int i = 0; i < kPayments; ++i) {
    ids.push_back(authorised("msg-" + std::to_string(i), alice_card_.token(), 1000).authorisation_id());
  }
  std::atomic<int> cleared{0}, reversed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kPayments; ++i) {
    threads.emplace_back([&, i] {
      pb::ClearingResponse c;
      if (clear("clr-" + std::to_string(i), ids[i], 900, &c).ok()) ++cleared;
    });
    threads.emplace_back([&, i] {
      pb::ReverseResponse r;
      if (reverse("rev-" + std::to_string(i), ids[i], &r).ok()) ++reversed;
    });
  }
  for (auto& t : threads) t.join();
  // Every presentment is honoured (settled, or force-posted after the reversal won), and
  // each once; every hold has ended exactly once.
  EXPECT_EQ(cleared.load(), kPayments);
  EXPECT_EQ(balance("account:acc_alice:main"), std::make_tuple(10000 - 900 * kPayments, 0, 10000 - 900 * kPayments));
  EXPECT_EQ(activeHolds("acc_alice"), 0);
  int settled = 0, released = 0;
  for (const std::string& id : ids) {
    pb::AuthorisationRecord rec = record(id);
    auto hold = ledger_->getHold(rec.hold_id());
    ASSERT_TRUE(hold.ok());
    if (rec.state() == pb::AUTH_CLEARED) {
      ++settled;
      EXPECT_EQ(hold->state(), ledger_pb::HOLD_SETTLED);
    } else {
      ++released;
      EXPECT_EQ(rec.state(), pb::AUTH_REVERSED);
      EXPECT_TRUE(rec.force_posted());
      EXPECT_EQ(hold->state(), ledger_pb::HOLD_RELEASED);
    }
  }
  EXPECT_EQ(released, reversed.load());
  EXPECT_EQ(settled + released, kPayments);
  EXPECT_EQ(clearingEvents().size(), static_cast<size_t>(kPayments));
}

TEST_F(CardProcessorTest, BadRequestsGetAStatusNamingTheField) {
  openProcessor();
  pb::AuthoriseResponse a;
  auto expectInvalid = [](const grpc::Status& s, const std::string& field) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_NE(s.error_message().find(field), std::string::npos) << s.error_message();
  };
  expectInvalid(authorise("", alice_card_.token(), 100, &a), "idempotency_key");
  expectInvalid(authorise("m-1", "", 100, &a), "card_token");
  expectInvalid(authorise("m-2", alice_card_.token(), 0, &a), "amount.minor_units");
  expectInvalid(authorise("m-3", alice_card_.token(), 100, &a, "pounds"), "amount.currency");
  pb::ClearingResponse c;
  expectInvalid(clear("c-1", "", 100, &c), "authorisation_id");
  expectInvalid(clear("c-2", "auth_x", -5, &c), "amount.minor_units");
  EXPECT_EQ(clear("c-3", "auth_unknown", 100, &c).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::AuthoriseResponse ok = authorised("m-4", alice_card_.token(), 100);
  expectInvalid(clear("c-4", ok.authorisation_id(), 100, &c, "EUR"), "amount.currency");
  pb::ReverseResponse r;
  expectInvalid(reverse("", ok.authorisation_id(), &r), "idempotency_key");
  EXPECT_EQ(reverse("r-1", "auth_unknown", &r).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::GetAuthorisationRequest get;
  pb::AuthorisationRecord rec;
  grpc::ClientContext ctx;
  expectInvalid(stub_->GetAuthorisation(&ctx, get, &rec), "authorisation_id");
  EXPECT_FALSE(parseFraudPolicy("sometimes").ok());
  EXPECT_EQ(parseFraudPolicy("fail_closed").value(), FraudPolicy::kFailClosed);
}

}  // namespace
}  // namespace sandbank::card_processor
