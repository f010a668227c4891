// The card service over real gRPC with the store and bus in-process and a fake account
// service: issuing (account checks, unique tokens, idempotent retries), lookups, freeze /
// unfreeze / cancel idempotent by value, events on card.events, and bad requests.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <set>

#include "../bankcore/bank_test_env.h"
#include "fake_account.h"
#include "sandbank/bank/card.grpc.pb.h"
#include "sandbank/card/card_service.h"
#include "sandbank/card/cards.h"

namespace sandbank::card {
namespace {

namespace account_pb = ::sandbank::bank::account;

class CardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    bus::TopicConfig topic;
    topic.partitions = bank::testing::BankTestEnv::kPartitions;
    ASSERT_TRUE(env_.broker_->createTopic("card.events", topic).ok());
    accounts_.put("acc_alice", account_pb::ACCOUNT_ACTIVE);
    accounts_.put("acc_bob", account_pb::ACCOUNT_ACTIVE);
    accounts_.put("acc_frozen", account_pb::ACCOUNT_FROZEN);
    account_server_ = bank::testing::BankTestEnv::serve(&accounts_, &account_address_);
    ASSERT_NE(account_server_, nullptr);
    CardsOptions options;
    options.upstream_timeout = std::chrono::milliseconds(2000);
    auto cards = Cards::open(*env_.store_, env_.producer_.get(), env_.clock_,
                             grpc::CreateChannel(account_address_, grpc::InsecureChannelCredentials()), options);
    ASSERT_TRUE(cards.ok()) << cards.status().toString();
    cards_ = std::move(cards).value();
    service_ = makeCardGrpcService(*cards_);
    server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(server_, nullptr);
    stub_ = pb::Card::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (account_server_) account_server_->Shutdown();
    env_.stop();
  }

  grpc::Status issue(const std::string& key, const std::string& account_id, pb::CardRecord* out) {
    pb::IssueRequest req;
    req.set_idempotency_key(key);
    req.set_account_id(account_id);
    grpc::ClientContext ctx;
    return stub_->Issue(&ctx, req, out);
  }
  pb::CardRecord issued(const std::string& key, const std::string& account_id) {
    pb::CardRecord c;
    grpc::Status s = issue(key, account_id, &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return c;
  }
  grpc::Status freeze(const std::string& card_id, bool frozen, pb::CardRecord* out, const std::string& key = "k") {
    pb::FreezeRequest req;
    req.set_idempotency_key(key);
    req.set_card_id(card_id);
    grpc::ClientContext ctx;
    return frozen ? stub_->Freeze(&ctx, req, out) : stub_->Unfreeze(&ctx, req, out);
  }
  std::vector<pb::CardEvent> events() {
    std::vector<pb::CardEvent> out;
    for (const auto& d : env_.records("card.events")) {
      pb::CardEvent ev;
      EXPECT_TRUE(ev.ParseFromString(d.record->value));
      EXPECT_EQ(d.record->key.value_or(""), ev.card().account_id());
      out.push_back(ev);
    }
    return out;
  }

  bank::testing::BankTestEnv env_;
  bank::testing::FakeAccount accounts_;
  std::unique_ptr<grpc::Server> account_server_;
  std::string account_address_;
  std::unique_ptr<Cards> cards_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<pb::Card::Stub> stub_;
};

TEST_F(CardTest, IssuedCardsHaveUniqueTokensAndAreFoundByTokenIdAndAccount) {
  pb::CardRecord a1 = issued("i-1", "acc_alice");
  pb::CardRecord a2 = issued("i-2", "acc_alice");
  pb::CardRecord b1 = issued("i-3", "acc_bob");
  EXPECT_EQ(a1.status(), pb::CARD_ACTIVE);
  EXPECT_EQ(a1.account_id(), "acc_alice");
  EXPECT_EQ(a1.last_four().size(), 4u);
  EXPECT_EQ(a1.last_four().find_first_not_of("0123456789"), std::string::npos) << a1.last_four();
  EXPECT_EQ(std::set<std::string>({a1.token(), a2.token(), b1.token()}).size(), 3u);
  EXPECT_EQ(std::set<std::string>({a1.card_id(), a2.card_id(), b1.card_id()}).size(), 3u);

  pb::GetByTokenRequest by_token;
  by_token.set_token(a2.token());
  pb::CardRecord got;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->GetByToken(&ctx, by_token, &got).ok());
  EXPECT_EQ(got.card_id(), a2.card_id());
  EXPECT_EQ(got.last_four(), a2.last_four());

