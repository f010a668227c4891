// makeBankChecker: the control API's invariant check for a simulator running the bank
// (services/invariants over the simulator's store and bus). The simulator must outlive
// the checker.
// Thread-safety: the checker may be called from any thread.
#pragma once

#include "sandbank/control/check.h"

namespace sandbank::control {
class Simulator;
}  // namespace sandbank::control

namespace sandbank::cli {

control::InvariantChecker makeBankChecker(control::Simulator& sim);

}  // namespace sandbank::cli
