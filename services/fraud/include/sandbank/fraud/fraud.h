// Fraud: synchronous risk scoring of card authorisations and transfers by five rules
// (velocity, amount, frozen card, merchant category, new payee), each with its own weight;
// the risk is their sum capped at 100 and the verdict is BLOCK at or above a threshold.
// Velocity counts money-out activity per account in a sliding window of the simulated
// clock, fed both by this instance's own scoring calls and by `transaction.events`
// (so it sees what other instances and other services did). Every attempt is also
// written to the store, bucketed by account and window, and an account's window is
// loaded from there the first time an instance touches it, so a restart does not reset
// velocity. Known payees live in the store too (keyspace `fraud`,
// sandbank/bankcore/fraud_schema.h). Every decision is published on `fraud.decisions`,
// keyed by account id.
// Thread-safety: every method may be called concurrently; the velocity window is guarded
// by window_mu_, the known-payee cache by payees_mu_.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sandbank/bank/fraud.pb.h"
#include "sandbank/bank/transaction.pb.h"
#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/config.h"
#include "sandbank/kit/store_client.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace sandbank::fraud {

namespace pb = ::sandbank::bank::fraud;

// The rules' settings. Every field has an environment variable (see fromConfig).
struct FraudRules {
  // velocity: more than velocity_max money-out attempts in velocity_window fires.
  int64_t velocity_max = 10;
  std::chrono::microseconds velocity_window = std::chrono::minutes(1);
  int velocity_weight = 50;
  // amount: a single amount strictly above amount_threshold (minor units) fires.
  int64_t amount_threshold = 100'000;
  int amount_weight = 40;
  // frozen_card: the authorisation's card is frozen or cancelled (card.Get).
  bool frozen_card_check = true;
  std::chrono::milliseconds card_timeout{50};
  int frozen_card_weight = 100;
  // merchant_category: the merchant category code is in blocked_mccs.
  std::set<std::string> blocked_mccs = {"7995"};
  int merchant_category_weight = 100;
  // new_payee: the first transfer to a payee strictly above new_payee_threshold fires.
  int64_t new_payee_threshold = 50'000;
  int new_payee_weight = 40;
  // risk >= block_threshold is BLOCK.
  int block_threshold = 70;

  // FRAUD_VELOCITY_MAX, FRAUD_VELOCITY_WINDOW ("60s"), FRAUD_VELOCITY_WEIGHT,
  // FRAUD_AMOUNT_THRESHOLD, FRAUD_AMOUNT_WEIGHT, FRAUD_CARD_CHECK (true/false),
  // FRAUD_CARD_TIMEOUT ("50ms"), FRAUD_FROZEN_CARD_WEIGHT, FRAUD_BLOCKED_MCCS ("7995,6051";
  // empty = none), FRAUD_MERCHANT_CATEGORY_WEIGHT, FRAUD_NEW_PAYEE_THRESHOLD,
  // FRAUD_NEW_PAYEE_WEIGHT, FRAUD_BLOCK_THRESHOLD. Errors name the variable.
  static Result<FraudRules> fromConfig(const kit::Config& config);
};

struct FraudOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
  std::string topic = "fraud.decisions";
  FraudRules rules;
  // card.Get for the frozen-card rule; null = the rule cannot be checked (never fires).
  std::shared_ptr<grpc::Channel> card;
};

