// CardProcessor: the bank's side of the card scheme. It answers authorisations (card ->
// account -> fraud under a deadline -> ledger hold), applies clearings (presentments, whose
// amount may differ), reversals, and expires holds left uncleared for the hold TTL (7 days
// of simulated time). Authorisations live in the store (keyspace `card_processor`, tables in
// sandbank/bankcore/card_processor_schema.h); their state only moves forward, by LWT:
//
//   approved --clearing--> cleared         (SettleHold: hold ends, presented amount posted)
//            --reversal--> reversed        (ReleaseHold)
//            --TTL-------> expired         (ReleaseHold{expired}) by expireHolds()
//   declined (final)
//   reversed / expired --late presentment--> force-posted once (PostEntrySet, no hold left)
//
// Every scheme message is deduplicated by its id (the idempotency_key): a retransmission
// gets the original answer with replayed = true and never a second hold or posting. Each
// step after the state LWT (ledger call, event) is keyed by the authorisation, so a retry
// of a message that stopped half-way finishes it. Publishes AuthorisationEvent on
// `card.authorisations` (approved, declined, reversed, expired) and ClearingEvent on
// `card.clearings`, keyed by account id.
// Thread-safety: every method may be called concurrently; expireHolds() runs one at a time
// (sweep_mu_).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "sandbank/bank/card_processor.pb.h"
#include "sandbank/bankcore/idempotency.h"
#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/store_client.h"

namespace grpc {
class Channel;
}

namespace sandbank::card_processor {

namespace pb = ::sandbank::bank::card_processor;

// What an authorisation does when fraud scoring times out or fails: approve without a
// score (fail open, the default, as most issuers do for availability) or decline.
enum class FraudPolicy { kFailOpen, kFailClosed };
// "fail_open" / "fail_closed"; INVALID_ARGUMENT names the accepted values.
Result<FraudPolicy> parseFraudPolicy(std::string_view text);
std::string_view fraudPolicyName(FraudPolicy policy);

// The services an authorisation calls (kit::channelTo(...) in the service, fakes in tests).
struct Upstreams {
  std::shared_ptr<grpc::Channel> card, account, fraud, ledger;
};

struct CardProcessorOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
  std::string authorisations_topic = "card.authorisations";
  std::string clearings_topic = "card.clearings";
  std::chrono::milliseconds upstream_timeout{2000};  // card, account, ledger calls
  std::chrono::milliseconds fraud_timeout{200};      // the fraud score's deadline
  FraudPolicy fraud_policy = FraudPolicy::kFailOpen;
  std::chrono::microseconds hold_ttl = std::chrono::hours(24 * 7);  // simulated time
  std::string scheme_address = "scheme:mastercard:pending";          // where clearings settle to
  int sweep_batch = 200;  // index rows read per bucket and query by expireHolds()
};

class CardProcessor {
 public:
  // Creates the keyspace and tables if missing and prepares statements. `store` and
  // `clock` must outlive this; `bus` may be null (nothing is published). Every upstream
  // channel is required.
  static Result<std::unique_ptr<CardProcessor>> open(kit::StoreClient& store, kit::BusProducer* bus,
                                                     const Clock& clock, Upstreams upstreams,
                                                     CardProcessorOptions options = {});
  ~CardProcessor();

  // A declined authorisation is a successful answer (decision DECLINED, decline_reason
  // one of card_invalid, card_frozen, account_inactive, currency_not_supported, fraud,
  // fraud_timeout, fraud_unavailable, insufficient_funds). Errors: INVALID_ARGUMENT (the
  // field), FAILED_PRECONDITION (the message id was used for another request),
  // UNAVAILABLE (an upstream or the store failed; nothing was decided: retransmit).
  Result<pb::AuthoriseResponse> authorise(const pb::AuthoriseRequest& request);
  // Errors: INVALID_ARGUMENT, NOT_FOUND (unknown authorisation), FAILED_PRECONDITION
  // (declined, or already cleared by another presentment), UNAVAILABLE.
  Result<pb::ClearingResponse> applyClearing(const pb::ClearingRequest& request);
  // Errors: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (declined, cleared or
  // expired: the hold is gone), UNAVAILABLE. Reversing an already reversed authorisation
  // under another message id changes nothing and answers replayed = true.
  Result<pb::ReverseResponse> reverse(const pb::ReverseRequest& request);
  // Expires every approved authorisation whose hold TTL has passed at the clock's now,
  // ending its hold in the ledger once and publishing it; returns how many this call
  // expired. Safe to repeat (and to run beside clearings and reversals).
  Result<pb::ExpireHoldsResponse> expireHolds();
  Result<pb::AuthorisationRecord> getAuthorisation(const std::string& authorisation_id);

  struct Statements;
  struct Stubs;
  struct Stored;

 private:
  CardProcessor(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, CardProcessorOptions options);
  Status init(Upstreams upstreams);
  kit::StoreCall readCall() const;
  kit::StoreCall writeCall();
  kit::StoreCall lwtCall() const;
  Result<Stored> readStored(const std::string& authorisation_id);
  // card.GetByToken in flight (card_processor.cc): started before the key is claimed.
  struct CardLookup;
  // The decision steps of an authorisation whose key is claimed (`recovering`: an
  // earlier attempt with this key stopped before writing the record).
  Result<pb::AuthoriseResponse> decide(const pb::AuthoriseRequest& request, const std::string& authorisation_id,
                                       bool recovering, CardLookup& card_lookup);
  Result<pb::AuthoriseResponse> decline(pb::AuthorisationRecord record, const std::string& reason,
                                        const std::string& card_token);
  Result<pb::AuthoriseResponse> approve(pb::AuthorisationRecord record);
  // Ends the hold of an authorisation this process moved to reversed/expired, records
  // that, drops its expiry row and publishes it.
  Status finishEnd(Stored& stored, bool expired);
  Result<bool> expireOne(const std::string& authorisation_id, int64_t expires_us, int64_t now_us);
  Status dropExpiryRow(const std::string& authorisation_id, int64_t expires_us);
  void publishAuthorisation(const pb::AuthorisationRecord& record, const std::string& fallback_key);
  void publishClearing(const pb::ClearingEvent& event);
  bool beginFlight(const std::string& key);
  void endFlight(const std::string& key);

  kit::StoreClient& store_;
  kit::BusProducer* bus_;
  const Clock& clock_;
  CardProcessorOptions options_;
  std::unique_ptr<Statements> st_;
  std::unique_ptr<Stubs> stubs_;
  std::unique_ptr<bank::IdempotencyKeys> keys_;
  bank::IdGenerator ids_;
  bank::WriteTimestamps timestamps_;
  std::mutex sweep_mu_;  // one expireHolds() at a time
  std::mutex flight_mu_;
  std::set<std::string> in_flight_;  // authorisation keys being decided now; guarded by flight_mu_
};

// Calls CardProcessor::expireHolds() every `interval` of wall time on a thread of its own,
// so holds expire by themselves once the simulated clock has moved past their TTL.
// Thread-safety: construct and destroy on one thread; stop() is idempotent.
class HoldSweeper {
 public:
  HoldSweeper(CardProcessor& processor, std::chrono::milliseconds interval);
  ~HoldSweeper();
  void stop();
  // Sweeps completed so far (whatever they found).
  int64_t sweeps() const;

 private:
  void run();
  CardProcessor& processor_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  int64_t sweeps_ = 0;     // guarded by mu_
  std::thread thread_;
};

}  // namespace sandbank::card_processor
