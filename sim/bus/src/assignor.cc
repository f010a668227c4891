// Range and round-robin assignment, following Kafka's RangeAssignor and
// RoundRobinAssignor. Thread-safety: stateless.
#include "sandbank/bus/assignor.h"

#include <algorithm>
#include <set>

namespace sandbank::bus {

std::string_view assignorName(AssignorKind kind) {
  return kind == AssignorKind::kRange ? "range" : "roundrobin";
}

bool parseAssignor(std::string_view name, AssignorKind* out) {
  if (name == "range" || name.empty()) {
    *out = AssignorKind::kRange;
    return true;
  }
  if (name == "roundrobin" || name == "round-robin" || name == "round_robin") {
    *out = AssignorKind::kRoundRobin;
    return true;
  }
  return false;
}

namespace {

bool subscribes(const AssignorMember& m, const std::string& topic) {
  return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
}

}  // namespace

std::map<std::string, std::vector<TopicPartition>> assignPartitions(
    AssignorKind kind, std::vector<AssignorMember> members,
    const std::map<std::string, int32_t>& partitions_by_topic) {
  std::sort(members.begin(), members.end(),
            [](const AssignorMember& a, const AssignorMember& b) { return a.member_id < b.member_id; });
  std::map<std::string, std::vector<TopicPartition>> out;
  for (const auto& m : members) out[m.member_id];

  std::set<std::string> topics;
  for (const auto& m : members) {
    for (const auto& t : m.topics) {
      if (partitions_by_topic.count(t)) topics.insert(t);
    }
  }

  if (kind == AssignorKind::kRange) {
    for (const auto& topic : topics) {
      std::vector<const AssignorMember*> subs;
      for (const auto& m : members) {
        if (subscribes(m, topic)) subs.push_back(&m);
      }
      const int32_t n = partitions_by_topic.at(topic);
      const int32_t per = n / static_cast<int32_t>(subs.size());
      const int32_t extra = n % static_cast<int32_t>(subs.size());
      int32_t next = 0;
      for (int32_t i = 0; i < static_cast<int32_t>(subs.size()); ++i) {
        const int32_t count = per + (i < extra ? 1 : 0);
        for (int32_t p = 0; p < count; ++p) out[subs[i]->member_id].push_back({topic, next++});
      }
    }
    return out;
  }

  // Round-robin: all partitions in (topic, partition) order, dealt to members in a
  // circle, skipping members not subscribed to the partition's topic.
  size_t cursor = 0;
  for (const auto& topic : topics) {
    const int32_t n = partitions_by_topic.at(topic);
    for (int32_t p = 0; p < n; ++p) {
      for (size_t tries = 0; tries < members.size(); ++tries) {
        const AssignorMember& m = members[cursor % members.size()];
        ++cursor;
        if (subscribes(m, topic)) {
          out[m.member_id].push_back({topic, p});
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace sandbank::bus
