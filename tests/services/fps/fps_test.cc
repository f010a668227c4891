// The fps service over real gRPC against the in-process store and bus, the real ledger
// (behind a proxy that can lose or fail postings), the real scheme hub (behind a switch
// that makes it unreachable) and fake account and fraud services: the ack, reject and
// timeout paths, retries that post nothing new, inbound credits exactly once, declines,
// the fraud policy, and the recovery sweeper on a ManualClock.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "../bankcore/bank_test_env.h"
#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/fps.grpc.pb.h"
#include "sandbank/bank/fraud.grpc.pb.h"
#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/fps/fps_service.h"
#include "sandbank/fps/payments.h"
#include "sandbank/fps_hub/hub_service.h"
#include "sandbank/fps_hub/scheme_hub.h"
#include "sandbank/ledger/ledger.h"

namespace sandbank::fps {
namespace {

namespace accountpb = ::sandbank::bank::account;
namespace fraudpb = ::sandbank::bank::fraud;
namespace ledgerpb = ::sandbank::bank::ledger;

constexpr const char* kSuspense = "scheme:fps:suspense";
constexpr const char* kExternal = "external:fps";

class FakeAccount final : public accountpb::Account::Service {
 public:
  void put(const std::string& id, accountpb::AccountStatus status, int64_t overdraft = 0,
           const std::string& currency = "GBP") {
    std::lock_guard lock(mu_);
    accountpb::AccountRecord& a = accounts_[id];
    a.set_account_id(id);
    a.set_status(status);
    a.set_overdraft_limit_minor_units(overdraft);
    a.set_currency(currency);
  }
  grpc::Status Get(grpc::ServerContext*, const accountpb::GetAccountRequest* r, accountpb::AccountRecord* out) override {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(r->account_id());
    if (it == accounts_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no account " + r->account_id());
    *out = it->second;
    return grpc::Status::OK;
  }

 private:
  std::mutex mu_;
  std::map<std::string, accountpb::AccountRecord> accounts_;  // guarded by mu_
};

class FakeFraud final : public fraudpb::Fraud::Service {
 public:
  enum Mode { kAllow, kBlock, kUnavailable, kSlow };
  std::atomic<int> mode{kAllow};
  std::atomic<int> calls{0};
  std::atomic<bool> last_external{false};
  grpc::Status ScoreTransfer(grpc::ServerContext* ctx, const fraudpb::ScoreTransferRequest* r,
                             fraudpb::Score* out) override {
    ++calls;
    last_external = r->external();
    switch (mode.load()) {
      case kBlock:
        out->set_verdict(fraudpb::BLOCK);
        out->set_reason("new payee and a large amount");
        return grpc::Status::OK;
      case kUnavailable:
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fraud is down");
      case kSlow:
        // Answer only once gRPC has cancelled the call at the caller's deadline (short in
        // these tests), so the answer can never arrive in time.
        while (!ctx->IsCancelled() && std::chrono::system_clock::now() < ctx->deadline() + std::chrono::seconds(2)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        out->set_verdict(fraudpb::ALLOW);
        return grpc::Status::OK;
      default:
        out->set_verdict(fraudpb::ALLOW);
        return grpc::Status::OK;
    }
  }
};

// The real ledger, with postings that can fail before landing or land and lose their
// answer, selected by the ending of their idempotency key (one-shot).
class LedgerProxy final : public ledgerpb::Ledger::Service {
 public:
  explicit LedgerProxy(ledger::Ledger& l) : ledger_(l) {}
  void failNext(const std::string& key_suffix) {
    std::lock_guard lock(mu_);
    fail_before_.insert(key_suffix);
  }
  void loseAnswerOfNext(const std::string& key_suffix) {
    std::lock_guard lock(mu_);
    lose_after_.insert(key_suffix);
  }
  // Calls per idempotency key, and every key seen.
  std::map<std::string, int> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  grpc::Status PostEntrySet(grpc::ServerContext*, const ledgerpb::PostEntrySetRequest* r,
                            ledgerpb::PostEntrySetResponse* out) override {
    bool lose = false;
    {
      std::lock_guard lock(mu_);
      ++calls_[r->idempotency_key()];
      if (take(fail_before_, r->idempotency_key())) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "ledger is restarting");
      }
      lose = take(lose_after_, r->idempotency_key());
    }
    auto posted = ledger_.post(*r);
    if (lose) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset after the posting");
    if (!posted.ok()) return grpc::Status(static_cast<grpc::StatusCode>(posted.status().code()), posted.status().message());
    *out = *posted;
    return grpc::Status::OK;
  }

