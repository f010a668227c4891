// The invariant check as the control API sees it: a request, what came back, and the
// function type the composition root plugs in. The checks themselves live with the bank
// (services/invariants); the control layer only carries them, so it does not depend on
// the bank's schemas.
// Thread-safety: value types; an InvariantChecker may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::control {

struct CheckSpec {
  // CL of the checker's own reads: ALL sees every replica's rows; LOCAL_QUORUM sees what
  // the services see.
  std::string consistency = "ALL";
  // How long to wait for every consumer group to catch up (lag 0) before checking the
  // "eventually" invariants; 0 checks at once.
  std::chrono::milliseconds settle{5000};
};

struct CheckViolation {
  int invariant = 0;  // DOMAIN.md's number
  std::string subject;
  std::string detail;
  std::string trace_id;           // the trace that shows it, when known
  std::vector<std::string> rows;  // rows and records that show it
};

struct CheckOutcome {
  std::vector<int> invariants;  // the invariants that were checked
  std::vector<CheckViolation> violations;
  std::vector<std::pair<std::string, int64_t>> counts;  // what was read: "entrysets" 120
  std::vector<std::string> notes;                       // e.g. "consumer lag 3 after 5s"
  bool clean() const { return violations.empty(); }
};

using InvariantChecker = std::function<Result<CheckOutcome>(const CheckSpec&)>;

// A report a person can read: a line per invariant (ok / N violations), then each
// violation with its rows and trace, then the counts and notes.
std::string formatCheckOutcome(const CheckOutcome& outcome);

}  // namespace sandbank::control
