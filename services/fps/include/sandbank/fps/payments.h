// Payments: Faster Payments in and out for the reference bank, kept in the store
// (keyspace `fps`, tables in sandbank/bankcore/fps_schema.h).
//
//   Send:  account.Get -> fraud.ScoreTransfer -> row "created"
//          -> ledger  account:<id>:main -> scheme:fps:suspense   (fps:<id>:debit)  "pending"
//          -> hub.Submit (same payment id on every attempt)
//               ACK            -> suspense -> external:fps          (fps:<id>:settle)  "completed"
//               REJECT/timeout -> suspense -> account:<id>:main     (fps:<id>:reverse) "reversed"
//               unreachable    -> stays "pending"; the sweeper resubmits later
//   Inbound: scheme payment id -> row "created" -> external:fps -> account (fps:<id>:credit)
//
// Every EntrySet's ledger key derives from the payment id, so no retry or sweep ever
// debits, settles, reverses or credits twice; the choice between settling and
// reversing is made once by an LWT (pending -> completing | reversing) before either
// posting, so a payment can never be both. States only move forward (LWT IF state = ...).
// Thread-safety: every method may be called concurrently; the sweeper runs on its own
// thread and skips payments a call in this process is working on (flight_mu_).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "sandbank/bank/fps.pb.h"
#include "sandbank/bankcore/idempotency.h"
#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/store_client.h"

namespace grpc {
class Channel;
}

namespace sandbank::fps {

namespace pb = ::sandbank::bank::fps;

// The services fps calls; in the bank these are kit::channelTo("account") etc.
struct FpsUpstreams {
  std::shared_ptr<grpc::Channel> account;
  std::shared_ptr<grpc::Channel> fraud;
  std::shared_ptr<grpc::Channel> ledger;
  std::shared_ptr<grpc::Channel> hub;
};

// What a Send does when fraud scoring fails or misses its deadline.
enum class FraudPolicy { kFailOpen, kFailClosed };

struct PaymentsOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
  std::string topic = "fps.events";
  std::chrono::milliseconds upstream_timeout{3000};  // account and ledger calls
  std::chrono::milliseconds fraud_timeout{500};
  FraudPolicy fraud_policy = FraudPolicy::kFailOpen;
  std::chrono::milliseconds hub_timeout{2000};  // per Submit attempt
  int hub_attempts = 2;                         // Submits (same payment id) before a timeout reverses
  // Simulated time after which the sweeper resolves a payment that is not final.
  Duration pending_timeout = std::chrono::minutes(5);
};

// What one sweep did.
struct SweepReport {
  int examined = 0;  // open payments looked at
  int resolved = 0;  // brought to a final state by this sweep
  int failed = 0;    // still open because an upstream or the store failed (tried again next sweep)
};

class Payments {
 public:
  // Creates the keyspace and tables if missing and prepares statements. `store` and
  // `clock` must outlive this; `bus` may be null (nothing is published).
  static Result<std::unique_ptr<Payments>> open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                                FpsUpstreams upstreams, PaymentsOptions options = {});
  ~Payments();  // stops the sweeper

  // Faster Payment out. Returns the record: COMPLETED, REVERSED (with the reason),
  // DECLINED (fraud, insufficient funds, account not active; no money moved) or PENDING
  // (the hub was unreachable; the sweeper finishes it). A retry with the same key
  // returns the original payment (replayed = true), finishing it first if it was left
  // part-way. Errors: INVALID_ARGUMENT naming the field, NOT_FOUND (no such account),
  // FAILED_PRECONDITION (key reused for another request), UNAVAILABLE (an upstream or
  // the store failed; retry with the same key).
  Result<pb::PaymentRecord> send(const pb::SendRequest& request);

  // A payment from the scheme, keyed by the scheme's payment id (idempotency_key):
  // credits account:<id>:main from external:fps once; a replay returns the original
  // record with replayed = true. The account is given by account_id (sort_code and
  // account_number are recorded but not resolved). Errors: NOT_FOUND (unknown account)
  // or FAILED_PRECONDITION (closed account, or wrong currency) with nothing credited,
  // also on replay; INVALID_ARGUMENT; UNAVAILABLE.
  Result<pb::PaymentRecord> handleInbound(const pb::InboundRequest& request);

  Result<pb::PaymentRecord> getPayment(const std::string& payment_id);

  // One pass of the recovery sweeper: every open payment whose last change is older
  // than pending_timeout (simulated clock) is driven to a final state - a debit whose
  // answer was lost is re-posted under its key (a replay if it had landed), a pending
  // payment is resubmitted with its payment id to learn the outcome (reversed if the
  // hub still does not answer), a half-done settle/reverse/credit is re-posted.
  SweepReport sweepOnce();
  // Runs sweepOnce() every `interval` (real time) on a thread of its own until
  // stopSweeper() or destruction.
  void startSweeper(std::chrono::milliseconds interval);
  void stopSweeper();

  struct Statements;
  struct Stubs;
  struct Row;

 private:
  Payments(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, FpsUpstreams upstreams,
           PaymentsOptions options);
  Status init();
  kit::StoreCall readCall() const;
  kit::StoreCall writeCall();
  kit::StoreCall lwtCall() const;

  Result<std::optional<Row>> readRow(const std::string& payment_id);
  Status insertRow(const Row& row);
  // LWT: moves the row from `from` to row.state (writing its reason and entryset ids).
  // false when the row was no longer in `from` (someone else moved it).
  Result<bool> transition(const Row& row, std::string_view from);
  Status markOpen(const Row& row);
  Status markClosed(const Row& row);

  // Drives a row forward until it is final or cannot move now. `resolve`: the
  // sweeper's mode, where a hub that cannot be reached reverses the payment.
  Result<Row> drive(Row row, bool resolve);
  Result<Row> driveInbound(Row row);
  // One hub decision for `row`: ACK / REJECT, or "unanswered" (every attempt timed
  // out), or an error for an unreachable hub.
  struct HubAnswer;
  Result<HubAnswer> submitToHub(const Row& row);
  Result<std::string> post(const std::string& key, const std::string& from, const std::string& to, const Row& row,
                           const std::string& description, bool with_floor);
  Result<Row> decline(Row row, const std::string& reason, bool inserted);
  void publish(const Row& row);

  bool beginFlight(const std::string& payment_id);
  void endFlight(const std::string& payment_id);

  kit::StoreClient& store_;
  kit::BusProducer* bus_;
  const Clock& clock_;
  PaymentsOptions options_;
  std::unique_ptr<Statements> st_;
  std::unique_ptr<Stubs> stubs_;
  std::unique_ptr<bank::IdempotencyKeys> keys_;
  bank::IdGenerator ids_;
  bank::WriteTimestamps timestamps_;
  std::mutex flight_mu_;
  std::set<std::string> in_flight_;  // payment ids a call is driving now; guarded by flight_mu_
  std::mutex sweeper_mu_;
  std::condition_variable sweeper_cv_;
  bool sweeper_stop_ = false;  // guarded by sweeper_mu_
  std::thread sweeper_;
};

}  // namespace sandbank::fps
