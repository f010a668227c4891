// The whole bank's invariant check, as `sandbank check`, the control API and the
// scenario runner run it: the ledger's invariants (1-4, 6) from its tables, the
// asynchronous side (5, 7) from the bus history and the transaction, feed and
// notification tables, and the visibility of acknowledged writes (8) from the bus
// history, merged into one report that lists which invariants were checked.
// Thread-safety: checkBank() is stateless; call it from any thread.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "sandbank/core/result.h"
#include "sandbank/invariants/ledger_checker.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::invariants {

struct BankCheckOptions {
  std::string consistency = "ALL";  // the checker's own reads of the ledger tables
  std::string bus_address;          // the bus (host:port) for the history-based checks
  int store_nodes = 3;              // coordinators asked for invariant 8
  // Wait up to this long for consumer lag 0 before checking (asynchronous invariants
  // hold "eventually"); lag left over is reported as a note.
  std::chrono::milliseconds settle{0};
};

struct BankCheckResult {
  std::vector<int> invariants;  // checked
  CheckReport report;           // all violations, counts and notes
  std::vector<std::pair<std::string, int64_t>> counts;  // what was read, by name
};

Result<BankCheckResult> checkBank(kit::StoreClient& store, const BankCheckOptions& options);

}  // namespace sandbank::invariants
