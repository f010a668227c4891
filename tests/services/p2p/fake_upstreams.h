// Fakes of the services p2p, pots and fraud call (account, card, ledger, fraud), served
// over real gRPC on 127.0.0.1:0 by the tests. The fake ledger keeps balances per
// address, enforces floors and idempotency keys like the real one, counts postings, and
// can be told to lose its answer after posting (as a crash or a timeout would).
// Thread-safety: every fake guards its state with its own mu_; tests configure them
// between calls.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/card.grpc.pb.h"
#include "sandbank/bank/fraud.grpc.pb.h"
#include "sandbank/bank/ledger.grpc.pb.h"

namespace sandbank::bank::testing {

class FakeAccount final : public ::sandbank::bank::account::Account::Service {
 public:
  void add(const std::string& id, const std::string& currency, int64_t overdraft,
           ::sandbank::bank::account::AccountStatus status = ::sandbank::bank::account::ACCOUNT_ACTIVE) {
    std::lock_guard lock(mu_);
    auto& a = accounts_[id];
    a.set_account_id(id);
    a.set_user_id("user-of-" + id);
    a.set_currency(currency);
    a.set_overdraft_limit_minor_units(overdraft);
    a.set_status(status);
    a.set_ledger_address("account:" + id + ":main");
  }
  grpc::Status Get(grpc::ServerContext*, const ::sandbank::bank::account::GetAccountRequest* r,
                   ::sandbank::bank::account::AccountRecord* out) override {
    std::lock_guard lock(mu_);
    ++gets_;
    auto it = accounts_.find(r->account_id());
    if (it == accounts_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no account " + r->account_id());
    *out = it->second;
    return grpc::Status::OK;
  }
  int gets() {
    std::lock_guard lock(mu_);
    return gets_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, ::sandbank::bank::account::AccountRecord> accounts_;  // guarded by mu_
  int gets_ = 0;                                                               // guarded by mu_
};

class FakeCard final : public ::sandbank::bank::card::Card::Service {
 public:
  void add(const std::string& card_id, ::sandbank::bank::card::CardStatus status) {
    std::lock_guard lock(mu_);
    auto& c = cards_[card_id];
    c.set_card_id(card_id);
    c.set_account_id("acc-of-" + card_id);
    c.set_status(status);
  }
  grpc::Status Get(grpc::ServerContext*, const ::sandbank::bank::card::GetCardRequest* r,
                   ::sandbank::bank::card::CardRecord* out) override {
    std::lock_guard lock(mu_);
    auto it = cards_.find(r->card_id());
    if (it == cards_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no card " + r->card_id());
    *out = it->second;
    return grpc::Status::OK;
  }

 private:
  std::mutex mu_;
  std::map<std::string, ::sandbank::bank::card::CardRecord> cards_;  // guarded by mu_
};

// Answers ScoreTransfer with the configured score, or - when `hang` is set - only once
// the caller gave up (the call's deadline passed), as a fraud service stuck behind a
// slow store would.
class FakeFraud final : public ::sandbank::bank::fraud::Fraud::Service {
 public:
  void answer(::sandbank::bank::fraud::Verdict verdict, int risk, const std::string& reason) {
    std::lock_guard lock(mu_);
    score_.set_verdict(verdict);
    score_.set_risk(risk);
    score_.set_reason(reason);
  }
  void hang(bool on) {
    std::lock_guard lock(mu_);
    hang_ = on;
  }
  grpc::Status ScoreTransfer(grpc::ServerContext* ctx, const ::sandbank::bank::fraud::ScoreTransferRequest* r,
                             ::sandbank::bank::fraud::Score* out) override {
    std::unique_lock lock(mu_);
    ++calls_;
    last_ = *r;
    if (hang_) {
      // Not a sleep for synchronisation: the fake only returns once the client cancelled.
      while (!ctx->IsCancelled()) cv_.wait_for(lock, std::chrono::milliseconds(5));
      return grpc::Status(grpc::StatusCode::CANCELLED, "caller gave up");
    }
    *out = score_;
    return grpc::Status::OK;
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  ::sandbank::bank::fraud::ScoreTransferRequest last() {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  ::sandbank::bank::fraud::Score score_;  // guarded by mu_
  bool hang_ = false;                     // guarded by mu_
  int calls_ = 0;                         // guarded by mu_
  ::sandbank::bank::fraud::ScoreTransferRequest last_;  // guarded by mu_
};

class FakeLedger final : public ::sandbank::bank::ledger::Ledger::Service {
 public:
  using PostReq = ::sandbank::bank::ledger::PostEntrySetRequest;
  using PostResp = ::sandbank::bank::ledger::PostEntrySetResponse;

  void setBalance(const std::string& address, int64_t minor_units) {
    std::lock_guard lock(mu_);
    balances_[address] = minor_units;
  }
  int64_t balance(const std::string& address) {
    std::lock_guard lock(mu_);
    return balances_[address];
  }
  // The next `n` postings are applied but answered with UNAVAILABLE, as if the answer
  // was lost on the way back.
  void loseAnswers(int n) {
    std::lock_guard lock(mu_);
    lose_answers_ = n;
  }
  // The next `n` postings are refused with UNAVAILABLE before doing anything.
  void refuse(int n) {
    std::lock_guard lock(mu_);
    refuse_ = n;
  }
  // EntrySets applied (each key once).
  std::vector<PostReq> posted() {
    std::lock_guard lock(mu_);
    return posted_;
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

  grpc::Status PostEntrySet(grpc::ServerContext*, const PostReq* r, PostResp* out) override {
    std::lock_guard lock(mu_);
    ++calls_;
    if (refuse_ > 0) {
      --refuse_;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "Unavailable: ledger replicas down");
    }
    auto done = by_key_.find(r->idempotency_key());
    if (done != by_key_.end()) {
      if (done->second.request.SerializeAsString() != r->SerializeAsString()) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "idempotency key '" + r->idempotency_key() + "' was already used for a different request");
      }
      if (!done->second.rejection.empty()) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            done->second.rejection + " (the original result for this key)");
      }
      *out = done->second.response;
      out->set_replayed(true);
      return grpc::Status::OK;
    }
    Outcome& o = by_key_[r->idempotency_key()];
    o.request = *r;
    int64_t sum = 0;
    for (const auto& e : r->entries()) sum += e.amount().minor_units();
    if (sum != 0) {
      by_key_.erase(r->idempotency_key());
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "entries do not balance");
    }
    for (const auto& f : r->floors()) {
      int64_t after = balances_[f.address()];
      for (const auto& e : r->entries()) {
        if (e.address() == f.address()) after += e.amount().minor_units();
      }
      if (after < f.minimum_minor_units()) {
        o.rejection = "insufficient funds at " + f.address() + ": available would be " + std::to_string(after) +
                      ", below the floor " + std::to_string(f.minimum_minor_units());
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, o.rejection);
      }
    }
    for (const auto& e : r->entries()) balances_[e.address()] += e.amount().minor_units();
    posted_.push_back(*r);
    auto* es = o.response.mutable_entryset();
    es->set_entryset_id("es-" + std::to_string(posted_.size()));
    es->set_idempotency_key(r->idempotency_key());
    *es->mutable_entries() = r->entries();
    es->set_source(r->source());
    es->set_reference(r->reference());
    *out = o.response;
    if (lose_answers_ > 0) {
      --lose_answers_;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the answer was lost");
    }
    return grpc::Status::OK;
  }

 private:
  struct Outcome {
    PostReq request;
    PostResp response;
    std::string rejection;
  };
  std::mutex mu_;
  std::map<std::string, int64_t> balances_;  // guarded by mu_
  std::map<std::string, Outcome> by_key_;    // guarded by mu_
  std::vector<PostReq> posted_;              // guarded by mu_
  int calls_ = 0;                            // guarded by mu_
  int lose_answers_ = 0;                     // guarded by mu_
  int refuse_ = 0;                           // guarded by mu_
};

}  // namespace sandbank::bank::testing
