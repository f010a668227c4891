// The process-wide SystemClock.
#include "sandbank/core/clock.h"

namespace sandbank {

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace sandbank
