// The bus engine. One mutex (mu_) guards everything; flow events are collected while it
// is held and emitted after it is released, so a slow sink never runs under the lock.
#include "sandbank/bus/broker.h"

#include "sandbank/faults/fault_engine.h"

#include <algorithm>
#include <cassert>
#include <set>

#include "sandbank/bus/partitioner.h"

namespace sandbank::bus {

std::string_view offsetResetName(OffsetReset reset) {
  switch (reset) {
    case OffsetReset::kEarliest: return "earliest";
    case OffsetReset::kLatest: return "latest";
    case OffsetReset::kNone: return "none";
  }
  return "latest";
}

bool parseOffsetReset(std::string_view name, OffsetReset* out) {
  if (name == "earliest" || name == "smallest") *out = OffsetReset::kEarliest;
  else if (name == "latest" || name == "largest" || name.empty()) *out = OffsetReset::kLatest;
  else if (name == "none") *out = OffsetReset::kNone;
  else return false;
  return true;
}

namespace {

struct LogEntry {
  int64_t offset;
  int64_t append_us;
  int64_t bytes;
  std::shared_ptr<const Record> record;
};

int64_t realNowUs() { return toMicros(std::chrono::system_clock::now()); }

flow::FlowEvent makeEvent(flow::FlowKind kind, int64_t sim_us, int64_t real_us = realNowUs()) {
  flow::FlowEvent e;
  e.kind = kind;
  e.start_sim_us = e.end_sim_us = sim_us;
  e.start_real_us = e.end_real_us = real_us;
  return e;
}

void setTrace(flow::FlowEvent& e, const Record& r) {
  if (const std::string* tp = r.header(kTraceparentHeader)) {
    parseTraceparent(*tp, &e.trace_id, &e.parent_span_id);
  }
}

bool validTopicName(const std::string& name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

struct Broker::Partition {
  std::deque<LogEntry> log;
  int64_t log_start = 0;
  int64_t log_end = 0;
  int64_t bytes = 0;
  int64_t leader_unavailable_until_us = 0;  // fault: NotLeaderForPartition until then

  // First entry whose offset is >= `offset`.
  std::deque<LogEntry>::const_iterator lowerBound(int64_t offset) const {
    if (!log.empty() && log.front().offset >= offset) return log.begin();
    // Without compaction offsets are dense, so index directly.
    if (!log.empty()) {
      const int64_t idx = offset - log.front().offset;
      if (idx >= 0 && idx < static_cast<int64_t>(log.size()) && log[idx].offset == offset) {
        return log.begin() + idx;
      }
    }
    return std::lower_bound(log.begin(), log.end(), offset,
                            [](const LogEntry& e, int64_t o) { return e.offset < o; });
  }
  bool leaderAvailable(int64_t now_us) const { return now_us >= leader_unavailable_until_us; }
};

struct Broker::Topic {
  std::string name;
  TopicConfig config;
  std::vector<Partition> partitions;
  int32_t sticky_next = 0;     // keyless placement: the next batch's partition
  int32_t lose_acks = 0;       // fault: acks to drop
};

struct Broker::Member {
  std::string id;
  std::string client_id;
  std::vector<std::string> topics;
  int64_t session_timeout_us = 0;
  int64_t last_seen_us = 0;
  int32_t generation_seen = 0;
  std::vector<TopicPartition> assignment;
  std::set<TopicPartition> paused;
  size_t poll_cursor = 0;  // rotates the first partition polled, for fairness
};

struct Broker::Group {
  std::string name;
  int32_t generation = 0;
  AssignorKind assignor = AssignorKind::kRange;
  OffsetReset offset_reset = OffsetReset::kLatest;
  int32_t max_delivery_attempts = 5;
  std::map<std::string, Member> members;
  std::map<TopicPartition, int64_t> committed;
  std::map<TopicPartition, int64_t> positions;  // current owners' fetch positions
  std::map<TopicPartition, std::map<int64_t, int32_t>> failures;  // nacks per offset
  // Faults.
  int64_t delay_us = 0;
  bool stalled = false;
  int32_t duplicate_polls = 0;
};

struct Broker::ProducerState {
  struct CachedBatch {
    int64_t base = 0;
    size_t count = 0;
    std::vector<RecordPosition> positions;
  };
  struct TopicSequence {
    int64_t next = 0;
    std::deque<CachedBatch> recent;  // the last five batches, as Kafka keeps
  };
  std::map<std::string, TopicSequence> topics;
};

Broker::Broker(const Clock& clock, flow::FlowSink* flow) : clock_(clock), flow_(flow) {}
Broker::~Broker() = default;

Broker::Topic* Broker::findTopic(const std::string& name) {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}
const Broker::Topic* Broker::findTopic(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}
Broker::Group* Broker::findGroup(const std::string& name) {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : it->second.get();
}
const Broker::Group* Broker::findGroup(const std::string& name) const {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : it->second.get();
}

void Broker::emitAll(std::vector<flow::FlowEvent>& events) {
  if (!flow_) return;
  for (auto& e : events) flow_->emit(std::move(e));
  events.clear();
}

// ---- topics ---------------------------------------------------------------------------

Status Broker::createTopic(const std::string& name, const TopicConfig& config) {
  if (!validTopicName(name)) {
    return kafkaStatus(KafkaError::kInvalidTopicException,
                       "topic name '" + name + "' must be 1-249 of [a-zA-Z0-9._-]");
  }
  if (config.partitions < 1 || config.partitions > 10000) {
    return kafkaStatus(KafkaError::kInvalidPartitions,
                       "topic '" + name + "' needs 1..10000 partitions, got " +
                           std::to_string(config.partitions));
  }
  std::vector<flow::FlowEvent> events;
  {
    std::lock_guard lock(mu_);
    if (topics_.count(name)) {
      return kafkaStatus(KafkaError::kTopicAlreadyExists, "topic '" + name + "' already exists");
    }
    auto t = std::make_unique<Topic>();
    t->name = name;
    t->config = config;
    t->partitions.resize(static_cast<size_t>(config.partitions));
    topics_[name] = std::move(t);
    rebalanceSubscribersLocked(name, &events);
  }
  emitAll(events);
  return OkStatus();
}

void Broker::rebalanceSubscribersLocked(const std::string& topic, std::vector<flow::FlowEvent>* events) {
  // Groups subscribed to a topic that did not exist yet now get its partitions, as a
  // Kafka consumer's metadata refresh would trigger.
  for (auto& [gname, g] : groups_) {
    bool subscribed = false;
    for (const auto& [mid, m] : g->members) {
      if (std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end()) subscribed = true;
    }
    if (subscribed) rebalance(*g, "topic " + topic + " created", events);
  }
}

Status Broker::deleteTopic(const std::string& name) {
  std::vector<flow::FlowEvent> events;
  {
    std::lock_guard lock(mu_);
    if (!topics_.erase(name)) {
      return kafkaStatus(KafkaError::kUnknownTopicOrPartition, "no topic '" + name + "'");
    }
    for (auto& [gname, g] : groups_) {
      bool affected = false;
      for (const auto& [mid, m] : g->members) {
        for (const auto& tp : m.assignment) affected |= tp.topic == name;
      }
      // As Kafka's group coordinator does: a deleted topic's offsets go with it, so a
      // topic created again under the same name is read from its reset policy and its
      // lag is measured from the new log, not hidden behind the old offsets.
      auto drop = [&name](auto& by_partition) {
        for (auto it = by_partition.begin(); it != by_partition.end();)
          it = it->first.topic == name ? by_partition.erase(it) : std::next(it);
      };
      drop(g->committed);
      drop(g->positions);
      drop(g->failures);
      if (affected) rebalance(*g, "topic " + name + " deleted", &events);
    }
  }
  emitAll(events);
  return OkStatus();
}

std::vector<TopicDescription> Broker::describeTopics() const {
  std::vector<TopicDescription> out;
  std::lock_guard lock(mu_);
  const int64_t now = toMicros(clock_.now());
  for (const auto& [name, t] : topics_) {
    TopicDescription d{name, t->config, {}};
    for (size_t i = 0; i < t->partitions.size(); ++i) {
      const Partition& p = t->partitions[i];
      d.partitions.push_back({static_cast<int32_t>(i), p.log_start, p.log_end, p.bytes,
                              p.leaderAvailable(now)});
    }
    out.push_back(std::move(d));
  }
  return out;
}

Result<TopicDescription> Broker::describeTopic(const std::string& name) const {
  for (auto& d : describeTopics()) {
    if (d.name == name) return d;
  }
  return kafkaStatus(KafkaError::kUnknownTopicOrPartition, "no topic '" + name + "'");
}

void Broker::applyRetention(Topic& topic, Partition& p, int64_t now_us) {
  const TopicConfig& c = topic.config;
  bool removed = false;
  if (c.retention_time.count() > 0) {
    const int64_t cutoff =
        now_us - std::chrono::duration_cast<std::chrono::microseconds>(c.retention_time).count();
    while (!p.log.empty() && p.log.front().record->timestamp_us < cutoff) {
      p.bytes -= p.log.front().bytes;
      p.log.pop_front();
      removed = true;
    }
  }
  if (c.retention_bytes > 0) {
    while (!p.log.empty() && p.bytes > c.retention_bytes) {
      p.bytes -= p.log.front().bytes;
      p.log.pop_front();
      removed = true;
    }
  }
  if (removed) p.log_start = p.log.empty() ? p.log_end : p.log.front().offset;
}

void Broker::compactPartition(Partition& p) {
  // Keep only the newest record for each key; offsets keep their values (holes appear).
  std::unordered_map<std::string, int64_t> newest;
  for (const auto& e : p.log) {
    if (e.record->key) newest[*e.record->key] = e.offset;
  }
  std::deque<LogEntry> kept;
  int64_t bytes = 0;
  for (auto& e : p.log) {
    if (!e.record->key || newest[*e.record->key] == e.offset) {
      bytes += e.bytes;
      kept.push_back(std::move(e));
    }
  }
  p.log = std::move(kept);
  p.bytes = bytes;
}

Status Broker::compact(const std::string& topic) {
  std::lock_guard lock(mu_);
  Topic* t = findTopic(topic);
  if (!t) return kafkaStatus(KafkaError::kUnknownTopicOrPartition, "no topic '" + topic + "'");
  if (!t->config.compacted) {
    return kafkaStatus(KafkaError::kInvalidRequest, "topic '" + topic + "' is not compacted");
  }
  for (auto& p : t->partitions) compactPartition(p);
  return OkStatus();
}

void Broker::tick() {
  std::vector<flow::FlowEvent> events;
  {
    std::lock_guard lock(mu_);
    const int64_t now = toMicros(clock_.now());
    for (auto& [name, t] : topics_) {
      for (auto& p : t->partitions) {
        applyRetention(*t, p, now);
        if (t->config.compacted) compactPartition(p);
      }
    }
    for (auto& [name, g] : groups_) expireMembers(*g, now, &events);
  }
  emitAll(events);
}

// ---- producing ------------------------------------------------------------------------

int64_t Broker::initProducerId() {
  std::lock_guard lock(mu_);
  const int64_t id = next_producer_id_++;
  producers_[id] = std::make_unique<ProducerState>();
  return id;
}

Result<ProduceAck> Broker::produce(const std::string& topic, std::vector<Record> records,
                                   const ProduceOptions& options) {
  if (faults::FaultEngine* fe = fault_engine_.load()) {
    faults::FaultSubject subject;
    subject.layer = faults::SubjectLayer::kBus;
    subject.source = options.client_id.empty() ? "producer" : options.client_id;
    subject.destination = "bus";
    subject.method = "Produce";
    subject.topic = topic;
    faults::FaultDecision d = fe->decide(subject);
    if (d.faulted()) {  // the producer's request waits out any delay
      SANDBANK_RETURN_IF_ERROR(faults::holdAndAnswer(
          d, kafkaStatus(KafkaError::kRequestTimedOut, "no answer (" + d.summary() + "); nothing was written")));
    }
  }
  std::vector<flow::FlowEvent> events;
  Result<ProduceAck> result = Internal("produce did not run");
  {
    std::lock_guard lock(mu_);
    result = appendLocked(topic, records, options, toMicros(clock_.now()), &events);
  }
  if (flow_ && !result.ok() && events.empty()) {
    flow::FlowEvent e = makeEvent(flow::FlowKind::kPublish, toMicros(clock_.now()));
    e.source = options.client_id.empty() ? "producer" : options.client_id;
    e.destination = "bus";
    e.topic = topic;
    e.status = std::string(kafkaErrorName(kafkaErrorOf(result.status())));
    e.detail = result.status().message();
    if (!records.empty()) setTrace(e, records.front());
    events.push_back(std::move(e));
  }
  emitAll(events);
  return result;
}

Result<ProduceAck> Broker::appendLocked(const std::string& topic_name, std::vector<Record>& records,
                                        const ProduceOptions& options, int64_t now_us,
                                        std::vector<flow::FlowEvent>* events) {
  Topic* t = findTopic(topic_name);
  if (!t) {
    return kafkaStatus(KafkaError::kUnknownTopicOrPartition, "no topic '" + topic_name + "'");
  }
  if (records.empty()) return ProduceAck{};

  ProducerState::TopicSequence* seq = nullptr;
  if (options.producer_id >= 0) {
    auto it = producers_.find(options.producer_id);
    if (it == producers_.end()) {
      return kafkaStatus(KafkaError::kUnknownProducerId,
                         "producer id " + std::to_string(options.producer_id) + " was never issued");
    }
    if (options.base_sequence < 0) {
      return kafkaStatus(KafkaError::kInvalidRequest, "an idempotent produce needs base_sequence >= 0");
    }
    seq = &it->second->topics[topic_name];
    if (options.base_sequence < seq->next) {
      for (const auto& b : seq->recent) {
        if (b.base == options.base_sequence && b.count == records.size()) {
          return ProduceAck{b.positions, true};
        }
      }
      return kafkaStatus(KafkaError::kDuplicateSequenceNumber,
                         "sequence " + std::to_string(options.base_sequence) + " on '" + topic_name +
                             "' is older than the last five batches (expected " +
                             std::to_string(seq->next) + ")");
    }
    if (options.base_sequence > seq->next) {
      return kafkaStatus(KafkaError::kOutOfOrderSequenceNumber,
                         "expected sequence " + std::to_string(seq->next) + " on '" + topic_name +
                             "', got " + std::to_string(options.base_sequence));
    }
  }

  // Place every record first, so a failure writes nothing.
  const int32_t n = static_cast<int32_t>(t->partitions.size());
  int32_t sticky = -1;  // keyless records of one batch share a partition (sticky partitioner)
  ProduceAck ack;
  ack.positions.resize(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    int32_t p;
    if (r.partition >= 0) {
      if (r.partition >= n) {
        return kafkaStatus(KafkaError::kUnknownTopicOrPartition,
                           "topic '" + topic_name + "' has no partition " + std::to_string(r.partition));
      }
      p = r.partition;
    } else if (r.key) {
      p = partitionForKey(*r.key, n);
    } else {
      if (t->config.compacted) {
        return kafkaStatus(KafkaError::kInvalidRequest,
                           "compacted topic '" + topic_name + "' needs a key on every record");
      }
      if (sticky < 0) {
        // The next partition whose leader is up, if any.
        for (int32_t k = 0; k < n; ++k) {
          const int32_t cand = (t->sticky_next + k) % n;
          if (t->partitions[cand].leaderAvailable(now_us) || k == n - 1) {
            sticky = cand;
            break;
          }
        }
        t->sticky_next = (sticky + 1) % n;
      }
      p = sticky;
    }
    if (!t->partitions[p].leaderAvailable(now_us)) {
      return kafkaStatus(KafkaError::kNotLeaderForPartition,
                         "partition " + topic_name + "-" + std::to_string(p) +
                             " has no leader right now; retry");
    }
    ack.positions[i].partition = p;
  }

  const bool want_events = flow_ != nullptr && events != nullptr;
  const int64_t real_us = want_events ? realNowUs() : 0;  // one clock read per batch
  const std::string source = options.client_id.empty() ? "producer" : options.client_id;
  if (want_events) events->reserve(events->size() + records.size());
  const bool lose_ack = t->lose_acks > 0;
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].partition = ack.positions[i].partition;
    if (records[i].timestamp_us == 0) records[i].timestamp_us = now_us;
  }
  // One allocation per batch: each log entry shares ownership of the batch and points
  // at its own record (aliasing shared_ptr), so retention can still drop entries singly.
  auto block = std::make_shared<std::vector<Record>>(std::move(records));
  for (size_t i = 0; i < block->size(); ++i) {
    Partition& part = t->partitions[ack.positions[i].partition];
    std::shared_ptr<const Record> shared(block, &(*block)[i]);
    const int64_t bytes = static_cast<int64_t>(shared->sizeBytes());
    const int64_t offset = part.log_end++;
    ack.positions[i].offset = offset;
    if (want_events) {
      flow::FlowEvent e = makeEvent(flow::FlowKind::kPublish, now_us, real_us);
      e.source = source;
      e.destination = "bus";
      e.topic = topic_name;
      e.partition = ack.positions[i].partition;
      e.offset = offset;
      e.size = bytes;
      e.payload = shared->value;
      if (shared->key) e.partition_key = *shared->key;
      if (lose_ack) e.detail = "fault: ack lost";
      setTrace(e, *shared);
      events->push_back(std::move(e));
    }
    part.bytes += bytes;
    part.log.push_back(LogEntry{offset, now_us, bytes, std::move(shared)});
  }
  for (auto& part : t->partitions) {
    if (t->config.retention_bytes > 0 && part.bytes > t->config.retention_bytes) {
      applyRetention(*t, part, now_us);
    }
  }
  if (seq) {
    seq->next = options.base_sequence + static_cast<int64_t>(block->size());
    seq->recent.push_back({options.base_sequence, block->size(), ack.positions});
    if (seq->recent.size() > 5) seq->recent.pop_front();
  }
  ++appends_;
  data_cv_.notify_all();
  if (lose_ack) {
    --t->lose_acks;
    return kafkaStatus(KafkaError::kRequestTimedOut,
                       "fault: the ack for " + std::to_string(block->size()) + " record(s) to '" +
                           topic_name + "' was lost; the records were written");
  }
  return ack;
}

Result<std::vector<Delivery>> Broker::fetch(const TopicPartition& tp, int64_t offset,
                                            int32_t max_records) const {
  std::lock_guard lock(mu_);
  const Topic* t = findTopic(tp.topic);
  if (!t || tp.partition < 0 || tp.partition >= static_cast<int32_t>(t->partitions.size())) {
    return kafkaStatus(KafkaError::kUnknownTopicOrPartition, "no partition " + tp.toString());
  }
  const Partition& p = t->partitions[tp.partition];
  if (offset < p.log_start || offset > p.log_end) {
    return kafkaStatus(KafkaError::kOffsetOutOfRange,
                       tp.toString() + " offset " + std::to_string(offset) + " is outside [" +
                           std::to_string(p.log_start) + ", " + std::to_string(p.log_end) + "]");
  }
  std::vector<Delivery> out;
  for (auto it = p.lowerBound(offset); it != p.log.end() && static_cast<int32_t>(out.size()) < max_records; ++it) {
    out.push_back(Delivery{tp.topic, tp.partition, it->offset, it->append_us, 1, it->record});
  }
  return out;
}

// ---- consumer groups ------------------------------------------------------------------

void Broker::rebalance(Group& g, const std::string& reason, std::vector<flow::FlowEvent>* events) {
  ++g.generation;
  std::map<std::string, int32_t> partitions_by_topic;
  std::vector<AssignorMember> members;
  for (const auto& [id, m] : g.members) {
    members.push_back({id, m.topics});
    for (const auto& topic : m.topics) {
      if (const Topic* t = findTopic(topic)) {
        partitions_by_topic[topic] = static_cast<int32_t>(t->partitions.size());
      }
    }
  }
  auto assignment = assignPartitions(g.assignor, std::move(members), partitions_by_topic);
  std::string detail = "generation " + std::to_string(g.generation) + " (" + reason + "):";
  for (auto& [id, m] : g.members) {
    m.assignment = std::move(assignment[id]);
    m.paused.clear();
    m.poll_cursor = 0;
    detail += " " + id + "=[";
    for (size_t i = 0; i < m.assignment.size(); ++i) {
      detail += (i ? "," : "") + m.assignment[i].toString();
    }
    detail += "]";
  }
  // Eager rebalance: every partition restarts from its committed offset with its owner,
  // so whatever a previous owner had fetched but not committed is delivered again.
  g.positions.clear();
  data_cv_.notify_all();
  if (flow_ && events) {
    flow::FlowEvent e = makeEvent(flow::FlowKind::kRebalance, toMicros(clock_.now()));
    e.source = "bus";
    e.destination = g.name;
    e.consumer_group = g.name;
    e.detail = std::move(detail);
    events->push_back(std::move(e));
  }
}

void Broker::expireMembers(Group& g, int64_t now_us, std::vector<flow::FlowEvent>* events) {
  std::vector<std::string> expired;
  for (const auto& [id, m] : g.members) {
    if (now_us - m.last_seen_us > m.session_timeout_us) expired.push_back(id);
  }
  if (expired.empty()) return;
  std::string names;
  for (const auto& id : expired) {
    g.members.erase(id);
    names += (names.empty() ? "" : ",") + id;
  }
  rebalance(g, "session timeout of " + names, events);
}

Status Broker::checkMember(Group& g, const std::string& member_id, int32_t generation,
                           KafkaError stale_error, Member** out) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) {
    return kafkaStatus(KafkaError::kUnknownMemberId,
                       "member '" + member_id + "' is not in group '" + g.name +
                           "' (it left or its session timed out); join again");
  }
  if (generation != g.generation) {
    return kafkaStatus(stale_error, "group '" + g.name + "' is at generation " +
                                        std::to_string(g.generation) + ", member '" + member_id +
                                        "' used " + std::to_string(generation) + "; rejoin");
  }
  *out = &it->second;
  return OkStatus();
}