 private:
  static bool take(std::set<std::string>& suffixes, const std::string& key) {
    for (auto it = suffixes.begin(); it != suffixes.end(); ++it) {
      if (key.size() >= it->size() && key.compare(key.size() - it->size(), it->size(), *it) == 0) {
        suffixes.erase(it);
        return true;
      }
    }
    return false;
  }
  ledger::Ledger& ledger_;
  std::mutex mu_;
  std::set<std::string> fail_before_;  // guarded by mu_
  std::set<std::string> lose_after_;   // guarded by mu_
  std::map<std::string, int> calls_;   // guarded by mu_
};

// The real hub, behind a switch that makes it unreachable.
class SwitchableHub final : public bank::fps::FpsHub::Service {
 public:
  SwitchableHub(fps_hub::SchemeHub& hub, fps_hub::FpsChannelSource fps)
      : real_(fps_hub::makeFpsHubGrpcService(hub, std::move(fps))) {}
  std::atomic<bool> down{false};
  grpc::Status Submit(grpc::ServerContext* ctx, const pb::HubSubmitRequest* r, pb::HubSubmitResponse* out) override {
    if (down) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
    return static_cast<bank::fps::FpsHub::Service*>(real_.get())->Submit(ctx, r, out);
  }
  grpc::Status SendInbound(grpc::ServerContext* ctx, const pb::HubInboundRequest* r,
                           pb::HubInboundResponse* out) override {
    return static_cast<bank::fps::FpsHub::Service*>(real_.get())->SendInbound(ctx, r, out);
  }

