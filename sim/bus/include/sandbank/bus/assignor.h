// Kafka's two classic partition assignors, range and round-robin, as pure functions so
// they can be tested alone. Thread-safety: stateless.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sandbank/bus/record.h"

namespace sandbank::bus {

enum class AssignorKind { kRange, kRoundRobin };

std::string_view assignorName(AssignorKind kind);  // "range", "roundrobin"
bool parseAssignor(std::string_view name, AssignorKind* out);

struct AssignorMember {
  std::string member_id;
  std::vector<std::string> topics;  // subscription
};

// Assigns every partition of every subscribed topic to exactly one member subscribed to
// it. `partitions_by_topic` gives each topic's partition count (topics missing from it
// are skipped). Members are ordered by member_id, as Kafka does.
std::map<std::string, std::vector<TopicPartition>> assignPartitions(
    AssignorKind kind, std::vector<AssignorMember> members,
    const std::map<std::string, int32_t>& partitions_by_topic);

}  // namespace sandbank::bus
