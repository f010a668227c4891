// Broker: the bus engine, an in-memory stand-in for a Kafka cluster. It holds topics
// (partitioned, offset-addressed logs with retention and optional compaction), consumer
// groups (membership, generations, assignment, committed offsets, lag), the idempotent
// producer, dead-letter topics, and fault switches. Time comes only from the injected
// Clock: session timeouts, retention and delivery delays are evaluated on each call (and
// in tick()), never with real sleeps.
// Thread-safety: every public method is safe to call from any thread; one mutex (mu_)
// guards all state. Flow events are emitted after the mutex is released.
//
//   producer --produce()--> [topic: p0 p1 p2 ...] --poll()--> group member --commit()-->
//                                   |                                 \--nack() x N --> <topic>.dlq.<group>
//                              retention/compaction
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sandbank/bus/assignor.h"
#include "sandbank/bus/kafka_error.h"
#include "sandbank/bus/record.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/flow/flow_event.h"

namespace sandbank::faults {
class FaultEngine;
}  // namespace sandbank::faults

namespace sandbank::bus {

struct TopicConfig {
  int32_t partitions = 1;
  Duration retention_time{0};  // 0 = keep forever (retention.ms)
  int64_t retention_bytes = 0;  // per partition; 0 = unlimited (retention.bytes)
  bool compacted = false;       // cleanup.policy=compact: keep the latest record per key
};

enum class OffsetReset { kEarliest, kLatest, kNone };
std::string_view offsetResetName(OffsetReset reset);  // "earliest", "latest", "none"
bool parseOffsetReset(std::string_view name, OffsetReset* out);

struct PartitionInfo {
  int32_t partition = 0;
  int64_t log_start = 0;
  int64_t log_end = 0;  // the next offset to be written (high watermark)
  int64_t bytes = 0;
  bool leader_available = true;
};

struct TopicDescription {
  std::string name;
  TopicConfig config;
  std::vector<PartitionInfo> partitions;
};

struct ProduceOptions {
  std::string client_id;       // who produced, for flow events ("ledger")
  int64_t producer_id = -1;    // from initProducerId(); -1 = not idempotent
  int64_t base_sequence = -1;  // sequence of the first record; records take base+i
};

struct RecordPosition {
  int32_t partition = 0;
  int64_t offset = 0;
};

struct ProduceAck {
  std::vector<RecordPosition> positions;  // one per record, in request order
  bool duplicate = false;  // a retried batch the idempotent producer had already written
};

struct JoinOptions {
  std::string member_id;  // empty for a new member; the assigned id to rejoin
  std::string client_id = "consumer";
  std::vector<std::string> topics;  // may be empty on rejoin: keeps the subscription
  Duration session_timeout = std::chrono::seconds(10);  // <= 0 on rejoin: unchanged
  AssignorKind assignor = AssignorKind::kRange;
  OffsetReset offset_reset = OffsetReset::kLatest;
  int32_t max_delivery_attempts = 5;  // nacks before a record goes to <topic>.dlq.<group>
};

struct Membership {
  std::string member_id;
  int32_t generation = 0;
  std::vector<TopicPartition> assignment;
};

struct PollResult {
  int32_t generation = 0;
  std::vector<Delivery> records;
  std::vector<TopicPartition> reset_partitions;  // positions moved by auto.offset.reset
};

struct OffsetCommit {
  TopicPartition tp;
  int64_t offset = 0;  // the next offset to consume, as in Kafka
};

struct NackOutcome {
  int32_t attempts = 0;        // failures so far for this offset
  bool dead_lettered = false;  // moved to the dead-letter topic and committed past
  std::string dead_letter_topic;
};

struct PartitionLag {
  TopicPartition tp;
  int64_t log_start = 0;
  int64_t log_end = 0;
  int64_t committed = -1;  // -1 = nothing committed
  int64_t lag = 0;         // log_end - committed (log_end - log_start if nothing committed)
};

struct MemberDescription {
  std::string member_id;
  std::string client_id;
  std::vector<std::string> topics;
  std::vector<TopicPartition> assignment;
  std::vector<TopicPartition> paused;
  int32_t generation_seen = 0;
};

struct GroupDescription {
  std::string group;
  int32_t generation = 0;
  std::string state;  // "Empty", "Stable"
  AssignorKind assignor = AssignorKind::kRange;
  std::vector<MemberDescription> members;
  std::vector<PartitionLag> lag;
};

class Broker {
 public:
  // `clock` must outlive the broker. `flow` may be null (no events are built at all).
  explicit Broker(const Clock& clock, flow::FlowSink* flow = nullptr);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // ---- topics -------------------------------------------------------------------------
  // TopicAlreadyExists, InvalidPartitions (partitions < 1), InvalidTopicException (name).
  Status createTopic(const std::string& name, const TopicConfig& config);
  // UnknownTopicOrPartition. Groups lose their committed offsets for the topic, as in
  // Kafka, and groups consuming it rebalance.
  Status deleteTopic(const std::string& name);
  std::vector<TopicDescription> describeTopics() const;
  Result<TopicDescription> describeTopic(const std::string& name) const;

