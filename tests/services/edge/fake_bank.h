// In-memory stand-ins for the bank services the edge calls (account, card, pots, fps,
// ledger, transaction, feed, p2p, card-processor), each a subclass of the generated
// ::Service, so edge tests run the real HTTP and gRPC paths without the real services.
// They honour idempotency keys, count calls per method, remember the last request and
// the traceparent they were called with, and can be told to fail.
// Thread-safety: every fake guards its state with its own mutex (FakeBase::mu_).
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/card.grpc.pb.h"
#include "sandbank/bank/card_processor.grpc.pb.h"
#include "sandbank/bank/feed.grpc.pb.h"
#include "sandbank/bank/fps.grpc.pb.h"
#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/bank/p2p.grpc.pb.h"
#include "sandbank/bank/pots.grpc.pb.h"
#include "sandbank/bank/transaction.grpc.pb.h"

namespace sandbank::edge::testing {

namespace account = ::sandbank::bank::account;
namespace card = ::sandbank::bank::card;
namespace cp = ::sandbank::bank::card_processor;
namespace feed = ::sandbank::bank::feed;
namespace fps = ::sandbank::bank::fps;
namespace ledger = ::sandbank::bank::ledger;
namespace p2p = ::sandbank::bank::p2p;
namespace pots = ::sandbank::bank::pots;
namespace txn = ::sandbank::bank::transaction;

class FakeBase {
 public:
  int calls(const std::string& method) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(method);
    return it == calls_.end() ? 0 : it->second;
  }
  std::vector<std::string> traceparents() const {
    std::lock_guard lock(mu_);
    return traceparents_;
  }
  // The next `times` calls of `method` fail with `code` before doing anything.
  void failNext(const std::string& method, grpc::StatusCode code, int times = 1) {
    std::lock_guard lock(mu_);
    failures_[method] = {code, times};
  }
  // Calls of `method` hold on until the caller's deadline cancels them.
  void hang(const std::string& method) {
    std::lock_guard lock(mu_);
    hanging_[method] = true;
  }