Result<Membership> Broker::joinGroup(const std::string& group, const JoinOptions& options) {
  if (group.empty()) return kafkaStatus(KafkaError::kInvalidRequest, "group id is empty");
  const bool is_new = options.member_id.empty();
  if (is_new && options.topics.empty()) {
    return kafkaStatus(KafkaError::kInvalidRequest, "a member must subscribe to at least one topic");
  }
  if (is_new && options.session_timeout.count() <= 0) {
    return kafkaStatus(KafkaError::kInvalidSessionTimeout, "session timeout must be positive");
  }
  std::vector<flow::FlowEvent> events;
  Result<Membership> result = Internal("join did not run");
  {
    std::lock_guard lock(mu_);
    const int64_t now = toMicros(clock_.now());
    auto& slot = groups_[group];
    if (!slot) {
      slot = std::make_unique<Group>();
      slot->name = group;
    }
    Group& g = *slot;
    expireMembers(g, now, &events);
    std::vector<std::string> topics = options.topics;
    std::sort(topics.begin(), topics.end());
    topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
    const int64_t timeout_us =
        std::chrono::duration_cast<std::chrono::microseconds>(options.session_timeout).count();
    Member* m = nullptr;
    if (options.member_id.empty()) {
      std::string id = (options.client_id.empty() ? "consumer" : options.client_id) + "-" +
                       std::to_string(next_member_seq_++);
      Member& nm = g.members[id];
      nm.id = id;
      nm.client_id = options.client_id;
      nm.topics = topics;
      nm.session_timeout_us = timeout_us;
      nm.last_seen_us = now;
      g.assignor = options.assignor;
      g.offset_reset = options.offset_reset;
      g.max_delivery_attempts = std::max(1, options.max_delivery_attempts);
      rebalance(g, "join of " + id, &events);
      m = &nm;
    } else {
      auto it = g.members.find(options.member_id);
      if (it == g.members.end()) {
        result = kafkaStatus(KafkaError::kUnknownMemberId,
                             "member '" + options.member_id + "' is not in group '" + group +
                                 "'; join with an empty member id");
      } else {
        m = &it->second;
        m->last_seen_us = now;
        if (timeout_us > 0) m->session_timeout_us = timeout_us;
        if (!topics.empty() && m->topics != topics) {
          m->topics = topics;
          rebalance(g, "subscription change of " + m->id, &events);
        }
      }
    }
    if (m) {
      m->generation_seen = g.generation;
      result = Membership{m->id, g.generation, m->assignment};
    }
  }
  emitAll(events);
  return result;
}

