// Murmur3 tokens exactly as Cassandra's Murmur3Partitioner computes them: MurmurHash3
// x64 128-bit with seed 0, Cassandra's sign-extended tail bytes included, keeping the
// first 64 bits, with Long.MIN_VALUE mapped to Long.MAX_VALUE.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace sandbank::store {

struct Hash128 {
  int64_t h1;
  int64_t h2;
};

Hash128 cassandraMurmur3(std::string_view bytes, int64_t seed = 0);

// The token of serialized partition key bytes.
int64_t murmur3Token(std::string_view key_bytes);

}  // namespace sandbank::store