class Fraud {
 public:
  // Creates the keyspace and tables if missing. `store` and `clock` must outlive this;
  // `bus` may be null (decisions are not published).
  static Result<std::unique_ptr<Fraud>> open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                             FraudOptions options);
  ~Fraud();

  // As in proto/sandbank/bank/fraud.proto. Each call also counts as one money-out
  // attempt of the account for velocity, whatever the verdict. Errors: INVALID_ARGUMENT
  // (missing account, non-positive amount); the store's errors for the payee lookup.
  Result<pb::Score> scoreAuthorisation(const pb::ScoreAuthorisationRequest& request);
  Result<pb::Score> scoreTransfer(const pb::ScoreTransferRequest& request);

  // Feeds one record of `transaction.events` into the velocity window: the first
  // appearance of a money-out transaction (card, p2p, fps_out) counts once per
  // transaction id. It first takes the place of a matching attempt this instance scored
  // itself (same account, amount and kind), so an attempt is not counted twice. Events
  // older than the window are ignored. Idempotent for duplicate deliveries.
  void observe(const bank::transaction::TransactionEvent& event);

  // Starts consuming `transaction.events` into observe(). `options.group` should be
  // unique per instance: every instance needs every account's activity.
  Status startConsuming(kit::BusConsumerOptions options);
  void stopConsuming();

  // Transaction events that were counted (not duplicates, not too old), for tests and logs.
  int64_t observedTransactions() const;
  // Attempts of `account_id` in the window now.
  int64_t velocityCount(const std::string& account_id);

  // Blocks until every velocity row started so far is written (or has failed), through
  // StoreClient::drain: what the destructor does last, and what a test does before
  // another instance reads the store.
  void waitForWrites();

  struct Statements;

 private:
  enum class Kind { kCard, kTransfer };
  struct Attempt {
    std::string id;  // its row's attempt_id (see fraud_schema.h)
    int64_t at_us = 0;
    Kind kind = Kind::kCard;
    int64_t minor_units = 0;
    std::string currency;
    bool confirmed = false;  // seen on transaction.events (else scored here, not yet seen)
    std::string transaction_id;  // when confirmed
  };

  Fraud(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, FraudOptions options);
  Status init();
  // Counts the attempts in the window for `account` (pruning older ones) and records a
  // new unconfirmed one, in memory and in the store.
  int64_t countAndRecord(const std::string& account, Kind kind, const bank::Money& amount);
  // The first time this instance touches `account`: merges the attempts the store holds
  // for the window ending now into window_ (once per attempt and per transaction). A
  // store error is logged and the load retried on the next touch.
  void ensureLoaded(const std::string& account);
  // Starts writing (or rewriting, when confirmed) one attempt's row and returns; errors
  // are logged: a lost row only makes a restarted instance count less.
  void persist(const std::string& account, const Attempt& attempt);

  int64_t windowStart(int64_t at_us) const;
  void prune(std::deque<Attempt>& attempts, int64_t now_us);
  // Every 4096 records, drops empty accounts and forgotten transaction ids. Needs window_mu_.
  void maybeSweep(int64_t now_us);
  // The card's status via card.Get; an error when it could not be learned in time.
  Result<bool> cardFrozen(const std::string& card_id);
  Result<bool> knownPayee(const std::string& from, const std::string& to);
  Status rememberPayee(const std::string& from, const std::string& to);
  pb::Score verdict(int risk, std::vector<std::string> fired, std::vector<std::string> notes) const;
  void publish(const std::string& account_id, const char* subject, const pb::Score& score);

  kit::StoreClient& store_;
  kit::BusProducer* bus_;
  const Clock& clock_;
  FraudOptions options_;
  std::unique_ptr<Statements> st_;
  std::unique_ptr<kit::BusConsumer> consumer_;

  mutable std::mutex window_mu_;
  std::unordered_map<std::string, std::deque<Attempt>> window_;  // by account; guarded by window_mu_
  std::map<std::string, int64_t> seen_transactions_;  // transaction id -> at_us; guarded by window_mu_
  int64_t observed_ = 0;                              // guarded by window_mu_
  int64_t recorded_since_sweep_ = 0;                  // guarded by window_mu_
  std::unordered_set<std::string> loaded_;  // accounts merged from the store; guarded by window_mu_
  const std::string instance_;              // nonce in the ids of attempts scored here
  std::atomic<uint64_t> next_attempt_{0};
  bank::WriteTimestamps timestamps_;

  std::mutex payees_mu_;
  std::unordered_set<std::string> known_payees_;  // "from\nto"; guarded by payees_mu_
};

}  // namespace sandbank::fraud
