// The account service over real gRPC with the store and bus in-process: users and
// accounts created once per key, lookups, status rules, events on account.events, and
// bad requests answered with a status and a reason.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "../bankcore/bank_test_env.h"
#include "sandbank/account/account_service.h"
#include "sandbank/account/accounts.h"
#include "sandbank/bank/account.grpc.pb.h"

namespace sandbank::account {
namespace {

class AccountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    auto accounts = Accounts::open(*env_.store_, env_.producer_.get(), env_.clock_);
    ASSERT_TRUE(accounts.ok()) << accounts.status().toString();
    accounts_ = std::move(accounts).value();
    service_ = makeAccountGrpcService(*accounts_);
    server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(server_, nullptr);
    stub_ = pb::Account::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    env_.stop();
  }

  pb::User user(const std::string& key, const std::string& name) {
    pb::CreateUserRequest req;
    req.set_idempotency_key(key);
    req.set_name(name);
    req.set_email(name + "@example.com");
    pb::User u;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateUser(&ctx, req, &u);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return u;
  }

  grpc::Status open(const std::string& key, const std::string& user_id, int64_t overdraft, pb::AccountRecord* out,
                    const std::string& currency = "") {
    pb::CreateAccountRequest req;
    req.set_idempotency_key(key);
    req.set_user_id(user_id);
    req.set_currency(currency);
    req.set_overdraft_limit_minor_units(overdraft);
    grpc::ClientContext ctx;
    return stub_->Create(&ctx, req, out);
  }

  grpc::Status setStatus(const std::string& account_id, pb::AccountStatus status, pb::AccountRecord* out) {
    pb::SetStatusRequest req;
    req.set_idempotency_key("status-" + account_id + "-" + std::to_string(status));
    req.set_account_id(account_id);
    req.set_status(status);
    grpc::ClientContext ctx;
    return stub_->SetStatus(&ctx, req, out);
  }

  bank::testing::BankTestEnv env_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<pb::Account::Stub> stub_;
};

TEST_F(AccountTest, CreateGetAndListByUser) {
  pb::User alice = user("u-alice", "alice");
  pb::User bob = user("u-bob", "bob");
  ASSERT_FALSE(alice.user_id().empty());
  pb::AccountRecord current, euro, bobs;
  ASSERT_TRUE(open("a-1", alice.user_id(), 5000, &current).ok());
  ASSERT_TRUE(open("a-2", alice.user_id(), 0, &euro, "EUR").ok());
  ASSERT_TRUE(open("b-1", bob.user_id(), 0, &bobs).ok());
  EXPECT_EQ(current.currency(), "GBP");
  EXPECT_EQ(current.status(), pb::ACCOUNT_ACTIVE);
  EXPECT_EQ(current.ledger_address(), "account:" + current.account_id() + ":main");

  pb::GetAccountRequest get;
  get.set_account_id(current.account_id());
  pb::AccountRecord got;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Get(&ctx, get, &got).ok());
  EXPECT_EQ(got.user_id(), alice.user_id());
  EXPECT_EQ(got.overdraft_limit_minor_units(), 5000);
  EXPECT_EQ(got.created_at_us(), current.created_at_us());

  pb::ListByUserRequest list;
  list.set_user_id(alice.user_id());
  pb::ListByUserResponse listed;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub_->ListByUser(&ctx2, list, &listed).ok());
  std::set<std::string> ids;
  for (const auto& a : listed.accounts()) ids.insert(a.account_id());
  EXPECT_EQ(ids, (std::set<std::string>{current.account_id(), euro.account_id()}));
}

TEST_F(AccountTest, RetriedCreateReturnsTheOriginalAccountAndOpensOne) {
  pb::User alice = user("u-alice", "alice");
  pb::User again = user("u-alice", "alice");
  EXPECT_EQ(again.user_id(), alice.user_id());
  EXPECT_TRUE(again.replayed());
  pb::AccountRecord first, retry;
  ASSERT_TRUE(open("a-1", alice.user_id(), 100, &first).ok());
  ASSERT_TRUE(open("a-1", alice.user_id(), 100, &retry).ok());
  EXPECT_EQ(retry.account_id(), first.account_id());
  EXPECT_TRUE(retry.replayed());
  auto listed = accounts_->listByUser(alice.user_id());
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->accounts_size(), 1);
  pb::AccountRecord other;
  grpc::Status reused = open("a-1", alice.user_id(), 999, &other);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(reused.error_message().find("different request"), std::string::npos) << reused.error_message();
  // One OPENED event, keyed by the account.
  auto records = env_.records("account.events");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].record->key.value_or(""), first.account_id());
  pb::AccountEvent ev;
  ASSERT_TRUE(ev.ParseFromString(records[0].record->value));
  EXPECT_EQ(ev.kind(), pb::AccountEvent::OPENED);
  EXPECT_EQ(ev.account().account_id(), first.account_id());
}

