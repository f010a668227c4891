// Kafka's default partitioner: murmur2 (seed 0x9747b28c) over the key bytes, so a keyed
// record lands on the partition a real Kafka client would pick.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace sandbank::bus {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit value.
int32_t murmur2(std::string_view key);
// (murmur2(key) & 0x7fffffff) % partitions. `partitions` must be > 0.
int32_t partitionForKey(std::string_view key, int32_t partitions);

}  // namespace sandbank::bus
