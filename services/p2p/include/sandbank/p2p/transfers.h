// Transfers: bank-internal payments between two accounts. A transfer is validated
// (accounts exist, active, same currency, not to self), scored by fraud under a deadline
// with an explicit fail-open / fail-closed policy, then moved by ONE ledger EntrySet
// (account:<from>:main -> account:<to>:main) whose ledger idempotency key derives from
// the transfer's, so no retry posts twice. Transfers live in the store (keyspace `p2p`,
// sandbank/bankcore/p2p_schema.h); completed ones are published on `transfer.events`
// once per side, keyed by that side's account id.
//
//   claim key --> stored row? --none--> account.Get x2 --> fraud.ScoreTransfer --BLOCK--> declined
//                   |                                         | ALLOW (or no answer and fail_open)
//                   +-- pending ------------------------> row "pending" --> ledger.PostEntrySet
//                   |                                                         | posted / insufficient funds
//                   +-- completed/declined: replayed   events acked --> row "completed" / "declined"
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "sandbank/bank/p2p.pb.h"
#include "sandbank/bankcore/idempotency.h"
#include "sandbank/bankcore/open_items.h"
#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/config.h"
#include "sandbank/kit/store_client.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace sandbank::p2p {

namespace pb = ::sandbank::bank::p2p;

enum class FraudPolicy {
  kFailOpen,    // fraud unreachable or too slow: the transfer goes ahead
  kFailClosed,  // ... the transfer is declined ("fraud_unavailable")
};

struct TransfersOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
  std::string topic = "transfer.events";
  FraudPolicy fraud_policy = FraudPolicy::kFailClosed;
  std::chrono::milliseconds fraud_timeout{200};
  std::chrono::milliseconds upstream_timeout{3000};  // account and ledger calls
  std::chrono::milliseconds publish_timeout{5000};   // waiting for the bus to ack events
  // Simulated time after which the sweeper finishes a transfer left PENDING (a crash or
  // an outage between its steps, and no retry from the caller).
  std::chrono::microseconds pending_timeout = std::chrono::minutes(1);
  // Channels to the services called (kit::channelTo in main, fakes in tests).
  std::shared_ptr<grpc::Channel> account;
  std::shared_ptr<grpc::Channel> fraud;
  std::shared_ptr<grpc::Channel> ledger;

  // P2P_CONSISTENCY, P2P_FRAUD_POLICY (fail_open | fail_closed), P2P_FRAUD_TIMEOUT
  // ("200ms"), P2P_UPSTREAM_TIMEOUT ("3s"), P2P_PENDING_TIMEOUT ("60s"). Errors name the
  // variable.
  static Result<TransfersOptions> fromConfig(const kit::Config& config);
};

class Transfers {
 public:
  // Creates the keyspace and tables if missing. `store` and `clock` must outlive this;
  // `bus` may be null (nothing is published).
  static Result<std::unique_ptr<Transfers>> open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                                 TransfersOptions options);
  ~Transfers();

  // As in proto/sandbank/bank/p2p.proto. A refused transfer (fraud, insufficient funds)
  // is a TransferRecord in TRANSFER_DECLINED with decline_reason "fraud_blocked",
  // "fraud_unavailable" or "insufficient_funds". Errors: INVALID_ARGUMENT (the field and
  // why), NOT_FOUND (an account), FAILED_PRECONDITION (an account not active, currencies
  // differ, key reused for a different request), UNAVAILABLE / DEADLINE_EXCEEDED when a
  // service or the store failed - retry with the same key: it never posts twice.
  Result<pb::TransferRecord> createTransfer(const pb::CreateTransferRequest& request);
  Result<pb::TransferRecord> getTransfer(const std::string& transfer_id);

  // One pass of the recovery sweeper: every transfer PENDING for pending_timeout is
  // posted again under its own ledger key (so the ledger applies it once) and finished,
  // COMPLETED or DECLINED insufficient_funds. Instances may sweep concurrently: each
  // transfer is claimed by one. Listed ids without a row (a crash before the row) are
  // dropped: no money moved, and a retry with the key lists the transfer again.
  bank::SweepReport sweepOnce();
  // Runs sweepOnce every `interval` (wall time) on its own thread until stopSweeper().
  void startSweeper(std::chrono::milliseconds interval);
  void stopSweeper();

  struct Statements;
  struct Stubs;

 private:
  // A stored transfer with what only the service needs: its key and the payer's floor.
  struct Row {
    pb::TransferRecord record;
    std::string idempotency_key;
    int64_t floor = 0;  // the payer's minimum available balance (-overdraft)
    bool listed = false;  // on the open list (written PENDING at some point)
  };

  Transfers(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, TransfersOptions options);
  Status init();
  kit::StoreCall readCall() const;
  kit::StoreCall writeCall();
  // The stored transfer, or NOT_FOUND.
  Result<Row> read(const std::string& transfer_id);
  Status write(const Row& row);
  // Checks both accounts and the currencies against the request; sets the payer's floor.
  Status validateAccounts(const pb::CreateTransferRequest& request, int64_t* floor);
  // The fraud verdict: empty when the transfer may go ahead, else the decline reason.
  std::string fraudCheck(const pb::CreateTransferRequest& request, const std::string& transfer_id);
  // Posts the EntrySet of a pending transfer and finishes it (completed or declined).
  Result<pb::TransferRecord> post(Row row);
  // Publishes the finished transfer, stores it and returns it.
  Result<pb::TransferRecord> finish(Row row);
  // Publishes the transfer on each side it concerns and waits for the bus's acks.
  Status publish(const pb::TransferRecord& t);
  // The sweeper's decision for one listed transfer: true once it is final.
  Result<bool> resolve(const std::string& transfer_id);

  kit::StoreClient& store_;
  kit::BusProducer* bus_;
  const Clock& clock_;
  TransfersOptions options_;
  std::unique_ptr<Statements> st_;
  std::unique_ptr<Stubs> stubs_;
  std::unique_ptr<bank::IdempotencyKeys> keys_;
  std::unique_ptr<bank::OpenItems> open_;
  bank::IdGenerator ids_;
  bank::WriteTimestamps timestamps_;
  bank::SweepLoop sweeper_;  // last: stopped before anything it uses goes
};

}  // namespace sandbank::p2p