 private:
  std::unique_ptr<grpc::Service> real_;
};

class FpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    bus::TopicConfig topic;
    topic.partitions = bank::testing::BankTestEnv::kPartitions;
    ASSERT_TRUE(env_.broker_->createTopic("fps.events", topic).ok());
    auto l = ledger::Ledger::open(*env_.store_, nullptr, env_.clock_);
    ASSERT_TRUE(l.ok()) << l.status().toString();
    ledger_ = std::move(l).value();
    ledger_proxy_ = std::make_unique<LedgerProxy>(*ledger_);
    hub_switch_ = std::make_unique<SwitchableHub>(
        hub_, [this] { return grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()); });
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&account_);
    builder.RegisterService(&fraud_);
    builder.RegisterService(ledger_proxy_.get());
    builder.RegisterService(hub_switch_.get());
    upstream_server_ = builder.BuildAndStart();
    ASSERT_NE(upstream_server_, nullptr);
    upstream_channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
    account_.put("alice", accountpb::ACCOUNT_ACTIVE);
    fund("alice", 10000);
    open();
  }

  void open(FraudPolicy policy = FraudPolicy::kFailOpen) {
    service_server_.reset();
    service_.reset();
    payments_.reset();
    PaymentsOptions options;
    options.hub_timeout = std::chrono::milliseconds(150);
    options.fraud_timeout = std::chrono::milliseconds(150);
    options.fraud_policy = policy;
    options.pending_timeout = std::chrono::minutes(5);
    auto p = Payments::open(*env_.store_, env_.producer_.get(), env_.clock_,
                            FpsUpstreams{upstream_channel_, upstream_channel_, upstream_channel_, upstream_channel_},
                            options);
    ASSERT_TRUE(p.ok()) << p.status().toString();
    payments_ = std::move(p).value();
    service_ = makeFpsGrpcService(*payments_);
    service_server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(service_server_, nullptr);
    stub_ = pb::Fps::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (payments_) payments_->stopSweeper();
    hub_.stop();
    if (service_server_) service_server_->Shutdown();
    if (upstream_server_) upstream_server_->Shutdown();
    env_.stop();
  }

  void fund(const std::string& account, int64_t amount) {
    ledgerpb::PostEntrySetRequest req;
    req.set_idempotency_key("fund-" + account + "-" + std::to_string(amount));
    auto* from = req.add_entries();
    from->set_address("external:funding");
    from->mutable_amount()->set_minor_units(-amount);
    from->mutable_amount()->set_currency("GBP");
    auto* to = req.add_entries();
    to->set_address("account:" + account + ":main");
    to->mutable_amount()->set_minor_units(amount);
    to->mutable_amount()->set_currency("GBP");
    auto r = ledger_->post(req);
    ASSERT_TRUE(r.ok()) << r.status().toString();
  }

  // Settled GBP at an address, verified against a recomputation from the entries.
  int64_t balance(const std::string& address) {
    auto b = ledger_->balance(address, true);
    EXPECT_TRUE(b.ok()) << b.status().toString();
    if (!b.ok()) return -1;
    for (const auto& c : b->currencies()) {
      if (c.currency() == "GBP") return c.settled_minor_units();
    }
    return 0;
  }

  pb::SendRequest sendRequest(const std::string& key, int64_t amount, const std::string& sort_code = "040004",
                              const std::string& account = "alice") {
    pb::SendRequest r;
    r.set_idempotency_key(key);
    r.set_account_id(account);
    r.mutable_amount()->set_minor_units(amount);
    r.mutable_amount()->set_currency("GBP");
    r.set_sort_code(sort_code);
    r.set_account_number("12345678");
    r.set_reference("rent");
    return r;
  }

  grpc::Status send(const pb::SendRequest& r, pb::PaymentRecord* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return stub_->Send(&ctx, r, out);
  }

  pb::InboundRequest inboundRequest(const std::string& scheme_id, const std::string& account, int64_t amount) {
    pb::InboundRequest r;
    r.set_idempotency_key(scheme_id);
    r.set_account_id(account);
    r.mutable_amount()->set_minor_units(amount);
    r.mutable_amount()->set_currency("GBP");
    r.set_payer_name("Employer Ltd");
    r.set_reference("salary");
    return r;
  }

  grpc::Status inbound(const pb::InboundRequest& r, pb::PaymentRecord* out) {
    grpc::ClientContext ctx;
    return stub_->HandleInbound(&ctx, r, out);
  }

  pb::PaymentRecord get(const std::string& id) {
    grpc::ClientContext ctx;
    pb::GetPaymentRequest req;
    req.set_payment_id(id);
    pb::PaymentRecord out;
    grpc::Status s = stub_->GetPayment(&ctx, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  void scriptHub(const std::string& sort_code, pb::HubAction action, const std::string& reason = "") {
    pb::HubBehaviourRequest req;
    pb::HubRule* r = req.add_rules();
    r->set_sort_code(sort_code);
    r->set_action(action);
    r->set_reason(reason);
    ASSERT_TRUE(hub_.setBehaviour(req).ok());
  }

  int hubSubmissions(const std::string& payment_id) {
    auto s = hub_.submission(payment_id);
    return s.ok() ? s->submissions() : 0;
  }

  // The states published for `payment_id` on fps.events, in order.
  std::vector<pb::PaymentState> events(const std::string& payment_id) {
    std::vector<pb::PaymentState> out;
    for (const auto& d : env_.records("fps.events")) {
      pb::FpsEvent ev;
      EXPECT_TRUE(ev.ParseFromString(d.record->value));
      if (ev.payment().payment_id() == payment_id) {
        EXPECT_EQ(d.record->key.value_or(""), ev.payment().account_id());
        out.push_back(ev.payment().state());
      }
    }
    return out;
  }

  int totalLedgerCalls() {
    int n = 0;
    for (const auto& [key, count] : ledger_proxy_->calls()) n += count;
    return n;
  }

  bank::testing::BankTestEnv env_;
  FakeAccount account_;
  FakeFraud fraud_;
  fps_hub::SchemeHub hub_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<LedgerProxy> ledger_proxy_;
  std::unique_ptr<SwitchableHub> hub_switch_;
  std::unique_ptr<grpc::Server> upstream_server_;
  std::shared_ptr<grpc::Channel> upstream_channel_;
  std::unique_ptr<Payments> payments_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> service_server_;
  std::string address_;
  std::unique_ptr<pb::Fps::Stub> stub_;
};

TEST_F(FpsTest, AckedPaymentDebitsThroughSuspenseAndSettlesToTheScheme) {
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("pay-1", 2500), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(p.direction(), "out");
  EXPECT_FALSE(p.debit_entryset_id().empty());
  EXPECT_FALSE(p.settle_entryset_id().empty());
  EXPECT_TRUE(p.reversal_entryset_id().empty());
  EXPECT_FALSE(p.replayed());
  EXPECT_EQ(balance("account:alice:main"), 7500);
  EXPECT_EQ(balance(kSuspense), 0);
  EXPECT_EQ(balance(kExternal), 2500);
  EXPECT_EQ(hubSubmissions(p.payment_id()), 1);
  EXPECT_TRUE(fraud_.last_external);
  EXPECT_EQ(events(p.payment_id()), (std::vector<pb::PaymentState>{pb::PAYMENT_PENDING, pb::PAYMENT_COMPLETED}));
  pb::PaymentRecord stored = get(p.payment_id());
  EXPECT_EQ(stored.state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(stored.settle_entryset_id(), p.settle_entryset_id());
}

TEST_F(FpsTest, RejectedPaymentIsReversedWithTheSchemesReason) {
  scriptHub("200000", pb::HUB_ACTION_REJECT, "beneficiary account closed");
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("pay-1", 2500, "200000"), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_REVERSED);
  EXPECT_NE(p.reason().find("beneficiary account closed"), std::string::npos) << p.reason();
  EXPECT_FALSE(p.debit_entryset_id().empty());
  EXPECT_FALSE(p.reversal_entryset_id().empty());
  EXPECT_TRUE(p.settle_entryset_id().empty());
  EXPECT_EQ(balance("account:alice:main"), 10000);
  EXPECT_EQ(balance(kSuspense), 0);
  EXPECT_EQ(events(p.payment_id()), (std::vector<pb::PaymentState>{pb::PAYMENT_PENDING, pb::PAYMENT_REVERSED}));
}

TEST_F(FpsTest, HubTimeoutIsReversedAfterResubmittingUnderTheSamePaymentId) {
  scriptHub("300000", pb::HUB_ACTION_TIMEOUT);
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("pay-1", 2500, "300000"), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_REVERSED);
  EXPECT_NE(p.reason().find("did not answer"), std::string::npos) << p.reason();
  EXPECT_EQ(balance("account:alice:main"), 10000);
  EXPECT_EQ(balance(kSuspense), 0);
  EXPECT_EQ(hub_.submission(p.payment_id()).status().code(), StatusCode::kNotFound);  // the scheme never took it
}