Status Broker::heartbeat(const std::string& group, const std::string& member_id, int32_t generation) {
  std::vector<flow::FlowEvent> events;
  Status status;
  {
    std::lock_guard lock(mu_);
    Group* g = findGroup(group);
    if (!g) return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
    const int64_t now = toMicros(clock_.now());
    expireMembers(*g, now, &events);
    Member* m = nullptr;
    status = checkMember(*g, member_id, generation, KafkaError::kRebalanceInProgress, &m);
    if (m) m->last_seen_us = now;
  }
  emitAll(events);
  return status;
}

Status Broker::leaveGroup(const std::string& group, const std::string& member_id) {
  std::vector<flow::FlowEvent> events;
  {
    std::lock_guard lock(mu_);
    Group* g = findGroup(group);
    if (!g) return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
    if (!g->members.erase(member_id)) {
      return kafkaStatus(KafkaError::kUnknownMemberId,
                         "member '" + member_id + "' is not in group '" + group + "'");
    }
    rebalance(*g, "leave of " + member_id, &events);
  }
  emitAll(events);
  return OkStatus();
}

Result<PollResult> Broker::poll(const std::string& group, const std::string& member_id,
                                int32_t generation, int32_t max_records,
                                std::chrono::milliseconds max_wait) {
  std::vector<flow::FlowEvent> events;
  Result<PollResult> result = Internal("poll did not run");
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  {
    std::unique_lock lock(mu_);
    Group* g = findGroup(group);
    if (!g) return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
    for (;;) {
      const int64_t now = toMicros(clock_.now());
      expireMembers(*g, now, &events);
      Member* m = nullptr;
      Status st = checkMember(*g, member_id, generation, KafkaError::kRebalanceInProgress, &m);
      if (!st.ok()) {
        result = st;
        break;
      }
      m->last_seen_us = now;
      PollResult out;
      out.generation = g->generation;
      const uint64_t appends_seen = appends_;
      if (!g->stalled && max_records > 0 && !m->assignment.empty()) {
        std::vector<std::pair<TopicPartition, int64_t>> advanced;
        const size_t na = m->assignment.size();
        const size_t start = m->poll_cursor++ % na;
        for (size_t k = 0; k < na && static_cast<int32_t>(out.records.size()) < max_records; ++k) {
          const TopicPartition& tp = m->assignment[(start + k) % na];
          if (m->paused.count(tp)) continue;
          Topic* t = findTopic(tp.topic);
          if (!t || tp.partition >= static_cast<int32_t>(t->partitions.size())) continue;
          Partition& p = t->partitions[tp.partition];
          if (!p.leaderAvailable(now)) continue;
          applyRetention(*t, p, now);
          auto pos_it = g->positions.find(tp);
          int64_t pos;
          if (pos_it == g->positions.end()) {
            auto c = g->committed.find(tp);
            if (c != g->committed.end()) {
              pos = c->second;
            } else if (g->offset_reset == OffsetReset::kNone) {
              st = kafkaStatus(KafkaError::kNoOffsetForPartition,
                               "group '" + group + "' has no committed offset for " + tp.toString() +
                                   " and auto.offset.reset is none; seek first");
              break;
            } else {
              pos = g->offset_reset == OffsetReset::kEarliest ? p.log_start : p.log_end;
              out.reset_partitions.push_back(tp);
            }
            pos_it = g->positions.emplace(tp, pos).first;
          }
          pos = pos_it->second;
          if (pos < p.log_start || pos > p.log_end) {
            if (g->offset_reset == OffsetReset::kNone) {
              st = kafkaStatus(KafkaError::kOffsetOutOfRange,
                               tp.toString() + " position " + std::to_string(pos) + " of group '" +
                                   group + "' is outside the log [" + std::to_string(p.log_start) +
                                   ", " + std::to_string(p.log_end) +
                                   "] and auto.offset.reset is none");
              break;
            }
            pos = g->offset_reset == OffsetReset::kEarliest ? p.log_start : p.log_end;
            pos_it->second = pos;
            out.reset_partitions.push_back(tp);
          }
          const auto failures_it = g->failures.find(tp);
          const std::map<int64_t, int32_t>* failures =
              failures_it == g->failures.end() || failures_it->second.empty() ? nullptr
                                                                              : &failures_it->second;
          int64_t next = pos;
          for (auto it = p.lowerBound(pos);
               it != p.log.end() && static_cast<int32_t>(out.records.size()) < max_records; ++it) {
            if (g->delay_us > 0 && it->append_us + g->delay_us > now) break;
            int32_t attempt = 1;
            if (failures) {
              auto f = failures->find(it->offset);
              if (f != failures->end()) attempt += f->second;
            }
            out.records.push_back(Delivery{tp.topic, tp.partition, it->offset, it->append_us, attempt, it->record});
            next = it->offset + 1;
          }
          if (next != pos) advanced.emplace_back(tp, next);
        }
        if (!st.ok()) {
          result = st;
          break;
        }
        if (!out.records.empty() && g->duplicate_polls > 0) {
          --g->duplicate_polls;  // fault: leave positions alone so these come again
        } else {
          for (const auto& [tp, next] : advanced) g->positions[tp] = next;
        }
      }
      const bool timed_out = std::chrono::steady_clock::now() >= deadline;
      if (!out.records.empty() || timed_out) {
        if (flow_) {
          const int64_t real_us = realNowUs();
          const std::string& destination = m->client_id.empty() ? member_id : m->client_id;
          events.reserve(events.size() + out.records.size());
          for (const auto& d : out.records) {
            flow::FlowEvent e = makeEvent(flow::FlowKind::kDeliver, now, real_us);
            e.source = "bus";
            e.destination = destination;
            e.consumer_group = group;
            e.topic = d.topic;
            e.partition = d.partition;
            e.offset = d.offset;
            e.size = static_cast<int64_t>(d.record->sizeBytes());
            e.payload = d.record->value;
            if (d.record->key) e.partition_key = *d.record->key;
            // Only redeliveries say so; the member is the destination.
            if (d.delivery_attempt > 1) e.detail = "attempt " + std::to_string(d.delivery_attempt);
            setTrace(e, *d.record);
            events.push_back(std::move(e));
          }
        }
        result = std::move(out);
        break;
      }
      // Nothing ready: wait (real time) for an append, a rebalance or the deadline.
      const int32_t gen = g->generation;
      data_cv_.wait_until(lock, deadline, [&] { return appends_ != appends_seen || g->generation != gen; });
    }
  }
  emitAll(events);
  return result;
}

