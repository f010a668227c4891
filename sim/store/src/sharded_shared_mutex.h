// ShardedSharedMutex: a reader-writer lock whose readers on different threads touch
// different cache lines, so the request hot path (many readers, rare schema/topology
// writers) does not bounce one lock word between cores. Writers take every shard.
// Thread-safety: a mutex; meets the SharedMutex requirements used by std::shared_lock
// and std::unique_lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <shared_mutex>

namespace sandbank::store {

class ShardedSharedMutex {
 public:
  void lock() {
    for (Slot& s : slots_) s.mu.lock();
  }
  void unlock() {
    for (Slot& s : slots_) s.mu.unlock();
  }
  void lock_shared() { slots_[threadSlot()].mu.lock_shared(); }
  void unlock_shared() { slots_[threadSlot()].mu.unlock_shared(); }

 private:
  static constexpr size_t kSlots = 8;
  struct alignas(64) Slot {
    std::shared_mutex mu;
  };
  static size_t threadSlot() {
    static std::atomic<size_t> next{0};
    thread_local size_t slot = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return slot;
  }
  std::array<Slot, kSlots> slots_;
};

}  // namespace sandbank::store