  // ---- producing ----------------------------------------------------------------------
  // A fresh producer id for the idempotent producer.
  int64_t initProducerId();
  // Appends `records` to `topic`, all or nothing. Keyed records go to murmur2's
  // partition, keyless ones round-robin, or record.partition when set. Errors:
  // UnknownTopicOrPartition, NotLeaderForPartition (leader fault; retriable),
  // RequestTimedOut (lost ack fault: the records WERE written; retriable),
  // OutOfOrderSequenceNumber / DuplicateSequenceNumber / UnknownProducerId
  // (idempotence), InvalidRequest (keyless record on a compacted topic).
  // A retry of a batch already written with the same producer id and base sequence
  // returns the original positions with duplicate=true and writes nothing.
  Result<ProduceAck> produce(const std::string& topic, std::vector<Record> records,
                             const ProduceOptions& options = {});

  // ---- reading without a group (browse) -------------------------------------------------
  // Up to `max_records` records of one partition from `offset` (no group involved).
  // OffsetOutOfRange when offset < log start or > log end.
  Result<std::vector<Delivery>> fetch(const TopicPartition& tp, int64_t offset,
                                      int32_t max_records) const;

  // ---- consumer groups ----------------------------------------------------------------
  // Joins (empty member_id) or rejoins (known member_id). A new member, or a changed
  // subscription, starts a new generation and reassigns every partition. Rejoining an
  // unchanged member returns the current generation and its assignment.
  // UnknownMemberId when a given member_id is not in the group (left or expired).
  Result<Membership> joinGroup(const std::string& group, const JoinOptions& options);
  // OK, RebalanceInProgress (generation is stale: rejoin), UnknownMemberId.
  Status heartbeat(const std::string& group, const std::string& member_id, int32_t generation);
  // Removes the member and rebalances the rest. UnknownMemberId if absent.
  Status leaveGroup(const std::string& group, const std::string& member_id);
  // The next records for the member from its assigned, unpaused partitions; also counts
  // as a heartbeat. Starts each partition at the committed offset, or per
  // auto.offset.reset. Waits up to `max_wait` of real time for records when none are
  // ready (0 = return at once). Errors as heartbeat, plus OffsetOutOfRange (reset none
  // and the position fell out of the log) and NoOffsetForPartition (reset none and
  // nothing committed).
  Result<PollResult> poll(const std::string& group, const std::string& member_id,
                          int32_t generation, int32_t max_records,
                          std::chrono::milliseconds max_wait = std::chrono::milliseconds(0));
  // Commits offsets (next offset to read). UnknownMemberId, IllegalGeneration (the
  // member's generation is stale: its partitions may have moved), UnknownTopicOrPartition.
  Status commit(const std::string& group, const std::string& member_id, int32_t generation,
                const std::vector<OffsetCommit>& offsets);
  // Reports that the record at `offset` failed; acknowledges everything before it (as a
  // commit of `offset`). The record is redelivered, unless it has now failed
  // max_delivery_attempts times: then it is copied to "<topic>.dlq.<group>" (created on
  // demand) with headers describing the failure, and committed past.
  Result<NackOutcome> nack(const std::string& group, const std::string& member_id,
                           int32_t generation, const TopicPartition& tp, int64_t offset,
                           const std::string& reason);
  // Moves the member's position on an assigned partition. IllegalGeneration if stale,
  // UnknownTopicOrPartition if not assigned.
  Status seek(const std::string& group, const std::string& member_id, int32_t generation,
              const TopicPartition& tp, int64_t offset);
  Status pause(const std::string& group, const std::string& member_id, int32_t generation,
               const std::vector<TopicPartition>& tps);
  Status resume(const std::string& group, const std::string& member_id, int32_t generation,
                const std::vector<TopicPartition>& tps);
  // The committed offset, or -1 when nothing is committed. GroupIdNotFound.
  Result<int64_t> committedOffset(const std::string& group, const TopicPartition& tp) const;
  // Per partition of every topic the group subscribes to or has committed on.
  Result<std::vector<PartitionLag>> lag(const std::string& group) const;
  Result<GroupDescription> describeGroup(const std::string& group) const;
  std::vector<std::string> listGroups() const;