Status Broker::commit(const std::string& group, const std::string& member_id, int32_t generation,
                      const std::vector<OffsetCommit>& offsets) {
  std::vector<flow::FlowEvent> events;
  Status status;
  {
    std::lock_guard lock(mu_);
    Group* g = findGroup(group);
    if (!g) return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
    const int64_t now = toMicros(clock_.now());
    expireMembers(*g, now, &events);
    Member* m = nullptr;
    status = checkMember(*g, member_id, generation, KafkaError::kIllegalGeneration, &m);
    if (status.ok()) {
      m->last_seen_us = now;
      for (const auto& c : offsets) {
        const Topic* t = findTopic(c.tp.topic);
        if (!t || c.tp.partition < 0 || c.tp.partition >= static_cast<int32_t>(t->partitions.size())) {
          status = kafkaStatus(KafkaError::kUnknownTopicOrPartition, "no partition " + c.tp.toString());
          break;
        }
      }
    }
    if (status.ok()) {
      for (const auto& c : offsets) g->committed[c.tp] = c.offset;
    }
    if (flow_) {
      for (const auto& c : offsets) {
        flow::FlowEvent e = makeEvent(flow::FlowKind::kCommit, now);
        e.source = m && !m->client_id.empty() ? m->client_id : member_id;
        e.destination = "bus";
        e.consumer_group = group;
        e.topic = c.tp.topic;
        e.partition = c.tp.partition;
        e.offset = c.offset;
        e.status = status.ok() ? "OK" : std::string(kafkaErrorName(kafkaErrorOf(status)));
        e.detail = status.ok() ? "member " + member_id : status.message();
        events.push_back(std::move(e));
      }
    }
  }
  emitAll(events);
  return status;
}

