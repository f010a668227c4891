// Cassandra's MurmurHash.hash3_x64_128, including its quirk: tail bytes are read as
// signed Java bytes and sign-extended before being shifted into k1/k2.
// Thread-safety: pure functions.
#include "sandbank/store/murmur3.h"

#include <cstring>
#include <limits>

namespace sandbank::store {
namespace {

inline uint64_t rotl64(uint64_t v, int n) { return (v << n) | (v >> (64 - n)); }

inline uint64_t fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// Eight bytes as a little-endian integer.
inline uint64_t getblock(const unsigned char* p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
#else
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
#endif
}

// A tail byte as Java's (long) key.get(i): sign-extended.
inline uint64_t tailByte(const unsigned char* p, int i) {
  return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(p[i])));
}

}  // namespace

Hash128 cassandraMurmur3(std::string_view bytes, int64_t seed) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t length = bytes.size();
  const size_t nblocks = length >> 4;
  uint64_t h1 = static_cast<uint64_t>(seed);
  uint64_t h2 = static_cast<uint64_t>(seed);
  const uint64_t c1 = 0x87c37b91114253d5ULL;
  const uint64_t c2 = 0x4cf5ad432745937fULL;

  for (size_t i = 0; i < nblocks; ++i) {
    uint64_t k1 = getblock(data + i * 16);
    uint64_t k2 = getblock(data + i * 16 + 8);
    k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2; h1 ^= k1;
    h1 = rotl64(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
    k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1; h2 ^= k2;
    h2 = rotl64(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
  }

  const unsigned char* tail = data + nblocks * 16;
  uint64_t k1 = 0;
  uint64_t k2 = 0;
  switch (length & 15) {
    case 15: k2 ^= tailByte(tail, 14) << 48; [[fallthrough]];
    case 14: k2 ^= tailByte(tail, 13) << 40; [[fallthrough]];
    case 13: k2 ^= tailByte(tail, 12) << 32; [[fallthrough]];
    case 12: k2 ^= tailByte(tail, 11) << 24; [[fallthrough]];
    case 11: k2 ^= tailByte(tail, 10) << 16; [[fallthrough]];
    case 10: k2 ^= tailByte(tail, 9) << 8; [[fallthrough]];
    case 9:
      k2 ^= tailByte(tail, 8);
      k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1; h2 ^= k2;
      [[fallthrough]];
    case 8: k1 ^= tailByte(tail, 7) << 56; [[fallthrough]];
    case 7: k1 ^= tailByte(tail, 6) << 48; [[fallthrough]];
    case 6: k1 ^= tailByte(tail, 5) << 40; [[fallthrough]];
    case 5: k1 ^= tailByte(tail, 4) << 32; [[fallthrough]];
    case 4: k1 ^= tailByte(tail, 3) << 24; [[fallthrough]];
    case 3: k1 ^= tailByte(tail, 2) << 16; [[fallthrough]];
    case 2: k1 ^= tailByte(tail, 1) << 8; [[fallthrough]];
    case 1:
      k1 ^= tailByte(tail, 0);
      k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2; h1 ^= k1;
      break;
    default:
      break;
  }

  h1 ^= length;
  h2 ^= length;
  h1 += h2;
  h2 += h1;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 += h2;
  h2 += h1;
  return {static_cast<int64_t>(h1), static_cast<int64_t>(h2)};
}

int64_t murmur3Token(std::string_view key_bytes) {
  int64_t h = cassandraMurmur3(key_bytes).h1;
  return h == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : h;
}

}  // namespace sandbank::store
