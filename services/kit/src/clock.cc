// kit::clock(): chosen once, on first use, from SANDBANK_CLOCK_FILE.
#include "sandbank/kit/clock.h"

#include <cstdlib>
#include <cstdio>
#include <memory>

#include "sandbank/core/clock_file.h"

namespace sandbank::kit {

const Clock& clock() {
  static const Clock* chosen = [] () -> const Clock* {
    const char* path = std::getenv("SANDBANK_CLOCK_FILE");
    if (path && *path) {
      auto offset = SharedClockOffset::open(path);
      if (offset.ok()) return new SharedOffsetClock(*offset);
      std::fprintf(stderr, "sandbank kit: %s; using real time\n", offset.status().toString().c_str());
    }
    return &SystemClock::instance();
  }();
  return *chosen;
}

}  // namespace sandbank::kit
