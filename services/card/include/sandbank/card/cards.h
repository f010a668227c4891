// Cards: payment cards issued to accounts, kept in the store (keyspace `card`, tables in
// sandbank/bankcore/card_schema.h). Issue is idempotent by key (bankcore IdempotencyKeys)
// and checks with the account service that the account exists and is active; each card
// gets a random scheme token (unique by LWT) and last four digits. Freeze / Unfreeze /
// Cancel are idempotent by value (a repeat changes nothing and publishes nothing) and move
// the status by LWT. Every change is published as CardEvent on `card.events`, keyed by
// account id.
// Thread-safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>

#include "sandbank/bank/card.pb.h"
#include "sandbank/bankcore/idempotency.h"
#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/store_client.h"

namespace grpc {
class Channel;
}

namespace sandbank::card {

namespace pb = ::sandbank::bank::card;

struct CardsOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
  std::string topic = "card.events";
  std::chrono::milliseconds upstream_timeout{2000};  // deadline of each account-service call
};

class Cards {
 public:
  // Creates the keyspace and tables if missing. `account` is the channel to the account
  // service (kit::channelTo("account") in the service, a fake in tests). `store` and
  // `clock` must outlive this; `bus` may be null (nothing is published).
  static Result<std::unique_ptr<Cards>> open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                             std::shared_ptr<grpc::Channel> account, CardsOptions options = {});
  ~Cards();

  // As in proto/sandbank/bank/card.proto. Errors: INVALID_ARGUMENT (names the field),
  // NOT_FOUND (unknown card, token or account), FAILED_PRECONDITION (account not active;
  // key reused for another request; a cancelled card changing), UNAVAILABLE (the account
  // service or the store could not answer; retry with the same key).
  Result<pb::CardRecord> issue(const pb::IssueRequest& request);
  Result<pb::CardRecord> getByToken(const std::string& token);
  Result<pb::CardRecord> get(const std::string& card_id);
  Result<pb::ListByAccountResponse> listByAccount(const std::string& account_id);
  Result<pb::CardRecord> freeze(const pb::FreezeRequest& request);
  Result<pb::CardRecord> unfreeze(const pb::FreezeRequest& request);
  Result<pb::CardRecord> cancel(const pb::CancelCardRequest& request);

  struct Statements;
  struct Upstream;

 private:
  Cards(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, CardsOptions options);
  Status init(std::shared_ptr<grpc::Channel> account);
  kit::StoreCall readCall() const;
  kit::StoreCall writeCall();
  kit::StoreCall lwtCall() const;
  // OK when the account exists and is active.
  Status checkAccount(const std::string& account_id);
  // A fresh token reserved for `card_id` in cards_by_token (IF NOT EXISTS).
  Result<std::string> reserveToken(const std::string& card_id);
  std::string randomDigits(int n);
  // Moves the card to `to` unless it is there already (then: no write, no event).
  Result<pb::CardRecord> changeStatus(const std::string& key, const std::string& card_id, pb::CardStatus to,
                                      pb::CardEvent::Kind kind);
  void publish(pb::CardEvent::Kind kind, const pb::CardRecord& card);

  kit::StoreClient& store_;
  kit::BusProducer* bus_;
  const Clock& clock_;
  CardsOptions options_;
  std::unique_ptr<Statements> st_;
  std::unique_ptr<Upstream> up_;
  std::unique_ptr<bank::IdempotencyKeys> keys_;
  bank::IdGenerator ids_;
  bank::WriteTimestamps timestamps_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // tokens and last four digits; guarded by rng_mu_
  // token -> card id, for tokens whose card was read back carrying that token. The pair
  // never changes once the card exists (a token is reserved by LWT and cards are never
  // re-tokenised), so a hit saves the cards_by_token read on every authorisation; the card
  // row itself is still read each time, so its status is never stale. Bounded: cleared
  // when it reaches kTokenCacheSize.
  static constexpr size_t kTokenCacheSize = 100000;
  std::mutex token_mu_;
  std::unordered_map<std::string, std::string> token_cache_;  // guarded by token_mu_
};

}  // namespace sandbank::card
