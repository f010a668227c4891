// StoreClient: how bank services talk to the store (sandbank.store.Store over gRPC).
// It connects to SANDBANK_STORE (or a given address), prepares statements once, binds
// typed values and picks the consistency level per call. Store errors come back as Status
// whose message starts with the Cassandra name ("Unavailable: ...", "WriteTimeout: ...").
// Thread-safety: a StoreClient may be shared by threads; calls are independent.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <string>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::kit {

// A value bound to a `?` or read back from a row.
struct StoreValue {
  enum class Kind : uint8_t { kNull, kText, kInt, kBool, kBlob, kUuid, kDecimal, kTimestampMs };
  Kind kind = Kind::kNull;
  std::string s;  // text, blob, uuid, decimal
  int64_t i = 0;  // int/bigint, boolean (0/1), timestamp in ms

  static StoreValue null() { return {}; }
  static StoreValue text(std::string v) { return {Kind::kText, std::move(v), 0}; }
  static StoreValue integer(int64_t v) { return {Kind::kInt, {}, v}; }
  static StoreValue boolean(bool v) { return {Kind::kBool, {}, v ? 1 : 0}; }
  static StoreValue blob(std::string v) { return {Kind::kBlob, std::move(v), 0}; }
  static StoreValue uuid(std::string v) { return {Kind::kUuid, std::move(v), 0}; }
  static StoreValue decimal(std::string v) { return {Kind::kDecimal, std::move(v), 0}; }
  static StoreValue timestampMs(int64_t v) { return {Kind::kTimestampMs, {}, v}; }
  bool isNull() const { return kind == Kind::kNull; }
  friend bool operator==(const StoreValue& a, const StoreValue& b) {
    return a.kind == b.kind && a.s == b.s && a.i == b.i;
  }
};

// Per-call settings.
struct StoreCall {
  std::string consistency = "ONE";  // ANY, ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, EACH_QUORUM, ALL, LOCAL_ONE, SERIAL
  std::string serial_consistency;   // LWT: SERIAL (default) or LOCAL_SERIAL
  std::string keyspace;             // for unqualified names in ad-hoc CQL
  std::optional<int64_t> timestamp_us;
  int coordinator = 0;              // node id, 0 = round robin
  int timeout_ms = 10000;
};

struct StoreRows {
  std::vector<std::string> columns;
  std::vector<std::string> column_types;
  std::vector<std::vector<StoreValue>> rows;
  std::optional<bool> applied;  // LWT outcome

  // Index of a column, or -1.
  int column(const std::string& name) const;
  // The cell `column` of row `row`, or a null value when either is missing.
  const StoreValue& cell(size_t row, std::string_view column) const;
};

struct StoreStatement {
  std::string id;
  std::string cql;
  std::vector<std::string> bind_names;
  std::vector<std::string> bind_types;
};

class StoreClient {
 public:
  // Connects to `address` or, when empty, to the address in SANDBANK_STORE.
  // `client_id` names this client for clock-skew faults (default: SANDBANK_INSTANCE).
  // Errors: FailedPrecondition when no address is known. The channel connects lazily.
  static Result<std::unique_ptr<StoreClient>> connect(const std::string& address = "", std::string client_id = "");
  ~StoreClient();

  Result<StoreStatement> prepare(const std::string& cql, const std::string& keyspace = "");
  // Prepares every (statement, cql) pair, filling the statements; the first error names
  // its CQL. What every service does at start-up. The prepares go out together.
  Status prepareAll(std::span<const std::pair<StoreStatement*, const char*>> statements,
                    const std::string& keyspace);
  // CREATE KEYSPACE IF NOT EXISTS `keyspace` (SimpleStrategy, `replication_factor`), then
  // every CREATE TABLE in `tables` (each should say IF NOT EXISTS), sent together. The
  // first error names the start of its CQL.
  Status createSchema(const std::string& keyspace, int replication_factor, std::span<const std::string_view> tables);
  Result<StoreRows> execute(const StoreStatement& statement, const std::vector<StoreValue>& values,
                            const StoreCall& call = {});
  Result<StoreRows> execute(const std::string& cql, const std::vector<StoreValue>& values = {},
                            const StoreCall& call = {});
  // Starts a prepared statement and returns at once: for writes whose outcome the caller's
  // answer does not depend on. `done` runs exactly once, on a gRPC thread (or at once, on
  // this thread, when the request cannot be built). The destructor waits for calls in flight.
  void executeAsync(const StoreStatement& statement, const std::vector<StoreValue>& values, const StoreCall& call,
                    std::function<void(Result<StoreRows>)> done);
  // Blocks until every executeAsync call started so far has run its `done` (each call
  // has its own deadline, so this ends).
  void drain();
  const std::string& address() const { return address_; }

  struct Channel;

 private:
  StoreClient(std::string address, std::string client_id, std::unique_ptr<Channel> channel);
  Result<StoreRows> run(const std::string& cql, const std::string& prepared_id, const std::vector<StoreValue>& values,
                        const StoreCall& call);

  std::string address_;
  std::string client_id_;
  std::unique_ptr<Channel> channel_;
};

}  // namespace sandbank::kit
