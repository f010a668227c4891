// The exactly-once audit of acknowledged money movements: every movement the load
// generator saw acknowledged (load::LoadReport::movements) must be in the ledger exactly
// once. Each ledger EntrySet at a customer's addresses is traced back to the request
// that caused it (its "origin") through the ledger key the service chose and the
// service's own row:
//   p2p:<transfer>                  -> p2p.transfers.idempotency_key  -> transfer/<key>
//   pots:<move>                     -> pots.moves.idempotency_key     -> pot/<key>
//   card-processor:clearing:<auth>  -> clear/<auth>
//   fps:<payment>:<leg>             -> fps/<payment>/<leg>  (and fps.idempotency maps the
//                                      client's key to that payment, checked per movement)
// Customer routes' keys arrive at the services scoped by the edge ("edge:<user>:<key>"),
// so the audit expects the scoped key there and the client's key on scheme routes.
// An acknowledged movement passes when its origin has exactly one EntrySet at each
// address it touches (both accounts of a transfer; account and pot of a pot move). An
// authorise passes when exactly one hold at the account carries its hold key and it is
// the hold the answer named; a reverse when that hold is no longer active; a
// retransmitted authorise when it named the original's authorisation. Any origin with
// two EntrySets at one address is a duplicate, acknowledged or not.
// Thread-safety: auditLedger() is stateless; call it from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sandbank/core/result.h"
#include "sandbank/load/load_stats.h"

namespace sandbank::kit {
class StoreClient;
}  // namespace sandbank::kit

namespace sandbank::soak {

struct LedgerAudit {
  int64_t acknowledged = 0;     // movements checked (retransmissions counted apart)
  int64_t found_once = 0;       // ... found exactly once where expected
  int64_t missing = 0;          // ... not found (lost money movement)
  int64_t duplicated = 0;       // ... found more than once
  int64_t mismatched = 0;       // ... found, but not what the answer named
  int64_t retransmissions = 0;  // retransmitted authorises checked
  int64_t addresses = 0;        // customer addresses read
  int64_t entrysets = 0;        // EntrySets read at those addresses
  int64_t duplicate_origins = 0;  // origins with >1 EntrySet at one address (any request)
  int64_t unacknowledged_postings = 0;  // postings of requests that got no 2xx (ambiguous
                                        // outcomes: fine, reported for the record)
  std::vector<std::string> problems;    // the first 50, each naming key, trace and rows

  int64_t violations() const { return missing + duplicated + mismatched + duplicate_origins; }
};

// Reads at `consistency` (ALL by default: with every node up no replica can hide a row).
// Errors only when the store cannot be read.
Result<LedgerAudit> auditLedger(kit::StoreClient& store, const load::LoadReport& report,
                                const std::string& consistency = "ALL");

}  // namespace sandbank::soak