 protected:
  // Counts the call and records its traceparent; a non-OK result is what the fake must
  // answer instead of serving the call.
  grpc::Status enter(grpc::ServerContext* ctx, const std::string& method) {
    bool hang = false;
    {
      std::lock_guard lock(mu_);
      ++calls_[method];
      auto tp = ctx->client_metadata().find("traceparent");
      if (tp != ctx->client_metadata().end()) traceparents_.emplace_back(tp->second.data(), tp->second.size());
      auto f = failures_.find(method);
      if (f != failures_.end() && f->second.second > 0) {
        --f->second.second;
        return grpc::Status(f->second.first, "fake " + method + " told to fail");
      }
      hang = hanging_[method];
    }
    if (hang) {
      // Bounded: the edge's deadline cancels the call long before this runs out.
      for (int i = 0; i < 10000 && !ctx->IsCancelled(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the caller");
    }
    return grpc::Status::OK;
  }
  std::string next(const char* prefix) { return std::string(prefix) + "_" + std::to_string(++seq_); }

  mutable std::mutex mu_;
  std::map<std::string, int> calls_;  // guarded by mu_
  std::vector<std::string> traceparents_;  // guarded by mu_
  std::map<std::string, std::pair<grpc::StatusCode, int>> failures_;  // guarded by mu_
  std::map<std::string, bool> hanging_;  // guarded by mu_
  int seq_ = 0;  // guarded by mu_
};

#define SANDBANK_FAKE_ENTER(method)                  \
  if (auto s = enter(ctx, method); !s.ok()) return s; \
  std::lock_guard lock(mu_)

class FakeAccount final : public account::Account::Service, public FakeBase {
 public:
  grpc::Status CreateUser(grpc::ServerContext* ctx, const account::CreateUserRequest* r, account::User* out) override {
    SANDBANK_FAKE_ENTER("CreateUser");
    keys_.push_back(r->idempotency_key());
    auto& id = user_by_key_[r->idempotency_key()];
    if (id.empty()) {
      id = next("user");
      account::User u;
      u.set_user_id(id);
      u.set_name(r->name());
      u.set_email(r->email());
      users_[id] = u;
    }
    *out = users_[id];
    return grpc::Status::OK;
  }
  grpc::Status GetUser(grpc::ServerContext* ctx, const account::GetUserRequest* r, account::User* out) override {
    SANDBANK_FAKE_ENTER("GetUser");
    auto it = users_.find(r->user_id());
    if (it == users_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no user " + r->user_id());
    *out = it->second;
    return grpc::Status::OK;
  }
  grpc::Status Create(grpc::ServerContext* ctx, const account::CreateAccountRequest* r,
                      account::AccountRecord* out) override {
    SANDBANK_FAKE_ENTER("Create");
    keys_.push_back(r->idempotency_key());
    auto& id = account_by_key_[r->idempotency_key()];
    if (id.empty()) {
      id = next("acc");
      account::AccountRecord a;
      a.set_account_id(id);
      a.set_user_id(r->user_id());
      a.set_currency(r->currency().empty() ? "GBP" : r->currency());
      a.set_status(account::ACCOUNT_ACTIVE);
      a.set_ledger_address("account:" + id + ":main");
      a.set_created_at_us(1700000000000000);
      accounts_[id] = a;
    }
    *out = accounts_[id];
    return grpc::Status::OK;
  }
  grpc::Status Get(grpc::ServerContext* ctx, const account::GetAccountRequest* r, account::AccountRecord* out) override {
    SANDBANK_FAKE_ENTER("Get");
    auto it = accounts_.find(r->account_id());
    if (it == accounts_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no account " + r->account_id());
    *out = it->second;
    return grpc::Status::OK;
  }
  grpc::Status ListByUser(grpc::ServerContext* ctx, const account::ListByUserRequest* r,
                          account::ListByUserResponse* out) override {
    SANDBANK_FAKE_ENTER("ListByUser");
    for (const auto& [id, a] : accounts_)
      if (a.user_id() == r->user_id()) *out->add_accounts() = a;
    return grpc::Status::OK;
  }
  std::vector<std::string> keys() const {
    std::lock_guard lock(mu_);
    return keys_;
  }
  size_t users() const {
    std::lock_guard lock(mu_);
    return users_.size();
  }

 private:
  std::map<std::string, std::string> user_by_key_, account_by_key_;  // guarded by mu_
  std::map<std::string, account::User> users_;                        // guarded by mu_
  std::map<std::string, account::AccountRecord> accounts_;             // guarded by mu_
  std::vector<std::string> keys_;                                       // guarded by mu_
};

class FakeCard final : public card::Card::Service, public FakeBase {
 public:
  grpc::Status Issue(grpc::ServerContext* ctx, const card::IssueRequest* r, card::CardRecord* out) override {
    SANDBANK_FAKE_ENTER("Issue");
    auto& id = by_key_[r->idempotency_key()];
    if (id.empty()) {
      id = next("card");
      card::CardRecord c;
      c.set_card_id(id);
      c.set_account_id(r->account_id());
      c.set_token("tok_" + id);
      c.set_last_four("4242");
      c.set_status(card::CARD_ACTIVE);
      cards_[id] = c;
    }
    *out = cards_[id];
    return grpc::Status::OK;
  }
  grpc::Status GetByToken(grpc::ServerContext* ctx, const card::GetByTokenRequest*, card::CardRecord*) override {
    SANDBANK_FAKE_ENTER("GetByToken");
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not in the fake");
  }
  grpc::Status Get(grpc::ServerContext* ctx, const card::GetCardRequest* r, card::CardRecord* out) override {
    SANDBANK_FAKE_ENTER("Get");
    auto it = cards_.find(r->card_id());
    if (it == cards_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no card " + r->card_id());
    *out = it->second;
    return grpc::Status::OK;
  }
  grpc::Status ListByAccount(grpc::ServerContext* ctx, const card::ListByAccountRequest* r,
                             card::ListByAccountResponse* out) override {
    SANDBANK_FAKE_ENTER("ListByAccount");
    for (const auto& [id, c] : cards_)
      if (c.account_id() == r->account_id()) *out->add_cards() = c;
    return grpc::Status::OK;
  }
  grpc::Status Freeze(grpc::ServerContext* ctx, const card::FreezeRequest* r, card::CardRecord* out) override {
    return set(ctx, "Freeze", r, card::CARD_FROZEN, out);
  }
  grpc::Status Unfreeze(grpc::ServerContext* ctx, const card::FreezeRequest* r, card::CardRecord* out) override {
    return set(ctx, "Unfreeze", r, card::CARD_ACTIVE, out);
  }
  std::string lastKey() const {
    std::lock_guard lock(mu_);
    return last_key_;
  }

 private:
  grpc::Status set(grpc::ServerContext* ctx, const char* method, const card::FreezeRequest* r, card::CardStatus to,
                   card::CardRecord* out) {
    SANDBANK_FAKE_ENTER(method);
    last_key_ = r->idempotency_key();
    auto it = cards_.find(r->card_id());
    if (it == cards_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no card " + r->card_id());
    it->second.set_status(to);
    *out = it->second;
    return grpc::Status::OK;
  }
  std::map<std::string, std::string> by_key_;       // guarded by mu_
  std::map<std::string, card::CardRecord> cards_;  // guarded by mu_
  std::string last_key_;                            // guarded by mu_
};

class FakePots final : public pots::Pots::Service, public FakeBase {
 public:
  grpc::Status Create(grpc::ServerContext* ctx, const pots::CreatePotRequest* r, pots::Pot* out) override {
    SANDBANK_FAKE_ENTER("Create");
    last_key_ = r->idempotency_key();
    auto& id = by_key_[r->idempotency_key()];
    if (id.empty()) {
      id = next("pot");
      pots::Pot p;
      p.set_pot_id(id);
      p.set_account_id(r->account_id());
      p.set_name(r->name());
      p.set_currency(r->currency());
      p.set_ledger_address("pot:" + id);
      pots_[id] = p;
    }
    *out = pots_[id];
    return grpc::Status::OK;
  }
  grpc::Status Get(grpc::ServerContext* ctx, const pots::GetPotRequest* r, pots::Pot* out) override {
    SANDBANK_FAKE_ENTER("Get");
    auto it = pots_.find(r->pot_id());
    if (it == pots_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no pot " + r->pot_id());
    *out = it->second;
    return grpc::Status::OK;
  }
  grpc::Status ListByAccount(grpc::ServerContext* ctx, const pots::ListPotsRequest* r,
                             pots::ListPotsResponse* out) override {
    SANDBANK_FAKE_ENTER("ListByAccount");
    for (const auto& [id, p] : pots_)
      if (p.account_id() == r->account_id()) *out->add_pots() = p;
    return grpc::Status::OK;
  }
  grpc::Status Deposit(grpc::ServerContext* ctx, const pots::MoveRequest* r, pots::MoveResponse* out) override {
    return move(ctx, "Deposit", r, out);
  }
  grpc::Status Withdraw(grpc::ServerContext* ctx, const pots::MoveRequest* r, pots::MoveResponse* out) override {
    return move(ctx, "Withdraw", r, out);
  }
  pots::MoveRequest lastMove() const {
    std::lock_guard lock(mu_);
    return last_move_;
  }
  std::string lastKey() const {
    std::lock_guard lock(mu_);
    return last_key_;
  }

 private:
  grpc::Status move(grpc::ServerContext* ctx, const char* method, const pots::MoveRequest* r, pots::MoveResponse* out) {
    SANDBANK_FAKE_ENTER(method);
    last_move_ = *r;
    if (r->amount().minor_units() > 1'000'000) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "insufficient funds at account:x:main: available would be -1");
    }
    out->set_pot_id(r->pot_id());
    out->set_entryset_id(next("es"));
    return grpc::Status::OK;
  }
  std::map<std::string, std::string> by_key_;  // guarded by mu_
  std::map<std::string, pots::Pot> pots_;      // guarded by mu_
  pots::MoveRequest last_move_;                // guarded by mu_
  std::string last_key_;                       // guarded by mu_
};

class FakeFps final : public fps::Fps::Service, public FakeBase {
 public:
  grpc::Status Send(grpc::ServerContext* ctx, const fps::SendRequest* r, fps::PaymentRecord* out) override {
    SANDBANK_FAKE_ENTER("Send");
    auto& id = by_key_[r->idempotency_key()];
    if (id.empty()) {
      id = next("pay");
      fps::PaymentRecord p;
      p.set_payment_id(id);
      p.set_account_id(r->account_id());
      p.set_direction("out");
      *p.mutable_amount() = r->amount();
      p.set_counterparty_sort_code(r->sort_code());
      p.set_counterparty_account_number(r->account_number());
      p.set_reference(r->reference());
      p.set_state(fps::PAYMENT_PENDING);
      payments_[id] = p;
    }
    *out = payments_[id];
    return grpc::Status::OK;
  }
  grpc::Status HandleInbound(grpc::ServerContext* ctx, const fps::InboundRequest* r, fps::PaymentRecord* out) override {
    SANDBANK_FAKE_ENTER("HandleInbound");
    last_inbound_ = *r;
    out->set_payment_id(r->idempotency_key());
    out->set_account_id(r->account_id());
    out->set_direction("in");
    *out->mutable_amount() = r->amount();
    out->set_state(fps::PAYMENT_COMPLETED);
    return grpc::Status::OK;
  }
  grpc::Status GetPayment(grpc::ServerContext* ctx, const fps::GetPaymentRequest* r, fps::PaymentRecord* out) override {
    SANDBANK_FAKE_ENTER("GetPayment");
    auto it = payments_.find(r->payment_id());
    if (it == payments_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no payment " + r->payment_id());
    *out = it->second;
    return grpc::Status::OK;
  }
  fps::InboundRequest lastInbound() const {
    std::lock_guard lock(mu_);
    return last_inbound_;
  }

 private:
  std::map<std::string, std::string> by_key_;            // guarded by mu_
  std::map<std::string, fps::PaymentRecord> payments_;  // guarded by mu_
  fps::InboundRequest last_inbound_;                     // guarded by mu_
};

class FakeLedger final : public ledger::Ledger::Service, public FakeBase {
 public:
  grpc::Status GetBalance(grpc::ServerContext* ctx, const ledger::GetBalanceRequest* r, ledger::Balance* out) override {
    SANDBANK_FAKE_ENTER("GetBalance");
    out->set_address(r->address());
    out->set_known(true);
    out->set_entry_count(3);
    auto* gbp = out->add_currencies();
    gbp->set_currency("GBP");
    gbp->set_settled_minor_units(1250);
    gbp->set_held_minor_units(250);
    gbp->set_available_minor_units(1000);
    return grpc::Status::OK;
  }
};

class FakeTransaction final : public txn::Transaction::Service, public FakeBase {
 public:
  grpc::Status ListByAccount(grpc::ServerContext* ctx, const txn::ListByAccountRequest* r,
                             txn::ListByAccountResponse* out) override {
    SANDBANK_FAKE_ENTER("ListByAccount");
    last_limit_ = r->limit();
    auto* t = out->add_transactions();
    t->set_transaction_id("txn_1");
    t->set_account_id(r->account_id());
    t->set_state(txn::SETTLED);
    return grpc::Status::OK;
  }
  int32_t lastLimit() const {
    std::lock_guard lock(mu_);
    return last_limit_;
  }

 private:
  int32_t last_limit_ = -1;  // guarded by mu_
};

class FakeFeed final : public feed::Feed::Service, public FakeBase {
 public:
  grpc::Status ListFeed(grpc::ServerContext* ctx, const feed::ListFeedRequest* r, feed::ListFeedResponse* out) override {
    SANDBANK_FAKE_ENTER("ListFeed");
    last_limit_ = r->limit();
    auto* i = out->add_items();
    i->set_feed_item_id("fi_1");
    i->set_account_id(r->account_id());
    i->set_title("Coffee");
    return grpc::Status::OK;
  }
  int32_t lastLimit() const {
    std::lock_guard lock(mu_);
    return last_limit_;
  }

 private:
  int32_t last_limit_ = -1;  // guarded by mu_
};

class FakeP2p final : public p2p::P2p::Service, public FakeBase {
 public:
  grpc::Status CreateTransfer(grpc::ServerContext* ctx, const p2p::CreateTransferRequest* r,
                              p2p::TransferRecord* out) override {
    SANDBANK_FAKE_ENTER("CreateTransfer");
    last_ = *r;
    auto seen = fingerprints_.find(r->idempotency_key());
    const std::string fp = r->from_account_id() + r->to_account_id() + std::to_string(r->amount().minor_units());
    if (seen != fingerprints_.end() && seen->second != fp) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "idempotency key '" + r->idempotency_key() + "' was already used for a different request");
    }
    fingerprints_[r->idempotency_key()] = fp;
    if (r->amount().minor_units() > 1'000'000) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "insufficient funds at account:" + r->from_account_id() + ":main");
    }
    out->set_transfer_id("tr_" + r->idempotency_key());
    out->set_from_account_id(r->from_account_id());
    out->set_to_account_id(r->to_account_id());
    *out->mutable_amount() = r->amount();
    out->set_state(p2p::TRANSFER_COMPLETED);
    out->set_reference(r->reference());
    return grpc::Status::OK;
  }
  grpc::Status GetTransfer(grpc::ServerContext* ctx, const p2p::GetTransferRequest*, p2p::TransferRecord*) override {
    SANDBANK_FAKE_ENTER("GetTransfer");
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not in the fake");
  }
  p2p::CreateTransferRequest last() const {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  p2p::CreateTransferRequest last_;                 // guarded by mu_
  std::map<std::string, std::string> fingerprints_;  // guarded by mu_
};

class FakeCardProcessor final : public cp::CardProcessor::Service, public FakeBase {
 public:
  grpc::Status Authorise(grpc::ServerContext* ctx, const cp::AuthoriseRequest* r, cp::AuthoriseResponse* out) override {
    SANDBANK_FAKE_ENTER("Authorise");
    last_authorise_ = *r;
    out->set_authorisation_id("auth_" + r->idempotency_key());
    out->set_decision(cp::APPROVED);
    out->set_hold_id("hold_1");
    return grpc::Status::OK;
  }
  grpc::Status ApplyClearing(grpc::ServerContext* ctx, const cp::ClearingRequest* r, cp::ClearingResponse* out) override {
    SANDBANK_FAKE_ENTER("ApplyClearing");
    out->set_authorisation_id(r->authorisation_id());
    out->set_entryset_id("es_" + r->idempotency_key());
    return grpc::Status::OK;
  }
  grpc::Status Reverse(grpc::ServerContext* ctx, const cp::ReverseRequest* r, cp::ReverseResponse* out) override {
    SANDBANK_FAKE_ENTER("Reverse");
    out->set_authorisation_id(r->authorisation_id());
    return grpc::Status::OK;
  }
  cp::AuthoriseRequest lastAuthorise() const {
    std::lock_guard lock(mu_);
    return last_authorise_;
  }

 private:
  cp::AuthoriseRequest last_authorise_;  // guarded by mu_
};

#undef SANDBANK_FAKE_ENTER

}  // namespace sandbank::edge::testing
