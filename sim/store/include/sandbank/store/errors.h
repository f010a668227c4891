// StoreError: Cassandra's error names, carried inside sandbank::Status so scenarios can
// assert on "Unavailable" or "WriteTimeout". The message always starts with the name.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sandbank/core/status.h"

namespace sandbank::store {

enum class StoreError : int {
  kUnavailable,         // too few replicas known alive: nothing was written
  kWriteTimeout,        // replicas looked alive but too few acked in time
  kReadTimeout,         // too few replicas answered a read in time
  kInvalidQuery,        // the statement is well formed but wrong (types, keys, ...)
  kSyntaxError,         // the CQL text does not parse
  kAlreadyExists,       // CREATE of an existing keyspace or table
  kConfigurationError,  // bad replication settings, unknown datacenter
  kUnprepared,          // unknown prepared statement id
  kUnauthorized,        // a change to what no client may change (system_schema)
  kServerError,         // a bug in the store
};

std::string_view storeErrorName(StoreError e);  // "Unavailable", "WriteTimeout", ...

// A Status whose message is "<Name>: <detail>" and whose code fits the error
// (Unavailable -> UNAVAILABLE, timeouts -> DEADLINE_EXCEEDED, query errors -> INVALID_ARGUMENT).
Status storeError(StoreError e, std::string detail);

// The StoreError named at the start of a Status message, if any.
std::optional<StoreError> storeErrorOf(const Status& status);

}  // namespace sandbank::store