TEST_F(FpsTest, AckThatArrivesAfterTheDeadlineIsLearnedByResubmissionAndNotReversed) {
  scriptHub("400000", pb::HUB_ACTION_ACK_LATE);
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("pay-1", 2500, "400000"), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(hubSubmissions(p.payment_id()), 2);
  EXPECT_EQ(balance("account:alice:main"), 7500);
  EXPECT_EQ(balance(kExternal), 2500);
  EXPECT_EQ(balance(kSuspense), 0);
}

TEST_F(FpsTest, RetriesAfterEveryOutcomeReturnTheOriginalAndPostNothingNew) {
  scriptHub("200000", pb::HUB_ACTION_REJECT);
  scriptHub("300000", pb::HUB_ACTION_TIMEOUT);
  std::map<std::string, pb::PaymentRecord> first;
  for (const char* sort_code : {"040004", "200000", "300000"}) {
    ASSERT_TRUE(send(sendRequest(std::string("pay-") + sort_code, 1000, sort_code), &first[sort_code]).ok());
  }
  const int64_t alice = balance("account:alice:main");
  EXPECT_EQ(alice, 9000);  // one acked; the others came back
  const int ledger_calls = totalLedgerCalls();
  const int fraud_calls = fraud_.calls;
  for (const char* sort_code : {"040004", "200000", "300000"}) {
    const int submissions = hubSubmissions(first[sort_code].payment_id());
    for (int retry = 0; retry < 2; ++retry) {
      pb::PaymentRecord again;
      ASSERT_TRUE(send(sendRequest(std::string("pay-") + sort_code, 1000, sort_code), &again).ok());
      EXPECT_TRUE(again.replayed());
      EXPECT_EQ(again.payment_id(), first[sort_code].payment_id());
      EXPECT_EQ(again.state(), first[sort_code].state());
      EXPECT_EQ(again.reversal_entryset_id(), first[sort_code].reversal_entryset_id());
    }
    EXPECT_EQ(hubSubmissions(first[sort_code].payment_id()), submissions);
  }
  EXPECT_EQ(first["040004"].state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(first["200000"].state(), pb::PAYMENT_REVERSED);
  EXPECT_EQ(first["300000"].state(), pb::PAYMENT_REVERSED);
  EXPECT_EQ(totalLedgerCalls(), ledger_calls);
  EXPECT_EQ(fraud_.calls, fraud_calls);
  EXPECT_EQ(balance("account:alice:main"), alice);
  EXPECT_EQ(balance(kSuspense), 0);
  EXPECT_EQ(events(first["200000"].payment_id()).size(), 2u);
}

TEST_F(FpsTest, SameKeyForADifferentPaymentIsRefused) {
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("pay-1", 1000), &p).ok());
  grpc::Status s = send(sendRequest("pay-1", 1001), &p);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("different request"), std::string::npos) << s.error_message();
  EXPECT_EQ(balance("account:alice:main"), 9000);
}

