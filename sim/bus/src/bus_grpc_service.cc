// sandbank.bus.Bus over the Broker: translation between protobuf and engine types, and
// Kafka errors mapped onto grpc::Status with the Kafka name leading the message.
// Thread-safety: stateless apart from the Broker reference; gRPC calls it concurrently.
#include "sandbank/bus/bus_grpc_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bus.grpc.pb.h"
#include "sandbank/bus/broker.h"

namespace sandbank::bus {
namespace {

namespace pb = ::sandbank::bus;  // generated types share the namespace; alias for clarity

grpc::Status toGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

grpc::Status badRequest(const std::string& why) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, why);
}

// The longest time a request may name. Milliseconds become nanoseconds (Duration) and are
// added to the clock, which overflows int64 past ~292 years; ten years is ample.
constexpr int64_t kMaxRequestMs = 10LL * 365 * 24 * 3600 * 1000;

// OK when `ms` is within [0, kMaxRequestMs]; otherwise a reason naming `field`.
grpc::Status checkMs(int64_t ms, const char* field) {
  if (ms >= 0 && ms <= kMaxRequestMs) return grpc::Status::OK;
  return badRequest(std::string(field) + " must be between 0 and " + std::to_string(kMaxRequestMs) +
                    " (ten years), got " + std::to_string(ms));
}

// Moves the strings out of a request the service owns (streaming reads).
Record fromProto(pb::ProducerRecord&& in) {
  Record r;
  if (in.has_key()) r.key = std::move(*in.mutable_key());
  r.value = std::move(*in.mutable_value());
  r.headers.reserve(in.headers_size());
  for (auto& h : *in.mutable_headers()) {
    r.headers.push_back({std::move(*h.mutable_key()), std::move(*h.mutable_value())});
  }
  r.timestamp_us = in.timestamp_us();
  r.partition = in.has_partition() ? in.partition() : -1;
  return r;
}

Record fromProto(const pb::ProducerRecord& in) {
  Record r;
  if (in.has_key()) r.key = in.key();
  r.value = in.value();
  r.headers.reserve(in.headers_size());
  for (const auto& h : in.headers()) r.headers.push_back({h.key(), h.value()});
  r.timestamp_us = in.timestamp_us();
  r.partition = in.has_partition() ? in.partition() : -1;
  return r;
}

void toProto(const Delivery& d, pb::ConsumerRecord* out) {
  out->set_topic(d.topic);
  out->set_partition(d.partition);
  out->set_offset(d.offset);
  out->set_append_us(d.append_us);
  out->set_delivery_attempt(d.delivery_attempt);
  const Record& r = *d.record;
  if (r.key) out->set_key(*r.key);
  out->set_value(r.value);
  for (const auto& h : r.headers) {
    auto* ph = out->add_headers();
    ph->set_key(h.key);
    ph->set_value(h.value);
  }
  out->set_timestamp_us(r.timestamp_us);
}

void toProto(const TopicPartition& tp, pb::TopicPartitionRef* out) {
  out->set_topic(tp.topic);
  out->set_partition(tp.partition);
}

void toProto(const PartitionLag& l, pb::PartitionLagInfo* out) {
  out->set_topic(l.tp.topic);
  out->set_partition(l.tp.partition);
  out->set_log_start(l.log_start);
  out->set_log_end(l.log_end);
  out->set_committed(l.committed);
  out->set_lag(l.lag);
}

void toProto(const Membership& m, pb::GroupMembership* out) {
  out->set_member_id(m.member_id);
  out->set_generation(m.generation);
  for (const auto& tp : m.assignment) toProto(tp, out->add_assignment());
}

class BusService final : public pb::Bus::Service {
 public:
  explicit BusService(Broker& broker) : broker_(broker) {}

  grpc::Status Produce(grpc::ServerContext*, const pb::ProduceRequest* req,
                       pb::ProduceResponse* resp) override {
    if (req->topic().empty()) return badRequest("ProduceRequest.topic is empty");
    auto ack = produceOne(*req);
    if (!ack.ok()) return toGrpc(ack.status());
    fillAck(*ack, req->batch_id(), resp);
    return grpc::Status::OK;
  }

