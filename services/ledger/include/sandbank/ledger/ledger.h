// Ledger: the bank's double-entry book kept in the store (keyspace `ledger`, tables in
// sandbank/bankcore/ledger_schema.h). EntrySets are checked to sum to zero per currency,
// posted at most once per idempotency key (LWT INSERT ... IF NOT EXISTS; a retry gets
// the original result), serialised per address, and published to `ledger.entrysets`.
// Holds lower available (= settled - held) and end exactly once (LWT IF state='active').
// The balance cache is updated under the address lock together with the entries.
// Thread-safety: every method may be called concurrently; postings touching the same
// address serialise on that address's lock stripe (stripes_).
#pragma once

#include <array>
#include <map>
#include <optional>
#include <unordered_map>
#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "sandbank/bank/ledger.pb.h"
#include "sandbank/bankcore/money.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::ledger {

namespace pb = ::sandbank::bank::ledger;

struct LedgerOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;  // for CREATE KEYSPACE IF NOT EXISTS
  std::string topic = "ledger.entrysets";
  // Store node id that coordinates every request (0 = the client's round robin). Which
  // replicas a quorum read consults depends on its coordinator, so tests that fault
  // single replicas pin it to know which copies the ledger sees.
  int coordinator = 0;
};

class Ledger {
 public:
  // Creates the keyspace and tables if missing and prepares statements. `store` and
  // `clock` must outlive the ledger; `bus` may be null (nothing is published).
  static Result<std::unique_ptr<Ledger>> open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                               LedgerOptions options = {});
  ~Ledger();

  // Contracts as in proto/sandbank/bank/ledger.proto. Errors: INVALID_ARGUMENT (bad or
  // unbalanced request, with the reason), FAILED_PRECONDITION (insufficient funds, key
  // reused for another request, hold already ended, known address read back empty),
  // NOT_FOUND, DATA_LOSS (cache disagrees with entries on verify), or the store's
  // Unavailable / WriteTimeout.
  Result<pb::PostEntrySetResponse> post(const pb::PostEntrySetRequest& request);
  Result<pb::EntrySet> getEntrySet(const std::string& entryset_id);
  Result<pb::Balance> balance(const std::string& address, bool verify);
  Result<pb::ListEntriesResponse> listEntries(const std::string& address, int limit);
  Result<pb::Hold> createHold(const pb::CreateHoldRequest& request);
  Result<pb::Hold> releaseHold(const pb::ReleaseHoldRequest& request);
  Result<pb::SettleHoldResponse> settleHold(const pb::SettleHoldRequest& request);
  Result<pb::Hold> getHold(const std::string& hold_id);
  Result<pb::ListHoldsResponse> listHolds(const std::string& address, bool active_only);

  struct Statements;

 private:
  struct CachedBalance {
    int64_t settled = 0;
    int64_t held = 0;
    int64_t entry_count = 0;
    bool present = false;
  };
  struct Claim {  // the outcome of claiming an idempotency key
    bool fresh = false;
    std::string result_id;
    std::string state;
    std::string reason;
  };

  Ledger(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, LedgerOptions options);
  Status init();
  kit::StoreCall call() const;
  kit::StoreCall lwtCall() const;
  kit::StoreCall writeCall();  // call() with the next monotonic write timestamp
  std::string newId(const char* prefix);
  Result<Claim> claimKey(const std::string& key, const std::string& kind, const std::string& fingerprint,
                         const std::string& new_id);
  Status finishKey(const std::string& key, const std::string& state, const std::string& reason);
  // Marks `key` posted without waiting; a failure is logged (the key stays pending, which
  // the next call with it recovers from).
  void finishKeyLater(const std::string& key);
  // The cached balance, or present=false for a new (address, currency) confirmed empty at
  // ALL. FAILED_PRECONDITION when the row is missing at our consistency but exists (or
  // `must_exist`); UNAVAILABLE when the confirmation read fails.
  Result<CachedBalance> readBalance(const std::string& address, const std::string& currency, bool must_exist = false);
  // Moves the cache row from `before` to `after` by LWT; when the row was something else,
  // rebuilds it with reconcile().
  Status writeBalance(const std::string& address, const std::string& currency, const CachedBalance& before,
                      const CachedBalance& after);
  // What writeBalance does with the outcome of its casBalance: remember `after` when
  // applied, reconcile when the row was something else.
  Status afterBalanceWrite(const std::string& address, const std::string& currency, const CachedBalance& after,
                           const Result<bool>& cas);
  // The balance rows this process last read or wrote, by "address\ncurrency".
  std::optional<CachedBalance> memoryBalance(const std::string& address, const std::string& currency);
  void rememberBalance(const std::string& address, const std::string& currency, std::optional<CachedBalance> b);
  // One LWT step: true when applied, else false with the row as found in `current`.
  Result<bool> casBalance(const std::string& address, const std::string& currency, const CachedBalance& before,
                          const CachedBalance& after, CachedBalance* current);
  // Sets the cache row to the recomputation from entries and active holds, read at ALL.
  Status reconcile(const std::string& address, const std::string& currency);
  Status rememberAddress(const std::string& address);
  bool knownInProcess(const std::string& address);
  Result<pb::PostEntrySetResponse> postClaimed(const std::string& entryset_id, const pb::PostEntrySetRequest& request,
                                               const std::vector<bank::Leg>& legs);
  // Finishes a posting whose key was claimed but never marked posted: rewrites its rows
  // and reconciles the caches of every address it touches.
  Result<pb::PostEntrySetResponse> recoverPosting(const std::string& entryset_id,
                                                  const pb::PostEntrySetRequest& request,
                                                  const std::vector<bank::Leg>& legs);
  // The prepared batch writing an EntrySet of `legs` legs, prepared once per size.
  Result<kit::StoreStatement> entrySetBatch(size_t legs);
  Status writeEntrySetRows(const std::string& entryset_id, const pb::PostEntrySetRequest& request,
                           const std::vector<bank::Leg>& legs, int64_t now_us);
  pb::PostEntrySetResponse responseFor(const std::string& entryset_id, const pb::PostEntrySetRequest& request,
                                       const std::vector<bank::Leg>& legs, int64_t now_us);
  Result<pb::Hold> createHoldClaimed(const std::string& hold_id, const pb::CreateHoldRequest& request,
                                     bool recovering);
  // For a retry of a release/settle that already ended the hold: writes its hold_ends row
  // again (same key, harmless) and rebuilds the cache, in case the first call stopped.
  Status finishHoldEnd(const pb::Hold& hold, const std::string& end_key, const std::string& state, int64_t ended_us);
  // False when a call with `key` is already running in this process.
  bool beginFlight(const std::string& key);
  void endFlight(const std::string& key);
  Result<pb::Hold> readHold(const std::string& hold_id);
  void publish(const pb::EntrySet& entryset);
  std::vector<std::unique_lock<std::mutex>> lockAddresses(const std::vector<std::string>& addresses);

  kit::StoreClient& store_;
  kit::BusProducer* bus_;
  const Clock& clock_;
  LedgerOptions options_;
  std::unique_ptr<Statements> st_;
  static constexpr size_t kStripes = 64;
  std::array<std::mutex, kStripes> stripes_;  // each guards postings to the addresses hashing to it
  std::mutex id_mu_;
  std::mt19937_64 rng_;  // guarded by id_mu_
  std::atomic<int64_t> last_write_us_{0};  // the last write timestamp handed out
  std::mutex memory_mu_;
  std::unordered_map<std::string, CachedBalance> memory_;  // guarded by memory_mu_
  std::mutex batch_mu_;
  std::map<size_t, kit::StoreStatement> batches_;  // by leg count; guarded by batch_mu_
  std::mutex flight_mu_;
  std::set<std::string> in_flight_;  // idempotency keys being posted now; guarded by flight_mu_
  std::mutex known_mu_;
  std::set<std::string> known_;  // addresses this process posted to; guarded by known_mu_
};

}  // namespace sandbank::ledger