Result<NackOutcome> Broker::nack(const std::string& group, const std::string& member_id,
                                 int32_t generation, const TopicPartition& tp, int64_t offset,
                                 const std::string& reason) {
  std::vector<flow::FlowEvent> events;
  Result<NackOutcome> result = Internal("nack did not run");
  Status dlq_error;
  {
    std::lock_guard lock(mu_);
    Group* g = findGroup(group);
    if (!g) return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
    const int64_t now = toMicros(clock_.now());
    expireMembers(*g, now, &events);
    Member* m = nullptr;
    Status st = checkMember(*g, member_id, generation, KafkaError::kIllegalGeneration, &m);
    if (st.ok() && std::find(m->assignment.begin(), m->assignment.end(), tp) == m->assignment.end()) {
      st = kafkaStatus(KafkaError::kIllegalGeneration,
                       tp.toString() + " is not assigned to member '" + member_id + "'");
    }
    if (!st.ok()) {
      result = st;
    } else {
      m->last_seen_us = now;
      NackOutcome outcome;
      int32_t& count = g->failures[tp][offset];
      outcome.attempts = ++count;
      int64_t& committed = g->committed.try_emplace(tp, offset).first->second;
      committed = std::max(committed, offset);
      if (outcome.attempts >= g->max_delivery_attempts) {
        g->failures[tp].erase(offset);
        outcome.dead_lettered = true;
        outcome.dead_letter_topic = tp.topic + ".dlq." + group;
        Topic* src = findTopic(tp.topic);
        std::shared_ptr<const Record> original;
        if (src && tp.partition < static_cast<int32_t>(src->partitions.size())) {
          const Partition& p = src->partitions[tp.partition];
          auto it = p.lowerBound(offset);
          if (it != p.log.end() && it->offset == offset) original = it->record;
        }
        if (!findTopic(outcome.dead_letter_topic)) {
          TopicConfig dc;
          dc.partitions = src ? static_cast<int32_t>(src->partitions.size()) : 1;
          auto t = std::make_unique<Topic>();
          t->name = outcome.dead_letter_topic;
          t->config = dc;
          t->partitions.resize(static_cast<size_t>(dc.partitions));
          topics_[outcome.dead_letter_topic] = std::move(t);
          rebalanceSubscribersLocked(outcome.dead_letter_topic, &events);
        }
        if (original) {
          Record copy = *original;
          copy.partition = -1;
          copy.headers.push_back({"dlq.original.topic", tp.topic});
          copy.headers.push_back({"dlq.original.partition", std::to_string(tp.partition)});
          copy.headers.push_back({"dlq.original.offset", std::to_string(offset)});
          copy.headers.push_back({"dlq.group", group});
          copy.headers.push_back({"dlq.attempts", std::to_string(outcome.attempts)});
          copy.headers.push_back({"dlq.error", reason});
          std::vector<Record> batch;
          batch.push_back(std::move(copy));
          ProduceOptions po;
          po.client_id = "bus";
          auto appended = appendLocked(outcome.dead_letter_topic, batch, po, now, &events);
          if (!appended.ok()) {
            dlq_error = appended.status().withContext("dead-lettering " + tp.toString() + "@" +
                                                   std::to_string(offset));
          }
        }
        committed = std::max(committed, offset + 1);
        g->positions[tp] = offset + 1;
      } else {
        g->positions[tp] = offset;  // redeliver from the failed record
      }
      if (flow_) {
        flow::FlowEvent e = makeEvent(flow::FlowKind::kCommit, now);
        e.source = m->client_id.empty() ? member_id : m->client_id;
        e.destination = "bus";
        e.consumer_group = group;
        e.topic = tp.topic;
        e.partition = tp.partition;
        e.offset = committed;
        e.detail = "nack of offset " + std::to_string(offset) + " attempt " +
                   std::to_string(outcome.attempts) +
                   (outcome.dead_lettered ? " -> " + outcome.dead_letter_topic : "") + ": " + reason;
        events.push_back(std::move(e));
      }
      if (dlq_error.ok()) {
        result = std::move(outcome);
      } else {
        result = dlq_error;
      }
    }
  }
  emitAll(events);
  return result;
}