TEST_F(FpsTest, InsufficientFundsIsDeclinedWithNoMoneyMovedUnlessTheOverdraftCoversIt) {
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("big", 15000), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_DECLINED);
  EXPECT_NE(p.reason().find("insufficient funds"), std::string::npos) << p.reason();
  EXPECT_EQ(balance("account:alice:main"), 10000);
  EXPECT_EQ(hubSubmissions(p.payment_id()), 0);
  EXPECT_EQ(events(p.payment_id()), (std::vector<pb::PaymentState>{pb::PAYMENT_DECLINED}));
  pb::PaymentRecord again;
  ASSERT_TRUE(send(sendRequest("big", 15000), &again).ok());
  EXPECT_EQ(again.state(), pb::PAYMENT_DECLINED);
  EXPECT_TRUE(again.replayed());

  account_.put("alice", accountpb::ACCOUNT_ACTIVE, 5000);
  ASSERT_TRUE(send(sendRequest("big-with-overdraft", 15000), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(balance("account:alice:main"), -5000);
}

TEST_F(FpsTest, FraudBlockDeclinesBeforeAnyMoneyMoves) {
  fraud_.mode = FakeFraud::kBlock;
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("pay-1", 1000), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_DECLINED);
  EXPECT_NE(p.reason().find("new payee"), std::string::npos) << p.reason();
  EXPECT_TRUE(p.debit_entryset_id().empty());
  EXPECT_EQ(totalLedgerCalls(), 0);
  EXPECT_EQ(balance("account:alice:main"), 10000);
}

