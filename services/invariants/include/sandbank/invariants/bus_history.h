// The bus's history as evidence for the invariant checker: every record still retained
// on a topic, partition by partition in offset order, read through the bus's Browse RPC
// (no consumer group, so reading changes nothing).
// Thread-safety: readTopic() is stateless; call it from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::invariants {

struct BusRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
  std::string trace_id;  // from the record's traceparent header, or empty
  int64_t append_us = 0;
};

// Every retained record of `topic` on the bus at `bus_address` (host:port). A topic that
// does not exist is an empty history. Errors: the bus's status, naming the topic.
Result<std::vector<BusRecord>> readTopic(const std::string& bus_address, const std::string& topic);

// Waits until every consumer group's total lag is 0 (what "eventually" needs before the
// asynchronous invariants are checked), polling every 20 ms for at most `timeout`.
// Returns the total lag left (0 when settled), excluding dead-letter topics' groups.
Result<int64_t> waitForConsumers(const std::string& bus_address, std::chrono::milliseconds timeout);

}  // namespace sandbank::invariants
