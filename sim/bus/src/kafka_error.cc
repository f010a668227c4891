// Names and status codes for KafkaError. Thread-safety: stateless.
#include "sandbank/bus/kafka_error.h"

#include <array>
#include <string>

namespace sandbank::bus {
namespace {

struct ErrorInfo {
  KafkaError error;
  std::string_view name;
  StatusCode code;
  bool retriable;
};

constexpr std::array kErrors = {
    ErrorInfo{KafkaError::kNone, "None", StatusCode::kOk, false},
    ErrorInfo{KafkaError::kOffsetOutOfRange, "OffsetOutOfRange", StatusCode::kOutOfRange, false},
    ErrorInfo{KafkaError::kUnknownTopicOrPartition, "UnknownTopicOrPartition", StatusCode::kNotFound, true},
    ErrorInfo{KafkaError::kNotLeaderForPartition, "NotLeaderForPartition", StatusCode::kUnavailable, true},
    ErrorInfo{KafkaError::kRequestTimedOut, "RequestTimedOut", StatusCode::kDeadlineExceeded, true},
    ErrorInfo{KafkaError::kIllegalGeneration, "IllegalGeneration", StatusCode::kFailedPrecondition, false},
    ErrorInfo{KafkaError::kRebalanceInProgress, "RebalanceInProgress", StatusCode::kAborted, false},
    ErrorInfo{KafkaError::kUnknownMemberId, "UnknownMemberId", StatusCode::kFailedPrecondition, false},
    ErrorInfo{KafkaError::kTopicAlreadyExists, "TopicAlreadyExists", StatusCode::kAlreadyExists, false},
    ErrorInfo{KafkaError::kInvalidPartitions, "InvalidPartitions", StatusCode::kInvalidArgument, false},
    ErrorInfo{KafkaError::kInvalidTopicException, "InvalidTopicException", StatusCode::kInvalidArgument, false},
    ErrorInfo{KafkaError::kInvalidRequest, "InvalidRequest", StatusCode::kInvalidArgument, false},
    ErrorInfo{KafkaError::kOutOfOrderSequenceNumber, "OutOfOrderSequenceNumber", StatusCode::kFailedPrecondition, false},
    ErrorInfo{KafkaError::kDuplicateSequenceNumber, "DuplicateSequenceNumber", StatusCode::kAlreadyExists, false},
    ErrorInfo{KafkaError::kUnknownProducerId, "UnknownProducerId", StatusCode::kFailedPrecondition, false},
    ErrorInfo{KafkaError::kGroupIdNotFound, "GroupIdNotFound", StatusCode::kNotFound, false},
    ErrorInfo{KafkaError::kInvalidSessionTimeout, "InvalidSessionTimeout", StatusCode::kInvalidArgument, false},
    ErrorInfo{KafkaError::kNoOffsetForPartition, "NoOffsetForPartition", StatusCode::kFailedPrecondition, false},
    ErrorInfo{KafkaError::kRecordTooLarge, "RecordTooLarge", StatusCode::kInvalidArgument, false},
};

const ErrorInfo& infoOf(KafkaError error) {
  for (const auto& info : kErrors) {
    if (info.error == error) return info;
  }
  return kErrors[0];
}

}  // namespace

std::string_view kafkaErrorName(KafkaError error) { return infoOf(error).name; }

bool isRetriable(KafkaError error) { return infoOf(error).retriable; }

Status kafkaStatus(KafkaError error, std::string_view detail) {
  const ErrorInfo& info = infoOf(error);
  if (error == KafkaError::kNone) return OkStatus();
  std::string message(info.name);
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  return Status(info.code, std::move(message));
}

KafkaError kafkaErrorOf(const Status& status) {
  if (status.ok()) return KafkaError::kNone;
  std::string_view message = status.message();
  for (const auto& info : kErrors) {
    if (info.error == KafkaError::kNone) continue;
    if (message.substr(0, info.name.size()) == info.name &&
        (message.size() == info.name.size() || message[info.name.size()] == ':')) {
      return info.error;
    }
  }
  return KafkaError::kNone;
}

}  // namespace sandbank::bus
