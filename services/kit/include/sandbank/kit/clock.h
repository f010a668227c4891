// The service's clock: real time shifted by the simulator's shared offset when
// SANDBANK_CLOCK_FILE is set, plain real time otherwise. Services read time only here,
// so advancing the simulated clock (hold expiry after 7 days) reaches them at once.
// Thread-safety: the returned clock is safe from any thread and lives for the process.
#pragma once

#include "sandbank/core/clock.h"

namespace sandbank::kit {

const Clock& clock();

}  // namespace sandbank::kit
