// The asynchronous side's invariant checks (DOMAIN.md invariants 5 and 7), reading the
// bus's history (bus_history.h: every partition from its log start) as the independent
// evidence, and the transaction, feed and notification tables:
//   5 every approved authorisation on `card.authorisations` has exactly one transaction,
//     exactly one feed item and at most one push
//   7 transaction and payment states only move forward: each TransactionEvent's
//     previous_state -> state is a forward move, no state is left two ways, the current
//     row agrees with its history; each payment's states on `fps.events`, in offset order
//     per partition, never move back, and its row in fps.payments is not behind them
// Invariant 5 is "eventually": waiting for the consumers to catch up (e.g. until their
// lag is 0) is the caller's job; this checks what is there and reports counts.
// Each violation names the thing, what disagreed, and the records and rows that show it,
// with the trace id of a record's traceparent header when it has one.
// Thread-safety: checkAsync() is stateless; call it from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "sandbank/core/result.h"
#include "sandbank/invariants/ledger_checker.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::invariants {

struct AsyncCheckOptions {
  std::string bus_address;            // host:port of the bus (required)
  std::string consistency = "ALL";    // for the store reads, as in CheckOptions
};

struct AsyncCheckReport {
  CheckReport report;  // the violations of invariants 5 and 7 (ledger counts stay 0)
  int64_t approved_authorisations = 0;
  int64_t authorisation_records = 0;
  int64_t transaction_events = 0;
  int64_t transactions = 0;  // distinct transactions seen on transaction.events
  int64_t payment_events = 0;
  int64_t payments = 0;
  int64_t feed_items = 0;  // feed items found for approved authorisations
  int64_t pushes = 0;      // pushes found for those items

  bool clean() const { return report.clean(); }
  // One paragraph per violation, then the counts.
  std::string toText() const;
};

// Errors only when the bus or the store cannot be read; a topic or keyspace that does
// not exist yet is empty.
Result<AsyncCheckReport> checkAsync(kit::StoreClient& store, const AsyncCheckOptions& options);

}  // namespace sandbank::invariants