  pb::GetCardRequest get;
  get.set_card_id(b1.card_id());
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub_->Get(&ctx2, get, &got).ok());
  EXPECT_EQ(got.token(), b1.token());

  pb::ListByAccountRequest list;
  list.set_account_id("acc_alice");
  pb::ListByAccountResponse listed;
  grpc::ClientContext ctx3;
  ASSERT_TRUE(stub_->ListByAccount(&ctx3, list, &listed).ok());
  std::set<std::string> ids;
  for (const auto& c : listed.cards()) ids.insert(c.card_id());
  EXPECT_EQ(ids, (std::set<std::string>{a1.card_id(), a2.card_id()}));

  auto evs = events();
  ASSERT_EQ(evs.size(), 3u);
  for (const auto& ev : evs) EXPECT_EQ(ev.kind(), pb::CardEvent::ISSUED);
}

TEST_F(CardTest, RetriedIssueReturnsTheOriginalCardAndIssuesOne) {
  pb::CardRecord first = issued("i-1", "acc_alice");
  pb::CardRecord again = issued("i-1", "acc_alice");
  EXPECT_EQ(again.card_id(), first.card_id());
  EXPECT_EQ(again.token(), first.token());
  EXPECT_TRUE(again.replayed());
  EXPECT_FALSE(first.replayed());
  auto listed = cards_->listByAccount("acc_alice");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->cards_size(), 1);
  EXPECT_EQ(events().size(), 1u);
  // The same key for another account is refused.
  pb::CardRecord other;
  grpc::Status reused = issue("i-1", "acc_bob", &other);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(reused.error_message().find("different request"), std::string::npos) << reused.error_message();
}

TEST_F(CardTest, RetryFinishesAnIssueThatStoppedAfterClaimingItsKey) {
  kit::StoreCall call;
  call.consistency = "ALL";
  ASSERT_TRUE(env_.store_
                  ->execute("INSERT INTO card.idempotency (idempotency_key, kind, result_id, fingerprint) VALUES "
                            "('i-crash', 'card', 'card_crashed', 'acc_alice')",
                            {}, call)
                  .ok());
  pb::CardRecord c = issued("i-crash", "acc_alice");
  EXPECT_EQ(c.card_id(), "card_crashed");
  EXPECT_FALSE(c.token().empty());
  auto by_token = cards_->getByToken(c.token());
  ASSERT_TRUE(by_token.ok()) << by_token.status().toString();
  EXPECT_EQ(by_token->card_id(), "card_crashed");
  pb::CardRecord again = issued("i-crash", "acc_alice");
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.token(), c.token());
}

TEST_F(CardTest, IssueNeedsAnExistingActiveAccountAndAnAnsweringAccountService) {
  pb::CardRecord out;
  grpc::Status missing = issue("i-1", "acc_nobody", &out);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(missing.error_message().find("acc_nobody"), std::string::npos) << missing.error_message();
  grpc::Status frozen = issue("i-2", "acc_frozen", &out);
  EXPECT_EQ(frozen.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(frozen.error_message().find("active"), std::string::npos) << frozen.error_message();
  accounts_.setDown(true);
  grpc::Status down = issue("i-3", "acc_alice", &out);
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(down.error_message().find("account service"), std::string::npos) << down.error_message();
  // The same key works once the account service is back, and nothing was issued before.
  accounts_.setDown(false);
  pb::CardRecord c = issued("i-3", "acc_alice");
  EXPECT_FALSE(c.replayed());
  auto evs = events();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].card().card_id(), c.card_id());
}