  grpc::Status ProduceStream(grpc::ServerContext*, grpc::ServerReader<pb::ProduceRequest>* reader,
                             pb::ProduceStreamSummary* summary) override {
    for (;;) {
      google::protobuf::Arena arena;
      pb::ProduceRequest& req = *google::protobuf::Arena::CreateMessage<pb::ProduceRequest>(&arena);
      if (!reader->Read(&req)) break;
      summary->set_batches(summary->batches() + 1);
      auto ack = produceOne(req);
      if (ack.ok()) {
        summary->set_records(summary->records() + static_cast<int64_t>(ack->positions.size()));
      } else {
        summary->set_failed_batches(summary->failed_batches() + 1);
        if (summary->first_error().empty()) summary->set_first_error(ack.status().message());
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status ProducePipeline(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<pb::ProduceResponse, pb::ProduceRequest>* stream) override {
    pb::ProduceResponse resp;
    for (;;) {
      // One arena per batch; the record strings are moved out of it into the log.
      google::protobuf::Arena arena;
      pb::ProduceRequest& req = *google::protobuf::Arena::CreateMessage<pb::ProduceRequest>(&arena);
      if (!stream->Read(&req)) break;
      resp.Clear();
      auto ack = produceOne(req);
      if (ack.ok()) {
        fillAck(*ack, req.batch_id(), &resp);
      } else {
        const KafkaError e = kafkaErrorOf(ack.status());
        resp.set_batch_id(req.batch_id());
        resp.set_error(e == KafkaError::kNone ? std::string(statusCodeName(ack.status().code()))
                                              : std::string(kafkaErrorName(e)));
        resp.set_error_message(ack.status().message());
        resp.set_retriable(isRetriable(e));
      }
      if (!stream->Write(resp)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status InitProducerId(grpc::ServerContext*, const pb::InitProducerIdRequest*,
                              pb::InitProducerIdResponse* resp) override {
    resp->set_producer_id(broker_.initProducerId());
    return grpc::Status::OK;
  }

  grpc::Status JoinGroup(grpc::ServerContext*, const pb::JoinGroupRequest* req,
                         pb::GroupMembership* resp) override {
    if (req->group().empty()) return badRequest("JoinGroupRequest.group is empty");
    JoinOptions o;
    o.member_id = req->member_id();
    o.client_id = req->client_id().empty() ? "consumer" : req->client_id();
    o.topics.assign(req->topics().begin(), req->topics().end());
    if (req->session_timeout_ms() > 0) {
      o.session_timeout = std::chrono::milliseconds(req->session_timeout_ms());
    } else if (!o.member_id.empty()) {
      o.session_timeout = Duration(0);  // keep the member's timeout
    }
    if (!parseAssignor(req->assignor(), &o.assignor)) {
      return badRequest("unknown assignor '" + req->assignor() + "'; use range or roundrobin");
    }
    if (!parseOffsetReset(req->auto_offset_reset(), &o.offset_reset)) {
      return badRequest("unknown auto_offset_reset '" + req->auto_offset_reset() +
                        "'; use earliest, latest or none");
    }
    if (req->max_delivery_attempts() > 0) o.max_delivery_attempts = req->max_delivery_attempts();
    auto m = broker_.joinGroup(req->group(), o);
    if (!m.ok()) return toGrpc(m.status());
    toProto(*m, resp);
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext*, const pb::HeartbeatRequest* req, pb::Empty*) override {
    return toGrpc(broker_.heartbeat(req->group(), req->member_id(), req->generation()));
  }

  grpc::Status LeaveGroup(grpc::ServerContext*, const pb::LeaveGroupRequest* req, pb::Empty*) override {
    return toGrpc(broker_.leaveGroup(req->group(), req->member_id()));
  }

  grpc::Status Consume(grpc::ServerContext* ctx, const pb::ConsumeRequest* req,
                       grpc::ServerWriter<pb::ConsumeBatch>* writer) override {
    if (req->group().empty() || req->member_id().empty()) {
      return badRequest("ConsumeRequest needs group and member_id (call JoinGroup first)");
    }
    const int32_t max_records = req->max_records() > 0 ? req->max_records() : 500;
    const auto wait = std::chrono::milliseconds(req->max_wait_ms() > 0 ? req->max_wait_ms() : 100);
    int32_t generation = req->generation();
    while (!ctx->IsCancelled()) {
      auto polled = broker_.poll(req->group(), req->member_id(), generation, max_records, wait);
      // One arena per batch: a batch is thousands of small messages.
      google::protobuf::Arena arena;
      pb::ConsumeBatch& batch = *google::protobuf::Arena::CreateMessage<pb::ConsumeBatch>(&arena);
      if (!polled.ok()) {
        if (kafkaErrorOf(polled.status()) != KafkaError::kRebalanceInProgress) {
          return toGrpc(polled.status());
        }
        // The group moved on: rejoin on the member's behalf and tell it the new terms.
        JoinOptions o;
        o.member_id = req->member_id();
        o.session_timeout = Duration(0);
        auto m = broker_.joinGroup(req->group(), o);
        if (!m.ok()) return toGrpc(m.status());
        generation = m->generation;
        batch.set_generation(generation);
        toProto(*m, batch.mutable_membership());
        if (!writer->Write(batch)) break;
        continue;
      }
      if (polled->records.empty() && polled->reset_partitions.empty()) continue;
      batch.set_generation(polled->generation);
      batch.mutable_records()->Reserve(static_cast<int>(polled->records.size()));
      for (const auto& d : polled->records) toProto(d, batch.add_records());
      for (const auto& tp : polled->reset_partitions) toProto(tp, batch.add_reset_partitions());
      if (!writer->Write(batch)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status Commit(grpc::ServerContext*, const pb::CommitRequest* req, pb::Empty*) override {
    std::vector<OffsetCommit> offsets;
    offsets.reserve(req->offsets_size());
    for (const auto& o : req->offsets()) offsets.push_back({{o.topic(), o.partition()}, o.offset()});
    return toGrpc(broker_.commit(req->group(), req->member_id(), req->generation(), offsets));
  }

  grpc::Status Nack(grpc::ServerContext*, const pb::NackRequest* req, pb::NackResponse* resp) override {
    auto n = broker_.nack(req->group(), req->member_id(), req->generation(),
                          {req->topic(), req->partition()}, req->offset(), req->reason());
    if (!n.ok()) return toGrpc(n.status());
    resp->set_attempts(n->attempts);
    resp->set_dead_lettered(n->dead_lettered);
    resp->set_dead_letter_topic(n->dead_letter_topic);
    return grpc::Status::OK;
  }

  grpc::Status Seek(grpc::ServerContext*, const pb::SeekRequest* req, pb::Empty*) override {
    return toGrpc(broker_.seek(req->group(), req->member_id(), req->generation(),
                               {req->topic(), req->partition()}, req->offset()));
  }

  grpc::Status Pause(grpc::ServerContext*, const pb::PauseRequest* req, pb::Empty*) override {
    std::vector<TopicPartition> tps;
    for (const auto& tp : req->partitions()) tps.push_back({tp.topic(), tp.partition()});
    if (req->resume()) return toGrpc(broker_.resume(req->group(), req->member_id(), req->generation(), tps));
    return toGrpc(broker_.pause(req->group(), req->member_id(), req->generation(), tps));
  }

  grpc::Status CreateTopic(grpc::ServerContext*, const pb::CreateTopicRequest* req, pb::Empty*) override {
    if (req->retention_ms() < 0 || req->retention_bytes() < 0) {
      return badRequest("retention_ms and retention_bytes must be >= 0 (0 = unlimited)");
    }
    if (auto s = checkMs(req->retention_ms(), "retention_ms"); !s.ok()) return s;
    TopicConfig c;
    c.partitions = req->partitions() == 0 ? 1 : req->partitions();
    c.retention_time = std::chrono::milliseconds(req->retention_ms());
    c.retention_bytes = req->retention_bytes();
    c.compacted = req->compacted();
    return toGrpc(broker_.createTopic(req->name(), c));
  }

  grpc::Status DeleteTopic(grpc::ServerContext*, const pb::DeleteTopicRequest* req, pb::Empty*) override {
    return toGrpc(broker_.deleteTopic(req->name()));
  }

  grpc::Status DescribeTopics(grpc::ServerContext*, const pb::DescribeTopicsRequest* req,
                              pb::DescribeTopicsResponse* resp) override {
    std::vector<TopicDescription> topics;
    if (req->names_size() == 0) {
      topics = broker_.describeTopics();
    } else {
      for (const auto& name : req->names()) {
        auto d = broker_.describeTopic(name);
        if (!d.ok()) return toGrpc(d.status());
        topics.push_back(std::move(*d));
      }
    }
    for (const auto& t : topics) {
      auto* pt = resp->add_topics();
      pt->set_name(t.name);
      pt->set_partitions(t.config.partitions);
      pt->set_retention_ms(std::chrono::duration_cast<std::chrono::milliseconds>(t.config.retention_time).count());
      pt->set_retention_bytes(t.config.retention_bytes);
      pt->set_compacted(t.config.compacted);
      for (const auto& p : t.partitions) {
        auto* pp = pt->add_partition_info();
        pp->set_partition(p.partition);
        pp->set_log_start(p.log_start);
        pp->set_log_end(p.log_end);
        pp->set_bytes(p.bytes);
        pp->set_leader_available(p.leader_available);
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status DescribeGroup(grpc::ServerContext*, const pb::DescribeGroupRequest* req,
                             pb::GroupInfo* resp) override {
    auto d = broker_.describeGroup(req->group());
    if (!d.ok()) return toGrpc(d.status());
    resp->set_group(d->group);
    resp->set_generation(d->generation);
    resp->set_state(d->state);
    resp->set_assignor(std::string(assignorName(d->assignor)));
    for (const auto& m : d->members) {
      auto* pm = resp->add_members();
      pm->set_member_id(m.member_id);
      pm->set_client_id(m.client_id);
      for (const auto& t : m.topics) pm->add_topics(t);
      for (const auto& tp : m.assignment) toProto(tp, pm->add_assignment());
      for (const auto& tp : m.paused) toProto(tp, pm->add_paused());
      pm->set_generation_seen(m.generation_seen);
    }
    for (const auto& l : d->lag) toProto(l, resp->add_lag());
    return grpc::Status::OK;
  }

  grpc::Status ListGroups(grpc::ServerContext*, const pb::Empty*, pb::ListGroupsResponse* resp) override {
    for (const auto& g : broker_.listGroups()) resp->add_groups(g);
    return grpc::Status::OK;
  }

  grpc::Status Lag(grpc::ServerContext*, const pb::DescribeGroupRequest* req, pb::LagResponse* resp) override {
    auto lag = broker_.lag(req->group());
    if (!lag.ok()) return toGrpc(lag.status());
    int64_t total = 0;
    for (const auto& l : *lag) {
      toProto(l, resp->add_partitions());
      total += l.lag;
    }
    resp->set_total(total);
    return grpc::Status::OK;
  }

  grpc::Status Browse(grpc::ServerContext*, const pb::BrowseRequest* req, pb::BrowseResponse* resp) override {
    auto desc = broker_.describeTopic(req->topic());
    if (!desc.ok()) return toGrpc(desc.status());
    if (req->partition() < 0 || req->partition() >= static_cast<int32_t>(desc->partitions.size())) {
      return toGrpc(kafkaStatus(KafkaError::kUnknownTopicOrPartition,
                                "topic '" + req->topic() + "' has no partition " +
                                    std::to_string(req->partition())));
    }
    const PartitionInfo& p = desc->partitions[req->partition()];
    const int64_t from = req->offset() < 0 ? p.log_start : req->offset();
    auto got = broker_.fetch({req->topic(), req->partition()}, from,
                             req->max_records() > 0 ? req->max_records() : 100);
    if (!got.ok()) return toGrpc(got.status());
    for (const auto& d : *got) toProto(d, resp->add_records());
    resp->set_log_start(p.log_start);
    resp->set_log_end(p.log_end);
    return grpc::Status::OK;
  }

  grpc::Status InjectFault(grpc::ServerContext*, const pb::FaultRequest* req, pb::Empty*) override {
    using namespace std::chrono;
    switch (req->fault_case()) {
      case pb::FaultRequest::kDelayDelivery:
        if (auto s = checkMs(req->delay_delivery().delay_ms(), "delay_delivery.delay_ms"); !s.ok()) return s;
        return toGrpc(broker_.delayDelivery(req->delay_delivery().group(),
                                            milliseconds(req->delay_delivery().delay_ms())));
      case pb::FaultRequest::kStallGroup:
        return toGrpc(broker_.stallGroup(req->stall_group().group(), req->stall_group().stalled()));
      case pb::FaultRequest::kDuplicateDeliveries:
        return toGrpc(broker_.duplicateDeliveries(req->duplicate_deliveries().group(),
                                                  req->duplicate_deliveries().count()));
      case pb::FaultRequest::kLoseProduceAcks:
        return toGrpc(broker_.loseProduceAcks(req->lose_produce_acks().topic(),
                                              req->lose_produce_acks().count()));
      case pb::FaultRequest::kLeaderUnavailable:
        if (auto s = checkMs(req->leader_unavailable().duration_ms(), "leader_unavailable.duration_ms"); !s.ok()) {
          return s;
        }
        return toGrpc(broker_.makeLeaderUnavailable(
            {req->leader_unavailable().topic(), req->leader_unavailable().partition()},
            milliseconds(req->leader_unavailable().duration_ms())));
      case pb::FaultRequest::kForceRebalance:
        return toGrpc(broker_.forceRebalance(req->force_rebalance().group()));
      case pb::FaultRequest::kClear:
        broker_.clearFaults();
        return grpc::Status::OK;
      case pb::FaultRequest::FAULT_NOT_SET:
        break;
    }
    return badRequest("FaultRequest names no fault; set one of its fields");
  }

 private:
  Result<ProduceAck> produceOne(pb::ProduceRequest& req) {
    std::vector<Record> records;
    records.reserve(req.records_size());
    for (auto& r : *req.mutable_records()) records.push_back(fromProto(std::move(r)));
    return produceRecords(req, std::move(records));
  }
  Result<ProduceAck> produceOne(const pb::ProduceRequest& req) {
    std::vector<Record> records;
    records.reserve(req.records_size());
    for (const auto& r : req.records()) records.push_back(fromProto(r));
    return produceRecords(req, std::move(records));
  }
  Result<ProduceAck> produceRecords(const pb::ProduceRequest& req, std::vector<Record> records) {
    ProduceOptions o;
    o.client_id = req.client_id();
    o.producer_id = req.producer_id() > 0 ? req.producer_id() : -1;
    o.base_sequence = req.base_sequence();
    return broker_.produce(req.topic(), std::move(records), o);
  }

  static void fillAck(const ProduceAck& ack, uint64_t batch_id, pb::ProduceResponse* resp) {
    resp->set_batch_id(batch_id);
    resp->set_duplicate(ack.duplicate);
    resp->mutable_partitions()->Reserve(static_cast<int>(ack.positions.size()));
    resp->mutable_offsets()->Reserve(static_cast<int>(ack.positions.size()));
    for (const auto& p : ack.positions) {
      resp->add_partitions(p.partition);
      resp->add_offsets(p.offset);
    }
  }

  Broker& broker_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeBusGrpcService(Broker& broker) {
  return std::make_unique<BusService>(broker);
}

}  // namespace sandbank::bus