Status Broker::seek(const std::string& group, const std::string& member_id, int32_t generation,
                    const TopicPartition& tp, int64_t offset) {
  std::lock_guard lock(mu_);
  Group* g = findGroup(group);
  if (!g) return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
  Member* m = nullptr;
  SANDBANK_RETURN_IF_ERROR(checkMember(*g, member_id, generation, KafkaError::kIllegalGeneration, &m));
  if (std::find(m->assignment.begin(), m->assignment.end(), tp) == m->assignment.end()) {
    return kafkaStatus(KafkaError::kUnknownTopicOrPartition,
                       tp.toString() + " is not assigned to member '" + member_id + "'");
  }
  g->positions[tp] = offset;
  return OkStatus();
}

Status Broker::pause(const std::string& group, const std::string& member_id, int32_t generation,
                     const std::vector<TopicPartition>& tps) {
  std::lock_guard lock(mu_);
  Group* g = findGroup(group);
  if (!g) return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
  Member* m = nullptr;
  SANDBANK_RETURN_IF_ERROR(checkMember(*g, member_id, generation, KafkaError::kIllegalGeneration, &m));
  for (const auto& tp : tps) {
    if (std::find(m->assignment.begin(), m->assignment.end(), tp) == m->assignment.end()) {
      return kafkaStatus(KafkaError::kUnknownTopicOrPartition,
                         tp.toString() + " is not assigned to member '" + member_id + "'");
    }
  }
  m->paused.insert(tps.begin(), tps.end());
  return OkStatus();
}

