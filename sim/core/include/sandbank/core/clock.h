// Clock: the one source of time for engines and services, injected so tests can drive
// it. SystemClock reads the real clock; ShiftedClock is real time plus an offset that
// the simulator can advance ("clock.advance('7d')"); ManualClock only moves when told.
// Thread-safety: every implementation here is safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace sandbank {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Current simulated wall time. Never goes backwards for a given clock unless the
  // clock is explicitly set back (ManualClock::set).
  virtual TimePoint now() const = 0;
};

// Microseconds since the Unix epoch: the unit for timestamps in events and the store.
inline int64_t toMicros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
inline TimePoint fromMicros(int64_t us) { return TimePoint(std::chrono::microseconds(us)); }

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  // A process-wide instance for code that has nothing injected.
  static SystemClock& instance();
};

// Real time shifted forward by an offset that only grows (time never runs backwards).
class ShiftedClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::system_clock::now() + Duration(offset_.load(std::memory_order_relaxed));
  }
  // Moves simulated time forward by `d` (negative values are ignored).
  void advance(Duration d) {
    if (d.count() > 0) offset_.fetch_add(d.count(), std::memory_order_relaxed);
  }
  Duration offset() const { return Duration(offset_.load(std::memory_order_relaxed)); }
  void setOffset(Duration d) { offset_.store(d.count(), std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> offset_{0};
};

// Time that moves only when a test says so.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = fromMicros(1'700'000'000'000'000)) : now_(start) {}
  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += std::chrono::duration_cast<TimePoint::duration>(d);
  }
  void set(TimePoint t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;  // guarded by mu_
};

}  // namespace sandbank