TEST_F(CardTest, FreezeAndUnfreezeAreIdempotentByValue) {
  pb::CardRecord c = issued("i-1", "acc_alice");
  pb::CardRecord out;
  ASSERT_TRUE(freeze(c.card_id(), true, &out, "f-1").ok());
  EXPECT_EQ(out.status(), pb::CARD_FROZEN);
  ASSERT_TRUE(freeze(c.card_id(), true, &out, "f-2").ok());  // again: nothing changes
  EXPECT_EQ(out.status(), pb::CARD_FROZEN);
  auto by_token = cards_->getByToken(c.token());
  ASSERT_TRUE(by_token.ok());
  EXPECT_EQ(by_token->status(), pb::CARD_FROZEN);
  ASSERT_TRUE(freeze(c.card_id(), false, &out, "u-1").ok());
  EXPECT_EQ(out.status(), pb::CARD_ACTIVE);
  ASSERT_TRUE(freeze(c.card_id(), false, &out, "u-2").ok());
  std::vector<pb::CardEvent::Kind> kinds;
  for (const auto& ev : events()) kinds.push_back(ev.kind());
  EXPECT_EQ(kinds, (std::vector<pb::CardEvent::Kind>{pb::CardEvent::ISSUED, pb::CardEvent::FROZEN,
                                                      pb::CardEvent::UNFROZEN}));
}

TEST_F(CardTest, RepeatedTokenLookupsSeeTheCurrentStatusAndForgetADeletedCard) {
  pb::CardRecord c = issued("i-1", "acc_alice");
  ASSERT_TRUE(cards_->getByToken(c.token()).ok());  // remembers the token's card
  pb::CardRecord out;
  ASSERT_TRUE(freeze(c.card_id(), true, &out, "f-1").ok());
  auto frozen = cards_->getByToken(c.token());  // the remembered path still reads the card row
  ASSERT_TRUE(frozen.ok()) << frozen.status().toString();
  EXPECT_EQ(frozen->card_id(), c.card_id());
  EXPECT_EQ(frozen->status(), pb::CARD_FROZEN);
  // The card row goes (as in a store reset) but the token row stays: the token names no
  // card any more, whichever path answers.
  kit::StoreCall all;
  all.consistency = "ALL";
  ASSERT_TRUE(env_.store_->execute("DELETE FROM card.cards WHERE card_id = '" + c.card_id() + "'", {}, all).ok());
  auto gone = cards_->getByToken(c.token());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound) << gone.status().toString();
  EXPECT_EQ(cards_->getByToken("tok_unknown").status().code(), StatusCode::kNotFound);
}

TEST_F(CardTest, CancelledCardIsFinal) {
  pb::CardRecord c = issued("i-1", "acc_alice");
  pb::CancelCardRequest cancel;
  cancel.set_idempotency_key("c-1");
  cancel.set_card_id(c.card_id());
  pb::CardRecord out;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Cancel(&ctx, cancel, &out).ok());
  EXPECT_EQ(out.status(), pb::CARD_CANCELLED);
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub_->Cancel(&ctx2, cancel, &out).ok());  // a repeat: no event
  grpc::Status unfreeze = freeze(c.card_id(), false, &out);
  EXPECT_EQ(unfreeze.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(unfreeze.error_message().find("cancelled"), std::string::npos) << unfreeze.error_message();
  auto evs = events();
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[1].kind(), pb::CardEvent::CANCELLED);
}

TEST_F(CardTest, BadRequestsGetAStatusNamingTheField) {
  pb::CardRecord out;
  grpc::Status no_key = issue("", "acc_alice", &out);
  EXPECT_EQ(no_key.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(no_key.error_message().find("idempotency_key"), std::string::npos);
  grpc::Status no_account = issue("i-1", "", &out);
  EXPECT_EQ(no_account.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(no_account.error_message().find("account_id"), std::string::npos);
  pb::GetByTokenRequest by_token;
  grpc::ClientContext ctx;
  grpc::Status no_token = stub_->GetByToken(&ctx, by_token, &out);
  EXPECT_EQ(no_token.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  by_token.set_token("tok_unknown");
  grpc::ClientContext ctx2;
  EXPECT_EQ(stub_->GetByToken(&ctx2, by_token, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status unknown = freeze("card_unknown", true, &out);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status no_card = freeze("", true, &out);
  EXPECT_EQ(no_card.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(no_card.error_message().find("card_id"), std::string::npos);
  pb::CardRecord c = issued("i-2", "acc_alice");
  grpc::Status no_freeze_key = freeze(c.card_id(), true, &out, "");
  EXPECT_EQ(no_freeze_key.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace sandbank::card