Status Broker::resume(const std::string& group, const std::string& member_id, int32_t generation,
                      const std::vector<TopicPartition>& tps) {
  {
    std::lock_guard lock(mu_);
    Group* g = findGroup(group);
    if (!g) return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
    Member* m = nullptr;
    SANDBANK_RETURN_IF_ERROR(checkMember(*g, member_id, generation, KafkaError::kIllegalGeneration, &m));
    for (const auto& tp : tps) m->paused.erase(tp);
    ++appends_;  // wake a waiting poll: resumed partitions may have records
    data_cv_.notify_all();
  }
  return OkStatus();
}

Result<int64_t> Broker::committedOffset(const std::string& group, const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  const Group* g = findGroup(group);
  if (!g) return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
  auto it = g->committed.find(tp);
  return it == g->committed.end() ? int64_t{-1} : it->second;
}

PartitionLag Broker::lagOf(const Group& g, const TopicPartition& tp) const {
  PartitionLag l;
  l.tp = tp;
  if (const Topic* t = findTopic(tp.topic)) {
    if (tp.partition >= 0 && tp.partition < static_cast<int32_t>(t->partitions.size())) {
      const Partition& p = t->partitions[tp.partition];
      l.log_start = p.log_start;
      l.log_end = p.log_end;
    }
  }
  auto it = g.committed.find(tp);
  l.committed = it == g.committed.end() ? -1 : it->second;
  l.lag = l.log_end - (l.committed >= 0 ? l.committed : l.log_start);
  if (l.lag < 0) l.lag = 0;
  return l;
}

