// StoreError names and their mapping onto Status codes.
// Thread-safety: pure functions.
#include "sandbank/store/errors.h"

namespace sandbank::store {
namespace {
constexpr StoreError kAll[] = {
    StoreError::kUnavailable,   StoreError::kWriteTimeout,       StoreError::kReadTimeout,
    StoreError::kInvalidQuery,  StoreError::kSyntaxError,        StoreError::kAlreadyExists,
    StoreError::kConfigurationError, StoreError::kUnprepared,    StoreError::kUnauthorized,
    StoreError::kServerError,
};
}  // namespace

std::string_view storeErrorName(StoreError e) {
  switch (e) {
    case StoreError::kUnavailable: return "Unavailable";
    case StoreError::kWriteTimeout: return "WriteTimeout";
    case StoreError::kReadTimeout: return "ReadTimeout";
    case StoreError::kInvalidQuery: return "InvalidQuery";
    case StoreError::kSyntaxError: return "SyntaxError";
    case StoreError::kAlreadyExists: return "AlreadyExists";
    case StoreError::kConfigurationError: return "ConfigurationError";
    case StoreError::kUnprepared: return "Unprepared";
    case StoreError::kUnauthorized: return "Unauthorized";
    case StoreError::kServerError: return "ServerError";
  }
  return "ServerError";
}

Status storeError(StoreError e, std::string detail) {
  StatusCode code = StatusCode::kInternal;
  switch (e) {
    case StoreError::kUnavailable: code = StatusCode::kUnavailable; break;
    case StoreError::kWriteTimeout:
    case StoreError::kReadTimeout: code = StatusCode::kDeadlineExceeded; break;
    case StoreError::kInvalidQuery:
    case StoreError::kSyntaxError:
    case StoreError::kConfigurationError: code = StatusCode::kInvalidArgument; break;
    case StoreError::kAlreadyExists: code = StatusCode::kAlreadyExists; break;
    case StoreError::kUnprepared: code = StatusCode::kNotFound; break;
    case StoreError::kUnauthorized: code = StatusCode::kPermissionDenied; break;
    case StoreError::kServerError: code = StatusCode::kInternal; break;
  }
  return Status(code, std::string(storeErrorName(e)) + ": " + detail);
}

std::optional<StoreError> storeErrorOf(const Status& status) {
  if (status.ok()) return std::nullopt;
  for (StoreError e : kAll) {
    std::string_view name = storeErrorName(e);
    const std::string& m = status.message();
    if (m.size() > name.size() && m.compare(0, name.size(), name) == 0 && m[name.size()] == ':') return e;
  }
  return std::nullopt;
}

}  // namespace sandbank::store
