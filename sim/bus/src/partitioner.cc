// murmur2 exactly as Kafka's Java client computes it. Thread-safety: stateless.
#include "sandbank/bus/partitioner.h"

#include <cassert>

namespace sandbank::bus {

int32_t murmur2(std::string_view key) {
  const uint32_t length = static_cast<uint32_t>(key.size());
  const uint32_t seed = 0x9747b28cu;
  const uint32_t m = 0x5bd1e995u;
  const int r = 24;
  uint32_t h = seed ^ length;
  const uint32_t length4 = length / 4;
  auto byteAt = [&](uint32_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(key[i])); };
  for (uint32_t i = 0; i < length4; ++i) {
    const uint32_t i4 = i * 4;
    uint32_t k = byteAt(i4) | (byteAt(i4 + 1) << 8) | (byteAt(i4 + 2) << 16) | (byteAt(i4 + 3) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= byteAt(tail + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byteAt(tail + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byteAt(tail);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t partitionForKey(std::string_view key, int32_t partitions) {
  assert(partitions > 0);
  return static_cast<int32_t>((static_cast<uint32_t>(murmur2(key)) & 0x7fffffffu) %
                              static_cast<uint32_t>(partitions));
}

}  // namespace sandbank::bus
