// ShardedSharedMutex: a reader-writer lock for state that requests read all the time and
// admin operations rarely change (schema, topology). Each thread counts itself in a slot
// of its own, so readers on different cores never write a shared lock word, and a reader
// pays no atomic read-modify-write: the writer takes on the cost of the store-load fence
// with membarrier(2) (an asymmetric fence, as userspace RCU does), and readers only need
// a compiler barrier. Where membarrier is unavailable, readers use a full fence instead.
// Thread-safety: a mutex; meets the SharedMutex requirements used by std::shared_lock and
// std::unique_lock. Read locks may nest; not recursive for writers; a reader must not take
// the write side.
#pragma once

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

// ThreadSanitizer models neither membarrier(2) nor fences (GCC warns with -Wtsan), so a
// TSan build counts every reader with a seq_cst read-modify-write, which it does model.
#if defined(__SANITIZE_THREAD__)
#define SANDBANK_STORE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SANDBANK_STORE_TSAN 1
#endif
#endif

namespace sandbank::store {

namespace slot_lease {

// Slots handed out to threads for their lifetime; a thread beyond kExclusive shares the
// overflow slot and counts itself there with atomic read-modify-writes.
inline constexpr size_t kExclusive = 128;
inline constexpr size_t kOverflow = kExclusive;
inline std::atomic<uint64_t> taken[kExclusive / 64] = {};  // bit set: slot in use

struct Lease {
  size_t index = kOverflow;
  bool exclusive = false;
  Lease() {
    for (size_t w = 0; w < kExclusive / 64 && !exclusive; ++w) {
      uint64_t bits = taken[w].load(std::memory_order_relaxed);
      while (~bits != 0) {
        int free_bit = __builtin_ctzll(~bits);
        if (taken[w].compare_exchange_weak(bits, bits | (uint64_t{1} << free_bit), std::memory_order_acq_rel)) {
          index = w * 64 + static_cast<size_t>(free_bit);
          exclusive = true;
          break;
        }
      }
    }
  }
  ~Lease() {
    if (exclusive) taken[index / 64].fetch_and(~(uint64_t{1} << (index % 64)), std::memory_order_acq_rel);
  }
};

inline const Lease& mine() {
  thread_local Lease lease;
  return lease;
}

}  // namespace slot_lease

class ShardedSharedMutex {
 public:
  ShardedSharedMutex() {
    // Registration is per process and idempotent; failure (an old kernel, a seccomp
    // filter) leaves the symmetric protocol in place.
    asymmetric_ = syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  }

  void lock() {
    writer_mu_.lock();
    writer_.store(true, std::memory_order_seq_cst);
    // Every reader either already shows in its slot or will see writer_ set.
    // (After a successful registration this call cannot fail.)
    if (asymmetric_) syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    for (Slot& s : slots_) {
      while (s.readers.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
    }
  }
  void unlock() {
    writer_.store(false, std::memory_order_release);
    writer_mu_.unlock();
  }

  void lock_shared() {
    const slot_lease::Lease& lease = slot_lease::mine();
    Slot& s = slots_[lease.index];
    for (;;) {
      while (writer_.load(std::memory_order_acquire)) std::this_thread::yield();
      enter(s, lease.exclusive);
      if (!writer_.load(std::memory_order_acquire)) return;
      leave(s, lease.exclusive);
    }
  }
  void unlock_shared() {
    const slot_lease::Lease& lease = slot_lease::mine();
    leave(slots_[lease.index], lease.exclusive);
  }

 private:
  struct alignas(64) Slot {
    std::atomic<int> readers{0};
  };

  void enter(Slot& s, bool exclusive) {
#ifndef SANDBANK_STORE_TSAN
    if (exclusive) {
      // Only this thread writes its slot, so a plain increment is enough...
      s.readers.store(s.readers.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      // ...ordered before the writer_ check: by the writer's membarrier, or by a full fence.
      if (asymmetric_) {
        std::atomic_signal_fence(std::memory_order_seq_cst);
      } else {
        std::atomic_thread_fence(std::memory_order_seq_cst);
      }
      return;
    }
#else
    (void)exclusive;
#endif
    s.readers.fetch_add(1, std::memory_order_seq_cst);
  }
  static void leave(Slot& s, bool exclusive) {
    if (exclusive) {
      s.readers.store(s.readers.load(std::memory_order_relaxed) - 1, std::memory_order_release);
    } else {
      s.readers.fetch_sub(1, std::memory_order_release);
    }
  }

  bool asymmetric_ = false;  // set once in the constructor
  std::mutex writer_mu_;
  alignas(64) std::atomic<bool> writer_{false};
  std::array<Slot, slot_lease::kExclusive + 1> slots_;
};

}  // namespace sandbank::store
