// ShardedSharedMutex: a reader-writer lock for state that requests read all the time and
// admin operations rarely change (schema, topology). Each thread counts itself in its own
// cache line, so readers on different cores never write a shared lock word; a writer
// raises a flag and waits for every slot to drain.
// Thread-safety: a mutex; meets the SharedMutex requirements used by std::shared_lock and
// std::unique_lock. Not recursive for writers; a reader must not take the write side.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <thread>

namespace sandbank::store {

class ShardedSharedMutex {
 public:
  void lock() {
    writer_mu_.lock();
    writer_.store(true, std::memory_order_seq_cst);
    for (Slot& s : slots_) {
      while (s.readers.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
    }
  }
  void unlock() {
    writer_.store(false, std::memory_order_seq_cst);
    writer_mu_.unlock();
  }
  void lock_shared() {
    Slot& s = slots_[threadSlot()];
    for (;;) {
      while (writer_.load(std::memory_order_acquire)) std::this_thread::yield();
      s.readers.fetch_add(1, std::memory_order_seq_cst);
      if (!writer_.load(std::memory_order_seq_cst)) return;
      s.readers.fetch_sub(1, std::memory_order_seq_cst);
    }
  }
  void unlock_shared() { slots_[threadSlot()].readers.fetch_sub(1, std::memory_order_release); }

 private:
  static constexpr size_t kSlots = 16;
  struct alignas(64) Slot {
    std::atomic<int> readers{0};
  };
  static size_t threadSlot() {
    static std::atomic<size_t> next{0};
    thread_local size_t slot = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return slot;
  }
  std::mutex writer_mu_;
  alignas(64) std::atomic<bool> writer_{false};
  std::array<Slot, kSlots> slots_;
};

}  // namespace sandbank::store
