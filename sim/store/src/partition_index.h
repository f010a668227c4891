// PartitionIndex: one memtable shard's partitions, found by token with open addressing.
// A slot holds the token and a pointer, so a probe reads one compact array and touches a
// partition only when its token matches; this keeps a replica write to few cache misses.
// Thread-safety: none; the owning shard's mutex guards it.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replica_store_types.h"

namespace sandbank::store {

class PartitionIndex {
 public:
  PartitionIndex() = default;
  PartitionIndex(const PartitionIndex&) = delete;
  PartitionIndex& operator=(const PartitionIndex&) = delete;
  ~PartitionIndex() { clear(); }

  // The partition with this token and key bytes, or nullptr.
  StoredPartition* find(int64_t token, std::string_view key) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = home(token);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.entry == nullptr) return nullptr;
      if (s.entry != tombstone() && s.token == token && sameKey(s.entry->key_bytes, key)) return &s.entry->partition;
    }
  }

  // Finds the partition or creates an empty one for `schema`.
  StoredPartition* findOrInsert(int64_t token, std::string_view key, const TableSchema* schema) {
    if (StoredPartition* p = find(token, key)) return p;
    if ((used_ + 1) * 4 > slots_.size() * 3) rehash(live_ * 2 + 2 > slots_.size() / 2 ? slots_.size() * 2 : slots_.size());
    auto* e = new Entry{std::string(key), StoredPartition(schema)};
    e->partition.token = token;
    for (size_t i = home(token);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.entry == nullptr || s.entry == tombstone()) {
        if (s.entry == nullptr) ++used_;
        s = Slot{token, e};
        ++live_;
        return &e->partition;
      }
    }
  }

  void erase(int64_t token, std::string_view key) {
    if (slots_.empty()) return;
    for (size_t i = home(token);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.entry == nullptr) return;
      if (s.entry != tombstone() && s.token == token && s.entry->key_bytes == key) {
        delete s.entry;
        s.entry = tombstone();
        --live_;
        return;
      }
    }
  }

  // Calls fn(key_bytes, partition) for every partition; erases those for which it
  // returns true.
  template <class Fn>
  void forEach(Fn&& fn) {
    for (Slot& s : slots_) {
      if (s.entry == nullptr || s.entry == tombstone()) continue;
      if (fn(static_cast<const std::string&>(s.entry->key_bytes), s.entry->partition)) {
        delete s.entry;
        s.entry = tombstone();
        --live_;
      }
    }
  }

  void clear() {
    for (Slot& s : slots_) {
      if (s.entry != nullptr && s.entry != tombstone()) delete s.entry;
    }
    slots_.clear();
    mask_ = 0;
    used_ = 0;
    live_ = 0;
  }

  size_t size() const { return live_; }

 private:
  struct Entry {
    std::string key_bytes;
    StoredPartition partition;
  };
  struct Slot {
    int64_t token = 0;
    Entry* entry = nullptr;  // nullptr: never used; tombstone(): erased
  };
  // Key bytes equality; the tokens already matched, so this nearly always succeeds, and
  // short keys are compared inline rather than through a memcmp call.
  static bool sameKey(const std::string& a, std::string_view b) {
    if (a.size() != b.size()) return false;
    const char* x = a.data();
    const char* y = b.data();
    size_t n = a.size();
    for (; n >= 8; n -= 8, x += 8, y += 8) {
      uint64_t u, v;
      std::memcpy(&u, x, 8);
      std::memcpy(&v, y, 8);
      if (u != v) return false;
    }
    for (; n > 0; --n, ++x, ++y) {
      if (*x != *y) return false;
    }
    return true;
  }
  static Entry* tombstone() {
    static char marker;
    return reinterpret_cast<Entry*>(&marker);
  }
  size_t home(int64_t token) const {
    return static_cast<size_t>((static_cast<uint64_t>(token) * 0x9e3779b97f4a7c15ULL) >> 20) & mask_;
  }
  void rehash(size_t capacity) {
    if (capacity < 16) capacity = 16;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    used_ = 0;
    for (const Slot& s : old) {
      if (s.entry == nullptr || s.entry == tombstone()) continue;
      for (size_t i = home(s.token);; i = (i + 1) & mask_) {
        if (slots_[i].entry == nullptr) {
          slots_[i] = s;
          ++used_;
          break;
        }
      }
    }
  }

  std::vector<Slot> slots_;  // capacity is a power of two
  size_t mask_ = 0;
  size_t used_ = 0;  // live + erased slots
  size_t live_ = 0;
};

}  // namespace sandbank::store
