// FlowEvent: the one record of everything that happens in the bank (an RPC, a publish, a
// delivery, a replica write, a fault...), and FlowSink, the interface through which the
// mesh, the bus and the store hand events to the flow layer.
// Thread-safety: FlowEvent is a value. FlowSink::emit is called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sandbank::flow {

enum class FlowKind : int {
  kRpc = 0,           // a gRPC call through the mesh
  kPublish = 1,       // a record produced to the bus
  kDeliver = 2,       // a record delivered to a consumer-group member
  kCommit = 3,        // a consumer group committed an offset
  kRebalance = 4,     // a consumer group changed generation
  kStoreRequest = 5,  // a client request to a store coordinator
  kReplicaWrite = 6,  // coordinator -> replica mutation
  kReplicaRead = 7,   // coordinator -> replica read (data or digest)
  kHint = 8,          // a hint stored or replayed
  kRepair = 9,        // read repair or anti-entropy repair
  kFault = 10,        // a fault rule was applied
  kProcess = 11,      // a process started, exited, restarted
  kLog = 12,          // a log line worth seeing in the flow
};

std::string_view flowKindName(FlowKind kind);  // "rpc", "publish", ..., "log"
bool parseFlowKind(std::string_view name, FlowKind* out);

struct FlowEvent {
  // Ids. `id` is assigned by the flow hub when the event is accepted (0 before that).
  uint64_t id = 0;
  std::string trace_id;   // 32 hex digits, empty when the event belongs to no trace
  std::string span_id;    // 16 hex digits
  std::string parent_span_id;

  // Time in microseconds since the epoch, on the simulated clock and on the real clock.
  // A point event has end == start.
  int64_t start_sim_us = 0;
  int64_t end_sim_us = 0;
  int64_t start_real_us = 0;
  int64_t end_real_us = 0;

  FlowKind kind = FlowKind::kLog;

  // Where: service names, or "bus", "store/node-1", "supervisor".
  std::string source;
  std::string destination;

  // What. Only the fields that apply to the kind are set.
  std::string method;         // "sandbank.ledger.Ledger/PostEntrySet", or "INSERT"/"SELECT"
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string consumer_group;
  std::string keyspace;
  std::string table;
  std::string partition_key;

  // Outcome.
  std::string status = "OK";  // "OK", a gRPC code name, or a Kafka/Cassandra error name
  int64_t size = 0;           // payload bytes
  std::string payload;        // raw bytes (serialized protobuf, record value, ...)
  std::string payload_type;   // full protobuf message name when known, for JSON decoding
  std::string detail;         // short human text: "CL=QUORUM acks 2/3", "rule delay-ledger"
};

// Receives events. Implementations must not block the caller for long: the bank's hot
// paths call emit() inline.
class FlowSink {
 public:
  virtual ~FlowSink() = default;
  virtual void emit(FlowEvent event) = 0;
};

// Drops everything. For engines used without a flow layer.
class NullFlowSink final : public FlowSink {
 public:
  void emit(FlowEvent) override {}
  static NullFlowSink& instance() {
    static NullFlowSink sink;
    return sink;
  }
};

// Keeps every event in memory, for tests. Thread-safe.
class CollectingFlowSink final : public FlowSink {
 public:
  void emit(FlowEvent event) override {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
  }
  std::vector<FlowEvent> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    events_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<FlowEvent> events_;  // guarded by mu_
};

}  // namespace sandbank::flow
