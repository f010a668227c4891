// What a load run has done so far (LoadStats, cheap to snapshot every second) and what
// it leaves behind (LoadReport: every money movement the bank acknowledged, so a soak can
// check each one is in the ledger exactly once). LatencyHistogram is the log-linear
// histogram behind the percentiles.
// Thread-safety: value types; LatencyHistogram is not synchronised (its owner locks).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sandbank/load/load_options.h"

namespace sandbank::load {

// Latencies from 1 us to ~19 hours in buckets of 1/16 of a power of two (<= 6.25%
// relative error); below 16 us each microsecond has its own bucket.
class LatencyHistogram {
 public:
  LatencyHistogram();
  void record(std::chrono::nanoseconds latency);
  void merge(const LatencyHistogram& other);
  uint64_t count() const { return count_; }
  std::chrono::nanoseconds max() const { return max_; }
  // The smallest recorded-bucket upper bound below which a fraction `q` (0..1] of the
  // samples fall, capped at max(); 0 when empty.
  std::chrono::nanoseconds percentile(double q) const;

 private:
  static constexpr int kSubBuckets = 16;
  static constexpr int kBuckets = 37 * kSubBuckets;
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  std::chrono::nanoseconds max_{0};
};

struct KindCounts {
  uint64_t attempted = 0;  // requests sent (a response or a transport error followed)
  uint64_t ok = 0;         // 2xx and not a refusal
  uint64_t declined = 0;   // 422, or a 2xx whose state says declined
  uint64_t failed = 0;     // any other status, a transport error or an unreadable answer
  uint64_t skipped = 0;    // not sent: what it needed (sign-up, authorise, pot) failed

  bool operator==(const KindCounts&) const = default;
};

struct LoadStats {
  std::chrono::nanoseconds elapsed{0};  // since start()
  bool running = false;
  uint64_t planned = 0;                 // steps in the plan; 0 for an unbounded run
  uint64_t attempted = 0;                // operations sent (each counted once)
  uint64_t requests = 0;                 // HTTP exchanges, retries and look-ups included
  uint64_t retries = 0;                  // sign-ups sent again after 503/504/no answer
  uint64_t ok = 0;
  uint64_t declined = 0;
  uint64_t failed = 0;
  uint64_t skipped = 0;
  std::array<KindCounts, kOpKindCount> by_kind{};
  // Failures by the edge's error code ("unavailable", "internal", ...); "transport" when
  // no HTTP answer came, "timeout" when it came too late, "bad_response" when the answer
  // could not be read. Also by HTTP status (0 = no HTTP answer).
  std::map<std::string, uint64_t> failures_by_code;
  std::map<int, uint64_t> failures_by_status;
  // Declines by reason ("insufficient_funds", "declined", ...).
  std::map<std::string, uint64_t> declines_by_reason;
  // Of successful responses (ok or declined) and failed ones alike.
  std::chrono::nanoseconds p50{0};
  std::chrono::nanoseconds p99{0};
  std::chrono::nanoseconds max{0};
  double current_rate = 0;              // requests completed per second, last second
  std::chrono::nanoseconds lag{0};      // how late the latest request started vs plan
  // Retransmitted authorises answered with a different authorisation id than the
  // original: the bank broke idempotency.
  uint64_t retransmit_mismatches = 0;

  const KindCounts& kind(OpKind k) const { return by_kind[static_cast<int>(k)]; }
};

// One money movement the bank acknowledged (a 2xx that is not a refusal). A soak can
// match each one against the ledger by `key`, which the bank uses as idempotency key.
// A retransmitted authorise yields a second record with the same key and
// `retransmission` set: it is the same movement, not a new one.
struct MoneyMovement {
  uint64_t step = 0;
  OpKind kind = OpKind::kGetPaid;
  std::string key;             // idempotency key / scheme_message_id / inbound payment_id
  int64_t amount_minor = 0;    // as requested (a clear: the presented amount)
  std::string currency;
  std::string account_id;      // the customer's account
  // The other side: another account id (transfer), a pot id, a merchant id (card),
  // "<sort code>/<account number>" (payment out) or the payer name (inbound).
  std::string counterparty;
  // Ids from the answer: "authorisation_id", "hold_id", "entryset_id", "transfer_id",
  // "payment_id", "pot_id", "debit_entryset_id" - whichever were present and non-empty.
  std::map<std::string, std::string> ids;
  std::string trace_id;        // the step's W3C trace id, for `sandbank flow --trace`
  bool replayed = false;       // the bank said it answered from its idempotency record
  bool retransmission = false;
};

struct CustomerRecord {
  int index = 0;
  bool signed_up = false;
  std::string email;
  std::string user_id;
  std::string account_id;
  std::string card_id;
};

struct LoadReport {
  LoadStats stats;
  std::vector<MoneyMovement> movements;  // in completion order
  std::vector<CustomerRecord> customers;
};

}  // namespace sandbank::load