TEST_F(AccountTest, RetryFinishesACreateThatStoppedAfterClaimingItsKey) {
  pb::User alice = user("u-alice", "alice");
  // The first attempt claimed the key and died before writing the account.
  kit::StoreCall call;
  call.consistency = "ALL";
  ASSERT_TRUE(env_.store_
                  ->execute("INSERT INTO account.idempotency (idempotency_key, kind, result_id, fingerprint) VALUES "
                            "('a-crash', 'account', 'acc_crashed', '" + alice.user_id() + "\nGBP\n0')",
                            {}, call)
                  .ok());
  pb::AccountRecord a;
  grpc::Status s = open("a-crash", alice.user_id(), 0, &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.account_id(), "acc_crashed");
  auto listed = accounts_->listByUser(alice.user_id());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->accounts_size(), 1);
  EXPECT_EQ(listed->accounts(0).account_id(), "acc_crashed");
  pb::AccountRecord again;
  ASSERT_TRUE(open("a-crash", alice.user_id(), 0, &again).ok());
  EXPECT_TRUE(again.replayed());
}

TEST_F(AccountTest, FreezeUnfreezeAndCloseIsFinal) {
  pb::User alice = user("u-alice", "alice");
  pb::AccountRecord a, out;
  ASSERT_TRUE(open("a-1", alice.user_id(), 0, &a).ok());
  ASSERT_TRUE(setStatus(a.account_id(), pb::ACCOUNT_FROZEN, &out).ok());
  EXPECT_EQ(out.status(), pb::ACCOUNT_FROZEN);
  ASSERT_TRUE(setStatus(a.account_id(), pb::ACCOUNT_FROZEN, &out).ok());  // repeat: no change, no event
  ASSERT_TRUE(setStatus(a.account_id(), pb::ACCOUNT_ACTIVE, &out).ok());
  ASSERT_TRUE(setStatus(a.account_id(), pb::ACCOUNT_CLOSED, &out).ok());
  grpc::Status reopen = setStatus(a.account_id(), pb::ACCOUNT_ACTIVE, &out);
  EXPECT_EQ(reopen.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(reopen.error_message().find("is closed"), std::string::npos) << reopen.error_message();
  auto got = accounts_->get(a.account_id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status(), pb::ACCOUNT_CLOSED);
  std::vector<pb::AccountEvent::Kind> kinds;
  for (const auto& d : env_.records("account.events")) {
    pb::AccountEvent ev;
    ASSERT_TRUE(ev.ParseFromString(d.record->value));
    kinds.push_back(ev.kind());
  }
  EXPECT_EQ(kinds, (std::vector<pb::AccountEvent::Kind>{pb::AccountEvent::OPENED, pb::AccountEvent::STATUS_CHANGED,
                                                         pb::AccountEvent::STATUS_CHANGED,
                                                         pb::AccountEvent::STATUS_CHANGED}));
}

TEST_F(AccountTest, BadRequestsGetAStatusWithAReason) {
  pb::AccountRecord out;
  grpc::Status no_user = open("a-1", "user_missing", 0, &out);
  EXPECT_EQ(no_user.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(no_user.error_message().find("user_missing"), std::string::npos);
  pb::User alice = user("u-alice", "alice");
  grpc::Status negative = open("a-2", alice.user_id(), -1, &out);
  EXPECT_EQ(negative.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(negative.error_message().find("overdraft_limit_minor_units"), std::string::npos);
  grpc::Status currency = open("a-3", alice.user_id(), 0, &out, "pounds");
  EXPECT_EQ(currency.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(currency.error_message().find("ISO 4217"), std::string::npos);
  grpc::Status no_key = open("", alice.user_id(), 0, &out);
  EXPECT_EQ(no_key.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  pb::GetAccountRequest get;
  get.set_account_id("acc_nope");
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->Get(&ctx, get, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::CreateUserRequest bad_email;
  bad_email.set_idempotency_key("u-x");
  bad_email.set_name("x");
  bad_email.set_email("not-an-email");
  pb::User u;
  grpc::ClientContext ctx2;
  grpc::Status s = stub_->CreateUser(&ctx2, bad_email, &u);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("email"), std::string::npos);
}

}  // namespace
}  // namespace sandbank::account
