// BankAccess: the part of a scenario link that differs between a bank in this process and
// a bank reached over its control port - how the flow, the bus, the store, the fault
// engine and the supervisor are reached. OperationLink (operation_link.h) builds the whole
// operation table of scenarios/README.md on top of it, so both links answer the same JSON
// with the same error codes. Errors from the bus and the store keep their Kafka or
// Cassandra name at the start of the message ("Unavailable: ..."), unprefixed.
// Thread-safety: used from the script thread only (BankLink's contract).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandbank/bus/broker.h"
#include "sandbank/bus/record.h"
#include "sandbank/core/result.h"
#include "sandbank/flow/flow_event.h"

namespace sandbank::scenario {

struct StoreNodeView {
  int id = 0;  // 1-based
  std::string name;
  std::string datacenter;
  bool up = true;
  bool isolated = false;
  int64_t added_latency_ms = 0;
};

class BankAccess {
 public:
  virtual ~BankAccess() = default;

  // The mesh's address, where rpc() sends calls.
  virtual Result<std::string> meshAddress() = 0;

  // ---- flow: ids grow by one per event; a mark is the newest id so far.
  virtual Result<uint64_t> flowMark() = 0;
  // The events kept, oldest first, of one kind (all when nullopt) and one trace (all when
  // empty). `after`: a mark from flowMark(); events up to it may be left out (a hint to
  // spare the transfer; callers still filter by id).
  virtual Result<std::vector<flow::FlowEvent>> recentFlow(std::optional<flow::FlowKind> kind, const std::string& trace,
                                                          uint64_t after = 0) = 0;

  // ---- bus (a Record's partition -1 = the partitioner's choice)
  virtual Result<bus::RecordPosition> produce(const std::string& topic, bus::Record record) = 0;
  virtual Result<std::vector<bus::TopicDescription>> describeTopics() = 0;
  virtual Result<bus::TopicDescription> describeTopic(const std::string& topic) = 0;
  virtual Result<std::vector<bus::Delivery>> fetch(const std::string& topic, int32_t partition, int64_t offset, int32_t max) = 0;
  virtual Result<std::vector<bus::PartitionLag>> lag(const std::string& group) = 0;
  virtual Result<std::vector<std::string>> listGroups() = 0;
  virtual Status stallGroup(const std::string& group, bool stalled) = 0;
  virtual Status duplicateDeliveries(const std::string& group, int count) = 0;
  virtual Status delayDelivery(const std::string& group, std::chrono::milliseconds delay) = 0;
  virtual Status forceRebalance(const std::string& group) = 0;
  virtual Status loseAcks(const std::string& topic, int count) = 0;
  virtual Status createTopic(const std::string& topic, const bus::TopicConfig& config) = 0;
  virtual Status deleteTopic(const std::string& topic) = 0;
  // The fault engine's rules and the bus's own consumer and producer faults.
  virtual Status clearFaults() = 0;

  // ---- store
  // {rows: [{column: value}], applied}; params are JSON scalars bound to the '?'s.
  virtual Result<nlohmann::json> cql(const std::string& query, const nlohmann::json& params, const std::string& consistency,
                                     const std::string& keyspace, const std::string& client) = 0;
  // [{node, up, rows, deleted}] for one partition (key: JSON array of its components).
  virtual Result<nlohmann::json> replicas(const std::string& keyspace, const std::string& table, const nlohmann::json& key) = 0;
  virtual Result<std::vector<StoreNodeView>> nodes() = 0;
  virtual Result<nlohmann::json> hints() = 0;  // [{holder, target, table}]
  virtual Result<int64_t> deliverHints() = 0;
  virtual Result<int64_t> repair(const std::string& keyspace) = 0;
  virtual Result<int64_t> rebuild(std::optional<int> node) = 0;  // every node when nullopt
  virtual Result<int> addNode(const std::string& datacenter, bool stream) = 0;
  virtual Status setClientSkew(const std::string& client, std::chrono::milliseconds skew) = 0;
  virtual Status nodeDown(int node) = 0;
  virtual Status nodeUp(int node) = 0;
  virtual Status setSlow(int node, std::chrono::milliseconds delay) = 0;
  virtual Status setIsolated(int node, bool isolated) = 0;
  virtual Status truncate(const std::string& keyspace, const std::string& table) = 0;
  // "keyspace.table" a reset empties, besides the ones the options name.
  virtual Result<std::set<std::string>> tablesToTruncate() = 0;

  // ---- supervisor
  virtual Result<std::vector<std::string>> serviceNames() = 0;  // manifest order
  // Services with an instance stopped, exited or failed.
  virtual Result<std::vector<std::string>> stoppedServices() = 0;
  virtual Status stopService(const std::string& service) = 0;  // asks; waitAllStopped() waits
  virtual Status startService(const std::string& service) = 0;
  virtual bool waitAllStopped(std::chrono::milliseconds timeout) = 0;
  virtual Status waitUntilReady(std::chrono::milliseconds timeout) = 0;
};

}  // namespace sandbank::scenario
