// WriteTimestamps: strictly increasing write timestamps for a service's store writes, as
// the Cassandra drivers' monotonic generators make them, so two writes of one cell from
// the same service are ordered by last-write-wins even when the clock has not moved.
// Thread-safety: next() may be called from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "sandbank/core/clock.h"

namespace sandbank::bank {

class WriteTimestamps {
 public:
  // max(clock now, previous + 1), in microseconds.
  int64_t next(const Clock& clock) {
    const int64_t now = toMicros(clock.now());
    int64_t last = last_.load(std::memory_order_relaxed);
    int64_t n = 0;
    do {
      n = std::max(now, last + 1);
    } while (!last_.compare_exchange_weak(last, n, std::memory_order_relaxed));
    return n;
  }

 private:
  std::atomic<int64_t> last_{0};
};

}  // namespace sandbank::bank
