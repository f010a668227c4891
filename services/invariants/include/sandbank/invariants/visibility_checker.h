// Invariant 8: when W + R > RF, an acknowledged write is visible to every later read.
// The ledger publishes an EntrySet on `ledger.entrysets` only after the store
// acknowledged its row at the ledger's write CL, so the topic is the history of
// acknowledged writes. Each of those rows is read back at `read_consistency` through
// every coordinator in turn; a row that one coordinator cannot see is a violation (the
// July 2019 scale-up without streaming is the way this fails). A read refused outright
// (Unavailable, ReadTimeout) is no stale read and is reported as a note, not a violation.
// Thread-safety: checkVisibility() is stateless; call it from any thread.
#pragma once

#include <string>

#include "sandbank/core/result.h"
#include "sandbank/invariants/ledger_checker.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::invariants {

struct VisibilityOptions {
  std::string bus_address;                     // where ledger.entrysets lives
  std::string read_consistency = "LOCAL_QUORUM";  // what the services read at
  int replication_factor = 3;
  int write_ack_replicas = 2;  // the ledger's LOCAL_QUORUM at RF 3
  int coordinators = 3;        // store nodes 1..N, each asked in turn
  int max_writes = 2000;       // the most recent acknowledged writes checked
};

// Violations of invariant 8 (and notes on reads that were refused). Errors only when the
// bus or the store cannot be asked at all.
Result<CheckReport> checkVisibility(kit::StoreClient& store, const VisibilityOptions& options);

}  // namespace sandbank::invariants
