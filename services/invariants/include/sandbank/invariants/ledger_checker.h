// The ledger invariant checker: reads the ledger's and account service's tables through
// the kit store client and checks DOMAIN.md invariants 1-4 and 6:
//   1 every EntrySet balances per currency (from its own row and from its entry rows)
//   2 each cached balance equals the recomputation from entries
//   3 at most one EntrySet per idempotency key, and the key points at it
//   4 held = the sum of active holds (so available = settled - held), and available
//     >= -overdraft for account main addresses (>= 0 for pots)
//   6 every ended hold ended exactly once (one hold_ends row, matching its state); an
//     active hold has none
// Each violation names the invariant, the thing, what disagreed, and the rows it read.
// Thread-safety: check() is stateless; call it from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sandbank/core/result.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::invariants {

struct Violation {
  int invariant = 0;        // the number in DOMAIN.md
  std::string subject;      // "entryset es_1", "address account:a:main GBP", "hold hold_1"
  std::string detail;       // what disagreed, in words and numbers
  std::vector<std::string> rows;  // the rows that show it, as "table: col=value ..."
  std::string trace_id;           // the trace that shows it, when known
};

struct CheckReport {
  std::vector<Violation> violations;
  int64_t addresses = 0;
  int64_t entrysets = 0;
  int64_t entries = 0;
  int64_t holds = 0;
  int64_t visibility_reads = 0;    // acknowledged writes read back (invariant 8)
  std::vector<std::string> notes;  // what could not be checked, and why

  bool clean() const { return violations.empty(); }
  // Violations of one invariant.
  std::vector<Violation> of(int invariant) const;
  // A report a person can read: one paragraph per violation, then the counts.
  std::string toText() const;
};

struct CheckOptions {
  // Read at ALL so a lagging replica cannot hide a row from the checker (or, at
  // QUORUM, the checker sees what the services see).
  std::string consistency = "ALL";
};

// Errors only when the store cannot be read (e.g. Unavailable); a missing ledger
// keyspace is an empty, clean ledger.
Result<CheckReport> checkLedger(kit::StoreClient& store, const CheckOptions& options = {});

}  // namespace sandbank::invariants
