// OpenItems: a service's list of work that is not final yet (a transfer or a pot move
// left pending, a payment in flight), kept in the store in a few bucket partitions because
// the store has no full scans, and the sweep that finishes what was left open too long
// (a crash between two steps). A sweeper claims an item by LWT before resolving it, so
// instances racing over one list resolve each item once; a claim whose sweeper died lapses
// after the same age. SweepLoop runs a sweep on its own thread every interval.
// Thread-safety: every method of both classes may be called from any thread.
//
//   add(id)  --row "open"-->  ... step ... step ...  --row final-->  remove(id)
//                 \ crash in between: sweep(older_than) claims it, resolve(id), remove(id)
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::bank {

// CREATE TABLE IF NOT EXISTS <keyspace>.<table> (bucket int, item_id text, since_us
// bigint, claimed_us bigint, PRIMARY KEY (bucket, item_id)). claimed_us is 0 when no
// sweeper holds the item, else when one claimed it.
std::string openItemsTableCql(std::string_view keyspace, std::string_view table);

// What one sweep did.
struct SweepReport {
  int examined = 0;    // listed items looked at
  int resolved = 0;    // made final by this sweep and taken off the list
  int still_open = 0;  // resolved but still not final (tried again next sweep)
  int failed = 0;      // the resolver or the store failed (tried again next sweep)
  int skipped = 0;     // another sweeper held or took the item first
};

class OpenItems {
 public:
  // Decides an item left open: true when it is final now (it is taken off the list),
  // false when it must stay open, an error when it could not be decided. Called on the
  // sweeping thread; it must be idempotent (a sweeper may die after resolving).
  using Resolver = std::function<Result<bool>(const std::string& item_id)>;

  // Prepares statements on `<keyspace>.<table>` (create it first, with
  // openItemsTableCql). `store` and `clock` must outlive this. `consistency` is the CL of
  // reads and writes (LOCAL_QUORUM in the bank); LWTs run at LOCAL_SERIAL.
  static Result<std::unique_ptr<OpenItems>> open(kit::StoreClient& store, std::string_view keyspace,
                                                 std::string_view table, std::string consistency, const Clock& clock,
                                                 int buckets = 16);

  // Lists `item_id` as open since now. Call BEFORE the item's first open row is written,
  // so an open item is never unlisted.
  Status add(const std::string& item_id);
  // Takes `item_id` off the list (an LWT, so it wins over any sweeper's claim). Call
  // AFTER the item's final row is written; a crash in between leaves a listed final item,
  // which the next sweep's resolver reports final.
  Status remove(const std::string& item_id);
  // Every listed item open for at least `older_than` of the clock and not claimed by a
  // live sweeper is claimed, resolved and, when final, removed.
  SweepReport sweep(Duration older_than, const Resolver& resolve);

 private:
  OpenItems(kit::StoreClient& store, std::string consistency, const Clock& clock, int buckets);
  kit::StoreCall call() const;
  kit::StoreCall lwtCall() const;

  kit::StoreClient& store_;
  const std::string consistency_;
  const Clock& clock_;
  const int buckets_;
  kit::StoreStatement add_, remove_, list_, claim_;
  WriteTimestamps timestamps_;
};

// Calls `sweep` every `interval` of wall time on its own thread until stop() or
// destruction. Wall time, not the simulated clock: that one may jump days at once, and
// the next sweep after a jump finds everything that aged meanwhile.
class SweepLoop {
 public:
  SweepLoop() = default;
  ~SweepLoop() { stop(); }
  SweepLoop(const SweepLoop&) = delete;
  SweepLoop& operator=(const SweepLoop&) = delete;

  // Starts (or restarts) the loop; `name` labels its log lines.
  void start(std::string name, std::chrono::milliseconds interval, std::function<SweepReport()> sweep);
  void stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace sandbank::bank