  // Applies retention and compaction to every partition and expires members whose
  // session timed out. Every other call also does the part it touches.
  void tick();
  // Runs compaction now on a compacted topic (tick() does it too).
  Status compact(const std::string& topic);

  // ---- faults -------------------------------------------------------------------------
  // Records become visible to `group` only `delay` after they were appended (0 clears).
  Status delayDelivery(const std::string& group, Duration delay);
  // A stalled group's polls return no records (heartbeats still succeed).
  Status stallGroup(const std::string& group, bool stalled);
  // The next `count` non-empty polls of the group do not advance its positions, so the
  // same records are delivered again.
  Status duplicateDeliveries(const std::string& group, int32_t count);
  // The next `count` produces to `topic` are written but answered with RequestTimedOut.
  Status loseProduceAcks(const std::string& topic, int32_t count);
  // Produce to (and delivery from) the partition fails with NotLeaderForPartition until
  // `duration` of clock time has passed.
  Status makeLeaderUnavailable(const TopicPartition& tp, Duration duration);
  // Starts a new generation for the group, as if a member had joined.
  Status forceRebalance(const std::string& group);
  void clearFaults();
  // Rules of the shared fault engine that name a topic are applied to produce requests:
  // delay holds the request, fail answers with the rule's code, drop writes nothing and
  // answers RequestTimedOut. Not owned; null (the default) turns this off.
  void setFaultEngine(faults::FaultEngine* faults) { fault_engine_.store(faults); }

  const Clock& clock() const { return clock_; }

 private:
  std::atomic<faults::FaultEngine*> fault_engine_{nullptr};
  struct Partition;
  struct Topic;
  struct Member;
  struct Group;
  struct ProducerState;

  // All helpers below require mu_ held.
  Topic* findTopic(const std::string& name);
  const Topic* findTopic(const std::string& name) const;
  Group* findGroup(const std::string& name);
  const Group* findGroup(const std::string& name) const;
  void applyRetention(Topic& topic, Partition& p, int64_t now_us);
  void compactPartition(Partition& p);
  void expireMembers(Group& g, int64_t now_us, std::vector<flow::FlowEvent>* events);
  void rebalance(Group& g, const std::string& reason, std::vector<flow::FlowEvent>* events);
  void rebalanceSubscribersLocked(const std::string& topic, std::vector<flow::FlowEvent>* events);
  Status checkMember(Group& g, const std::string& member_id, int32_t generation,
                     KafkaError stale_error, Member** out);
  Result<ProduceAck> appendLocked(const std::string& topic_name, std::vector<Record>& records,
                                  const ProduceOptions& options, int64_t now_us,
                                  std::vector<flow::FlowEvent>* events);
  PartitionLag lagOf(const Group& g, const TopicPartition& tp) const;
  void emitAll(std::vector<flow::FlowEvent>& events);

  const Clock& clock_;
  flow::FlowSink* flow_;  // may be null

  mutable std::mutex mu_;
  std::condition_variable data_cv_;  // signalled (with mu_) on appends and rebalances
  std::map<std::string, std::unique_ptr<Topic>> topics_;                 // guarded by mu_
  std::map<std::string, std::unique_ptr<Group>> groups_;                 // guarded by mu_
  std::unordered_map<int64_t, std::unique_ptr<ProducerState>> producers_;  // guarded by mu_
  int64_t next_producer_id_ = 1000;  // guarded by mu_
  uint64_t next_member_seq_ = 1;     // guarded by mu_
  uint64_t appends_ = 0;             // guarded by mu_; bumped on every append
};

}  // namespace sandbank::bus
