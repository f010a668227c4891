// Pots: savings pots, each the ledger address pot:<pot_id>, owned by one account. Pots
// and every deposit/withdrawal are kept in the store (keyspace `pots`,
// sandbank/bankcore/pots_schema.h); the money itself moves only by ledger EntrySets
// (account:<id>:main <-> pot:<pot_id>) whose idempotency keys derive from the request's,
// so a retry never posts twice. The ledger enforces the floors: a pot never below 0, the
// main account never below -overdraft. Changes are published on `pot.events`, keyed by
// the owning account id, and acknowledged by the bus before a call reports success.
// Thread-safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "sandbank/bank/pots.pb.h"
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

namespace sandbank::pots {

namespace pb = ::sandbank::bank::pots;

struct PotsOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
  std::string topic = "pot.events";
  std::chrono::milliseconds upstream_timeout{3000};  // account and ledger calls
  std::chrono::milliseconds publish_timeout{5000};   // waiting for the bus to ack an event
  // Simulated time after which the sweeper finishes a move left pending (a crash or an
  // outage between its steps, and no retry from the caller).
  std::chrono::microseconds pending_timeout = std::chrono::minutes(1);
  std::shared_ptr<grpc::Channel> account;
  std::shared_ptr<grpc::Channel> ledger;

  // POTS_CONSISTENCY, POTS_UPSTREAM_TIMEOUT ("3s"), POTS_PENDING_TIMEOUT ("60s"). Errors
  // name the variable.
  static Result<PotsOptions> fromConfig(const kit::Config& config);
};

class Pots {
 public:
  // Creates the keyspace and tables if missing. `store` and `clock` must outlive this;
  // `bus` may be null (nothing is published).
  static Result<std::unique_ptr<Pots>> open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                            PotsOptions options);
  ~Pots();

  // As in proto/sandbank/bank/pots.proto. Errors: INVALID_ARGUMENT (the field and why),
  // NOT_FOUND (pot or owner account), FAILED_PRECONDITION (currency differs from the
  // pot's or account's, account not active for a deposit, key reused for a different
  // request, or the ledger refused the move: "insufficient funds at ..."), UNAVAILABLE /
  // DEADLINE_EXCEEDED when a service or the store failed - retry with the same key.
  Result<pb::Pot> create(const pb::CreatePotRequest& request);
  Result<pb::Pot> get(const std::string& pot_id);
  Result<pb::ListPotsResponse> listByAccount(const std::string& account_id);
  Result<pb::MoveResponse> deposit(const pb::MoveRequest& request);
  Result<pb::MoveResponse> withdraw(const pb::MoveRequest& request);

  // One pass of the recovery sweeper: every move pending for pending_timeout is posted
  // again under its own ledger key (so the ledger applies it once) and recorded as
  // posted or refused. Instances may sweep concurrently: each move is claimed by one.
  // Listed ids without a row (a crash before the row) are dropped: no money moved.
  bank::SweepReport sweepOnce();
  // Runs sweepOnce every `interval` (wall time) on its own thread until stopSweeper().
  void startSweeper(std::chrono::milliseconds interval);
  void stopSweeper();

  struct Statements;
  struct Stubs;

 private:
  enum class Direction { kDeposit, kWithdraw };
  struct Move {
    std::string move_id;
    std::string idempotency_key;
    pb::Pot pot;
    Direction direction = Direction::kDeposit;
    int64_t minor_units = 0;
    std::string currency;
    int64_t floor = 0;  // the minimum of the debited address (main: -overdraft; pot: 0)
    std::string state;  // pending, posted, refused
    std::string entryset_id;
    std::string reason;
    int64_t created_us = 0;
    bool listed = false;  // on the open list (written pending at some point)
  };

  Pots(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, PotsOptions options);
  Status init();
  kit::StoreCall readCall() const;
  kit::StoreCall writeCall();
  Result<pb::MoveResponse> move(const pb::MoveRequest& request, Direction direction);
  // Posts a pending move's EntrySet and records the outcome.
  Result<pb::MoveResponse> post(Move move, bool replayed);
  Result<Move> readMove(const std::string& move_id);
  Status writeMove(const Move& move);
  // The sweeper's decision for one listed move: true once it is final.
  Result<bool> resolve(const std::string& move_id);
  // Publishes a PotEvent and waits for the bus's ack.
  Status publish(pb::PotEvent::Kind kind, const pb::Pot& pot, const Move* move);

  kit::StoreClient& store_;
  kit::BusProducer* bus_;
  const Clock& clock_;
  PotsOptions options_;
  std::unique_ptr<Statements> st_;
  std::unique_ptr<Stubs> stubs_;
  std::unique_ptr<bank::IdempotencyKeys> keys_;
  std::unique_ptr<bank::OpenItems> open_;
  bank::IdGenerator ids_;
  bank::WriteTimestamps timestamps_;
  bank::SweepLoop sweeper_;  // last: stopped before anything it uses goes
};

}  // namespace sandbank::pots