Result<std::vector<PartitionLag>> Broker::lag(const std::string& group) const {
  auto d = describeGroup(group);
  if (!d.ok()) return d.status();
  return std::move(d->lag);
}

Result<GroupDescription> Broker::describeGroup(const std::string& group) const {
  std::lock_guard lock(mu_);
  const Group* g = findGroup(group);
  if (!g) return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
  GroupDescription d;
  d.group = group;
  d.generation = g->generation;
  d.assignor = g->assignor;
  bool settling = false;
  std::set<TopicPartition> tps;
  for (const auto& [tp, off] : g->committed) tps.insert(tp);
  for (const auto& [id, m] : g->members) {
    MemberDescription md{id, m.client_id, m.topics, m.assignment,
                         std::vector<TopicPartition>(m.paused.begin(), m.paused.end()),
                         m.generation_seen};
    settling |= m.generation_seen != g->generation;
    for (const auto& topic : m.topics) {
      if (const Topic* t = findTopic(topic)) {
        for (int32_t p = 0; p < static_cast<int32_t>(t->partitions.size()); ++p) tps.insert({topic, p});
      }
    }
    d.members.push_back(std::move(md));
  }
  d.state = g->members.empty() ? "Empty" : (settling ? "CompletingRebalance" : "Stable");
  for (const auto& tp : tps) d.lag.push_back(lagOf(*g, tp));
  return d;
}

std::vector<std::string> Broker::listGroups() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, g] : groups_) out.push_back(name);
  return out;
}

// ---- faults ---------------------------------------------------------------------------

namespace {
Status noGroup(const std::string& group) {
  return kafkaStatus(KafkaError::kGroupIdNotFound, "no group '" + group + "'");
}
}  // namespace

Status Broker::delayDelivery(const std::string& group, Duration delay) {
  std::lock_guard lock(mu_);
  Group* g = findGroup(group);
  if (!g) return noGroup(group);
  g->delay_us = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(delay).count());
  return OkStatus();
}

Status Broker::stallGroup(const std::string& group, bool stalled) {
  std::lock_guard lock(mu_);
  Group* g = findGroup(group);
  if (!g) return noGroup(group);
  g->stalled = stalled;
  ++appends_;
  data_cv_.notify_all();
  return OkStatus();
}

Status Broker::duplicateDeliveries(const std::string& group, int32_t count) {
  std::lock_guard lock(mu_);
  Group* g = findGroup(group);
  if (!g) return noGroup(group);
  g->duplicate_polls = std::max(0, count);
  return OkStatus();
}

Status Broker::loseProduceAcks(const std::string& topic, int32_t count) {
  std::lock_guard lock(mu_);
  Topic* t = findTopic(topic);
  if (!t) return kafkaStatus(KafkaError::kUnknownTopicOrPartition, "no topic '" + topic + "'");
  t->lose_acks = std::max(0, count);
  return OkStatus();
}

Status Broker::makeLeaderUnavailable(const TopicPartition& tp, Duration duration) {
  std::lock_guard lock(mu_);
  Topic* t = findTopic(tp.topic);
  if (!t || tp.partition < 0 || tp.partition >= static_cast<int32_t>(t->partitions.size())) {
    return kafkaStatus(KafkaError::kUnknownTopicOrPartition, "no partition " + tp.toString());
  }
  t->partitions[tp.partition].leader_unavailable_until_us =
      toMicros(clock_.now()) + std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
  return OkStatus();
}

Status Broker::forceRebalance(const std::string& group) {
  std::vector<flow::FlowEvent> events;
  {
    std::lock_guard lock(mu_);
    Group* g = findGroup(group);
    if (!g) return noGroup(group);
    rebalance(*g, "forced", &events);
  }
  emitAll(events);
  return OkStatus();
}

void Broker::clearFaults() {
  std::lock_guard lock(mu_);
  for (auto& [name, g] : groups_) {
    g->delay_us = 0;
    g->stalled = false;
    g->duplicate_polls = 0;
  }
  for (auto& [name, t] : topics_) {
    t->lose_acks = 0;
    for (auto& p : t->partitions) p.leader_unavailable_until_us = 0;
  }
  ++appends_;
  data_cv_.notify_all();
}

}  // namespace sandbank::bus
