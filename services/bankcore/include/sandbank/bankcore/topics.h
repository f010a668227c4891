// Making sure a bank topic exists before a service publishes to it, as Kafka's
// auto-creation would, through the bus's CreateTopic RPC. Kept apart from money.h so only
// service start-up code pays for the gRPC dependency.
// Thread-safety: ensureTopic may be called from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "sandbank/core/status.h"

namespace sandbank::bank {

// Creates `topic` with `partitions` on the bus at `bus_address` (host:port); OK when it
// already exists, whatever its partition count. Errors: the bus's status, with the topic.
Status ensureTopic(const std::string& bus_address, const std::string& topic, int32_t partitions);

}  // namespace sandbank::bank
