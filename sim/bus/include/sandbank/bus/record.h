// Value types of the bus: records as producers send them, records as the log stores and
// delivers them, and topic-partition names.
// Thread-safety: plain values. A delivered record shares its immutable payload with the
// log through a shared_ptr<const Record>, so it is safe to read from any thread.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sandbank::bus {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
  bool operator==(const TopicPartition&) const = default;
  std::string toString() const { return topic + "-" + std::to_string(partition); }
};

struct RecordHeader {
  std::string key;
  std::string value;
  bool operator==(const RecordHeader&) const = default;
};

// The W3C trace context header that rides on records: "00-<32 hex>-<16 hex>-<2 hex>".
inline constexpr const char* kTraceparentHeader = "traceparent";

struct Record {
  std::optional<std::string> key;  // nullopt = no key (sticky/round-robin placement)
  std::string value;
  std::vector<RecordHeader> headers;
  int64_t timestamp_us = 0;  // producer CreateTime; 0 = stamped by the broker on append
  int32_t partition = -1;    // explicit partition, or -1 to let the partitioner choose

  // Payload bytes counted against retention.bytes: key + value + headers.
  size_t sizeBytes() const;
  // The value of the first header named `name`, or nullptr.
  const std::string* header(const std::string& name) const;
};

// A record as it sits in a partition and is handed to consumers.
struct Delivery {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t append_us = 0;         // LogAppendTime on the broker's clock
  int32_t delivery_attempt = 1;  // 1 + times a consumer group nacked this offset
  std::shared_ptr<const Record> record;
};

// Parses a W3C traceparent; returns false when malformed.
bool parseTraceparent(const std::string& value, std::string* trace_id, std::string* span_id);

}  // namespace sandbank::bus

template <>
struct std::hash<sandbank::bus::TopicPartition> {
  size_t operator()(const sandbank::bus::TopicPartition& tp) const noexcept {
    return std::hash<std::string>{}(tp.topic) * 31 + static_cast<size_t>(tp.partition);
  }
};