TEST_F(FpsTest, FraudOutageSendsUnderFailOpenAndDeclinesUnderFailClosed) {
  fraud_.mode = FakeFraud::kUnavailable;
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("open-1", 1000), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_COMPLETED);
  fraud_.mode = FakeFraud::kSlow;
  ASSERT_TRUE(send(sendRequest("open-2", 1000), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_COMPLETED);

  open(FraudPolicy::kFailClosed);
  ASSERT_TRUE(send(sendRequest("closed-1", 1000), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_DECLINED);
  EXPECT_NE(p.reason().find("fail_closed"), std::string::npos) << p.reason();
  EXPECT_NE(p.reason().find("did not answer"), std::string::npos) << p.reason();
  fraud_.mode = FakeFraud::kUnavailable;
  ASSERT_TRUE(send(sendRequest("closed-2", 1000), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_DECLINED);
  EXPECT_EQ(balance("account:alice:main"), 8000);
}

TEST_F(FpsTest, BadRequestsNameTheField) {
  struct Case {
    std::function<void(pb::SendRequest&)> spoil;
    const char* field;
  };
  const Case cases[] = {
      {[](pb::SendRequest& r) { r.set_sort_code("04000"); }, "sort_code"},
      {[](pb::SendRequest& r) { r.set_sort_code("04-004"); }, "sort_code"},
      {[](pb::SendRequest& r) { r.set_account_number("1234567x"); }, "account_number"},
      {[](pb::SendRequest& r) { r.mutable_amount()->set_minor_units(0); }, "amount.minor_units"},
      {[](pb::SendRequest& r) { r.mutable_amount()->set_currency("EUR"); }, "amount.currency"},
      {[](pb::SendRequest& r) { r.set_account_id(""); }, "account_id"},
      {[](pb::SendRequest& r) { r.set_idempotency_key(""); }, "idempotency_key"},
      {[](pb::SendRequest& r) { r.set_reference("a reference that is far too long"); }, "reference"},
  };
  for (const Case& c : cases) {
    pb::SendRequest r = sendRequest("bad", 1000);
    c.spoil(r);
    pb::PaymentRecord p;
    grpc::Status s = send(r, &p);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_NE(s.error_message().find(c.field), std::string::npos) << s.error_message();
  }
  EXPECT_EQ(totalLedgerCalls(), 0);
}

TEST_F(FpsTest, UnknownAccountIsNotFoundAndAFrozenOneIsDeclined) {
  pb::PaymentRecord p;
  EXPECT_EQ(send(sendRequest("pay-1", 1000, "040004", "ghost"), &p).error_code(), grpc::StatusCode::NOT_FOUND);
  account_.put("frozen", accountpb::ACCOUNT_FROZEN);
  ASSERT_TRUE(send(sendRequest("pay-2", 1000, "040004", "frozen"), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_DECLINED);
  EXPECT_NE(p.reason().find("not active"), std::string::npos) << p.reason();
  EXPECT_EQ(totalLedgerCalls(), 0);
}

TEST_F(FpsTest, InboundPaymentIsCreditedOnceHoweverOftenTheSchemeReplaysIt) {
  pb::PaymentRecord first;
  ASSERT_TRUE(inbound(inboundRequest("SCHEME-1", "alice", 3000), &first).ok());
  EXPECT_EQ(first.state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(first.direction(), "in");
  EXPECT_FALSE(first.replayed());
  EXPECT_FALSE(first.settle_entryset_id().empty());
  for (int i = 0; i < 3; ++i) {
    pb::PaymentRecord again;
    ASSERT_TRUE(inbound(inboundRequest("SCHEME-1", "alice", 3000), &again).ok());
    EXPECT_TRUE(again.replayed());
    EXPECT_EQ(again.payment_id(), first.payment_id());
    EXPECT_EQ(again.settle_entryset_id(), first.settle_entryset_id());
  }
  EXPECT_EQ(balance("account:alice:main"), 13000);
  EXPECT_EQ(balance(kExternal), -3000);
  EXPECT_EQ(ledger_proxy_->calls().size(), 1u);  // one credit key, called once
  EXPECT_EQ(events(first.payment_id()), (std::vector<pb::PaymentState>{pb::PAYMENT_COMPLETED}));
  pb::PaymentRecord other;
  EXPECT_EQ(inbound(inboundRequest("SCHEME-1", "alice", 3001), &other).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(FpsTest, ConcurrentReplaysOfOneInboundPaymentCreditOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, busy{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      pb::PaymentRecord p;
      grpc::Status s = inbound(inboundRequest("SCHEME-RACE", "alice", 3000), &p);
      if (s.ok()) ++ok;
      else if (s.error_code() == grpc::StatusCode::UNAVAILABLE) ++busy;  // "still being processed; retry"
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok + busy, 8);
  EXPECT_GE(ok, 1);
  pb::PaymentRecord settled;
  ASSERT_TRUE(inbound(inboundRequest("SCHEME-RACE", "alice", 3000), &settled).ok());
  EXPECT_EQ(settled.state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(balance("account:alice:main"), 13000);
}

TEST_F(FpsTest, ConcurrentRetriesOfOneSendDebitOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, busy{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      pb::PaymentRecord p;
      grpc::Status s = send(sendRequest("pay-race", 2500), &p);
      if (s.ok()) ++ok;
      else if (s.error_code() == grpc::StatusCode::UNAVAILABLE) ++busy;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok + busy, 8);
  pb::PaymentRecord settled;
  ASSERT_TRUE(send(sendRequest("pay-race", 2500), &settled).ok());
  EXPECT_EQ(settled.state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(hubSubmissions(settled.payment_id()), 1);
  EXPECT_EQ(balance("account:alice:main"), 7500);
  EXPECT_EQ(balance(kSuspense), 0);
  EXPECT_EQ(balance(kExternal), 2500);
}

TEST_F(FpsTest, SchemeGatewayReplayingAnInboundPaymentCreditsItOnce) {
  auto hub = bank::fps::FpsHub::NewStub(upstream_channel_);
  pb::HubInboundRequest req;
  req.set_account_id("alice");
  req.mutable_amount()->set_minor_units(4000);
  req.mutable_amount()->set_currency("GBP");
  req.set_payer_name("Employer Ltd");
  req.set_reference("salary");
  req.set_deliveries(3);
  pb::HubInboundResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(hub->SendInbound(&ctx, req, &resp).ok());
  EXPECT_FALSE(resp.scheme_payment_id().empty());
  EXPECT_EQ(resp.accepted(), 3);
  EXPECT_EQ(resp.replayed(), 2);
  EXPECT_EQ(resp.payment().state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(balance("account:alice:main"), 14000);

  req.set_account_id("ghost");
  req.set_deliveries(2);
  pb::HubInboundResponse refused;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(hub->SendInbound(&ctx2, req, &refused).ok());
  EXPECT_EQ(refused.accepted(), 0);
  EXPECT_NE(refused.last_error().find("unknown account"), std::string::npos) << refused.last_error();
  EXPECT_NE(refused.scheme_payment_id(), resp.scheme_payment_id());
  EXPECT_EQ(balance(kExternal), -4000);
}

TEST_F(FpsTest, InboundWhoseCreditAnswerWasLostIsFinishedByTheReplayWithoutCreditingTwice) {
  ledger_proxy_->loseAnswerOfNext(":credit");
  pb::PaymentRecord p;
  EXPECT_EQ(inbound(inboundRequest("SCHEME-2", "alice", 3000), &p).error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(inbound(inboundRequest("SCHEME-2", "alice", 3000), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_COMPLETED);
  EXPECT_TRUE(p.replayed());
  EXPECT_EQ(balance("account:alice:main"), 13000);
}

TEST_F(FpsTest, InboundToAnUnknownOrClosedAccountIsRefusedAndCreditsNothing) {
  pb::PaymentRecord p;
  grpc::Status unknown = inbound(inboundRequest("SCHEME-3", "ghost", 3000), &p);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown.error_message().find("ghost"), std::string::npos);
  account_.put("ghost", accountpb::ACCOUNT_ACTIVE);  // even if it appears later, the replay answers the same
  EXPECT_EQ(inbound(inboundRequest("SCHEME-3", "ghost", 3000), &p).error_code(), grpc::StatusCode::NOT_FOUND);
  account_.put("gone", accountpb::ACCOUNT_CLOSED);
  grpc::Status closed = inbound(inboundRequest("SCHEME-4", "gone", 3000), &p);
  EXPECT_EQ(closed.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(closed.error_message().find("closed"), std::string::npos);
  EXPECT_EQ(totalLedgerCalls(), 0);
  pb::InboundRequest no_account = inboundRequest("SCHEME-5", "", 3000);
  EXPECT_EQ(inbound(no_account, &p).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(FpsTest, SweeperResubmitsAPaymentLeftPendingOnceTheTimeoutHasPassed) {
  hub_switch_->down = true;
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("pay-1", 2500), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_PENDING);
  EXPECT_NE(p.reason().find("could not be reached"), std::string::npos) << p.reason();
  EXPECT_EQ(balance(kSuspense), 2500);

  hub_switch_->down = false;
  SweepReport early = payments_->sweepOnce();
  EXPECT_EQ(early.examined, 1);
  EXPECT_EQ(early.resolved, 0);
  EXPECT_EQ(get(p.payment_id()).state(), pb::PAYMENT_PENDING);

  env_.clock_.advance(std::chrono::minutes(6));
  SweepReport late = payments_->sweepOnce();
  EXPECT_EQ(late.resolved, 1);
  EXPECT_EQ(get(p.payment_id()).state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(balance(kSuspense), 0);
  EXPECT_EQ(balance(kExternal), 2500);
  EXPECT_EQ(balance("account:alice:main"), 7500);
  EXPECT_EQ(payments_->sweepOnce().examined, 0);  // nothing open any more
}

TEST_F(FpsTest, TwoInstancesFinishingOnePendingPaymentSettleItOnce) {
  hub_switch_->down = true;
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("pay-1", 2500), &p).ok());
  ASSERT_EQ(p.state(), pb::PAYMENT_PENDING);
  hub_switch_->down = false;
  env_.clock_.advance(std::chrono::minutes(6));
  // A second fps process on the same store: its sweeper and this one's customer retry
  // race to finish the payment; the LWTs let one settle and the other read the result.
  PaymentsOptions options;
  options.hub_timeout = std::chrono::milliseconds(150);
  auto other = Payments::open(*env_.store_, env_.producer_.get(), env_.clock_,
                              FpsUpstreams{upstream_channel_, upstream_channel_, upstream_channel_, upstream_channel_},
                              options);
  ASSERT_TRUE(other.ok()) << other.status().toString();
  SweepReport swept;
  std::thread sweeper([&] { swept = (*other)->sweepOnce(); });
  pb::PaymentRecord retried;
  grpc::Status s = send(sendRequest("pay-1", 2500), &retried);
  sweeper.join();
  // The loser may find the settlement still being posted by the winner and say so.
  EXPECT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // The sweeper examines the payment once, or not at all when the retry already closed
  // it: which one wins the race is up to the scheduler.
  EXPECT_LE(swept.examined, 1);
  EXPECT_EQ(get(p.payment_id()).state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(balance("account:alice:main"), 7500);
  EXPECT_EQ(balance(kSuspense), 0);
  EXPECT_EQ(balance(kExternal), 2500);
  int completed_events = 0;
  for (pb::PaymentState st : events(p.payment_id())) completed_events += st == pb::PAYMENT_COMPLETED;
  EXPECT_EQ(completed_events, 1);  // only the instance whose LWT moved it publishes
}

TEST_F(FpsTest, SweeperReversesAPendingPaymentWhenTheHubStaysUnreachable) {
  hub_switch_->down = true;
  pb::PaymentRecord p;
  ASSERT_TRUE(send(sendRequest("pay-1", 2500), &p).ok());
  ASSERT_EQ(p.state(), pb::PAYMENT_PENDING);
  env_.clock_.advance(std::chrono::minutes(6));
  EXPECT_EQ(payments_->sweepOnce().resolved, 1);
  pb::PaymentRecord after = get(p.payment_id());
  EXPECT_EQ(after.state(), pb::PAYMENT_REVERSED);
  EXPECT_NE(after.reason().find("could not be reached"), std::string::npos) << after.reason();
  EXPECT_EQ(balance("account:alice:main"), 10000);
  EXPECT_EQ(balance(kSuspense), 0);
  // A retry of the customer's request now only reads the outcome.
  pb::PaymentRecord again;
  ASSERT_TRUE(send(sendRequest("pay-1", 2500), &again).ok());
  EXPECT_EQ(again.state(), pb::PAYMENT_REVERSED);
  EXPECT_TRUE(again.replayed());
}

TEST_F(FpsTest, SweeperFinishesAPaymentWhoseDebitLandedButWhoseAnswerWasLost) {
  ledger_proxy_->loseAnswerOfNext(":debit");
  pb::PaymentRecord p;
  EXPECT_EQ(send(sendRequest("pay-1", 2500), &p).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(balance(kSuspense), 2500);  // stranded in suspense
  std::string debit_key;
  for (const auto& [key, n] : ledger_proxy_->calls()) debit_key = key;
  ASSERT_EQ(debit_key.rfind("fps:", 0), 0u) << debit_key;
  const std::string id = debit_key.substr(4, debit_key.size() - 4 - std::string(":debit").size());
  EXPECT_EQ(get(id).state(), pb::PAYMENT_PENDING);

  env_.clock_.advance(std::chrono::minutes(6));
  EXPECT_EQ(payments_->sweepOnce().resolved, 1);
  EXPECT_EQ(get(id).state(), pb::PAYMENT_COMPLETED);
  EXPECT_EQ(ledger_proxy_->calls()[debit_key], 2);  // re-posted under the same key: a replay
  EXPECT_EQ(balance("account:alice:main"), 7500);  // debited once
  EXPECT_EQ(balance(kSuspense), 0);
  pb::PaymentRecord retry;
  ASSERT_TRUE(send(sendRequest("pay-1", 2500), &retry).ok());
  EXPECT_EQ(retry.payment_id(), id);
  EXPECT_EQ(retry.state(), pb::PAYMENT_COMPLETED);
}

TEST_F(FpsTest, CustomerRetryFinishesAPaymentWhoseReversalFailedAndReversesOnce) {
  scriptHub("200000", pb::HUB_ACTION_REJECT);
  ledger_proxy_->failNext(":reverse");
  pb::PaymentRecord p;
  EXPECT_EQ(send(sendRequest("pay-1", 2500, "200000"), &p).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(balance("account:alice:main"), 7500);
  ASSERT_TRUE(send(sendRequest("pay-1", 2500, "200000"), &p).ok());
  EXPECT_EQ(p.state(), pb::PAYMENT_REVERSED);
  EXPECT_TRUE(p.replayed());
  EXPECT_EQ(balance("account:alice:main"), 10000);
  EXPECT_EQ(balance(kSuspense), 0);
  EXPECT_EQ(hubSubmissions(p.payment_id()), 1);  // the decision was kept, not asked again
  ASSERT_TRUE(send(sendRequest("pay-1", 2500, "200000"), &p).ok());
  EXPECT_EQ(balance("account:alice:main"), 10000);
}

TEST_F(FpsTest, BackgroundSweeperResolvesAStrandedPaymentAfterTheClockMoves) {
  scriptHub("200000", pb::HUB_ACTION_REJECT);
  ledger_proxy_->failNext(":reverse");
  pb::PaymentRecord p;
  ASSERT_EQ(send(sendRequest("pay-1", 2500, "200000"), &p).error_code(), grpc::StatusCode::UNAVAILABLE);
  std::string id;
  for (const auto& [key, n] : ledger_proxy_->calls()) {
    if (key.size() > 8 && key.compare(key.size() - 8, 8, ":reverse") == 0) id = key.substr(4, key.size() - 12);
  }
  ASSERT_FALSE(id.empty());
  env_.clock_.advance(std::chrono::minutes(6));
  payments_->startSweeper(std::chrono::milliseconds(10));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (get(id).state() != pb::PAYMENT_REVERSED && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  payments_->stopSweeper();
  EXPECT_EQ(get(id).state(), pb::PAYMENT_REVERSED);
  EXPECT_EQ(balance("account:alice:main"), 10000);
  EXPECT_EQ(balance(kSuspense), 0);
}

}  // namespace
}  // namespace sandbank::fps
