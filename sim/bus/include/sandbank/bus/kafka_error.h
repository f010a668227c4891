// KafkaError: the bus's error names, shaped like Kafka's protocol errors so scenarios and
// services can assert on the real names ("OffsetOutOfRange"). Each maps onto a
// sandbank::Status whose message starts with the name.
// Thread-safety: pure functions and values.
#pragma once

#include <string>
#include <string_view>

#include "sandbank/core/status.h"

namespace sandbank::bus {

enum class KafkaError : int {
  kNone = 0,
  kOffsetOutOfRange,
  kUnknownTopicOrPartition,
  kNotLeaderForPartition,
  kRequestTimedOut,
  kIllegalGeneration,
  kRebalanceInProgress,
  kUnknownMemberId,
  kTopicAlreadyExists,
  kInvalidPartitions,
  kInvalidTopicException,
  kInvalidRequest,
  kOutOfOrderSequenceNumber,
  kDuplicateSequenceNumber,
  kUnknownProducerId,
  kGroupIdNotFound,
  kInvalidSessionTimeout,
  kNoOffsetForPartition,  // auto.offset.reset=none with nothing committed
  kRecordTooLarge,
};

// "OffsetOutOfRange", "IllegalGeneration", ...; "None" for kNone.
std::string_view kafkaErrorName(KafkaError error);
// True for errors a producer or consumer should retry (Kafka's RetriableException).
bool isRetriable(KafkaError error);
// A Status whose message is "<Name>: <detail>", with a StatusCode that fits the error
// (OffsetOutOfRange -> OUT_OF_RANGE, NotLeaderForPartition -> UNAVAILABLE, ...).
Status kafkaStatus(KafkaError error, std::string_view detail);
// Recovers the KafkaError from a Status built by kafkaStatus (or from any message that
// starts with a Kafka error name). kNone for OK or an unrelated message.
KafkaError kafkaErrorOf(const Status& status);

}  // namespace sandbank::bus
