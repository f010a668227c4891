// SpinMutex: the lock of one memtable shard. Its critical sections are a few hundred
// nanoseconds at most (a commit log slot, an index probe, a row merge), so waiting by
// spinning is cheaper than a futex sleep and wake; after a short spin a waiter yields,
// so a holder that the scheduler preempted on a busy machine still gets to run.
// Thread-safety: a mutex (BasicLockable, usable with std::lock_guard). Not recursive.
#pragma once

#include <atomic>
#include <thread>

namespace sandbank::store {

class SpinMutex {
 public:
  void lock() {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
        if (spins < 64) {
          cpuRelax();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  static void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  std::atomic<bool> locked_{false};
};

}  // namespace sandbank::store
