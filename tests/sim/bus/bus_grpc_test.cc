// The bus over gRPC and the kit's bus clients: the service on 127.0.0.1:0 in-process,
// driven through the generated stub and through BusProducer / BusConsumer.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "sandbank/bus.grpc.pb.h"
#include "sandbank/bus/broker.h"
#include "sandbank/bus/bus_grpc_service.h"
#include "sandbank/bus/partitioner.h"
#include "sandbank/kit/bus_client.h"

namespace sandbank::bus {
namespace {

using namespace std::chrono_literals;

// A flow sink a test can wait on: counts events by status.
class WaitableSink final : public flow::FlowSink {
 public:
  void emit(flow::FlowEvent e) override {
    std::lock_guard lock(mu_);
    ++by_status_[e.status];
    cv_.notify_all();
  }
  bool waitFor(const std::string& status, int count, std::chrono::seconds timeout = 20s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return by_status_[status] >= count; });
  }
  // Re-evaluates `pred` after every event (the broker never emits under its own lock,
  // so `pred` may call the broker).
  bool waitUntil(const std::function<bool()>& pred, std::chrono::seconds timeout = 20s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, pred);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> by_status_;  // guarded by mu_
};

class BusGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = makeBusGrpcService(broker_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    ASSERT_GT(port_, 0);
    address_ = "127.0.0.1:" + std::to_string(port_);
    stub_ = Bus::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now() + 2s); }

  ManualClock clock_;
  WaitableSink sink_;
  Broker broker_{clock_, &sink_};
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
  std::unique_ptr<Bus::Stub> stub_;
};

TEST_F(BusGrpcTest, ProduceThenBrowseReturnsRecordsInOrder) {
  grpc::ClientContext c1;
  CreateTopicRequest create;
  create.set_name("ledger-events");
  create.set_partitions(3);
  Empty empty;
  ASSERT_TRUE(stub_->CreateTopic(&c1, create, &empty).ok());

  ProduceRequest req;
  req.set_topic("ledger-events");
  for (int i = 0; i < 5; ++i) {
    auto* r = req.add_records();
    r->set_key("acct-1");
    r->set_value("entry-" + std::to_string(i));
  }
  ProduceResponse resp;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->Produce(&c2, req, &resp).ok());
  ASSERT_EQ(resp.partitions_size(), 5);
  ASSERT_EQ(resp.offsets_size(), 5);
  EXPECT_EQ(resp.partitions(0), partitionForKey("acct-1", 3));
  EXPECT_EQ(resp.offsets(4), 4);

  BrowseRequest browse;
  browse.set_topic("ledger-events");
  browse.set_partition(partitionForKey("acct-1", 3));
  browse.set_offset(2);
  BrowseResponse page;
  grpc::ClientContext c3;
  ASSERT_TRUE(stub_->Browse(&c3, browse, &page).ok());
  ASSERT_EQ(page.records_size(), 3);
  EXPECT_EQ(page.records(0).offset(), 2);
  EXPECT_EQ(page.records(0).value(), "entry-2");
  EXPECT_EQ(page.log_end(), 5);
}

TEST_F(BusGrpcTest, BadRequestsReturnAReasonAndKafkaNames) {
  ProduceRequest req;
  ProduceResponse resp;
  grpc::ClientContext c1;
  grpc::Status s = stub_->Produce(&c1, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("topic"), std::string::npos);

  req.set_topic("missing");
  req.add_records()->set_value("x");
  grpc::ClientContext c2;
  s = stub_->Produce(&c2, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message().rfind("UnknownTopicOrPartition", 0), 0u) << s.error_message();

  JoinGroupRequest join;
  join.set_group("g");
  join.add_topics("t");
  join.set_assignor("sticky-ish");
  GroupMembership m;
  grpc::ClientContext c3;
  s = stub_->JoinGroup(&c3, join, &m);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("roundrobin"), std::string::npos);

  FaultRequest fault;  // names no fault
  Empty empty;
  grpc::ClientContext c4;
  EXPECT_EQ(stub_->InjectFault(&c4, fault, &empty).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Bad input for fuzz/bus_grpc: a time in milliseconds near INT64_MAX overflowed when it
// became nanoseconds (undefined behaviour) instead of being refused.
TEST_F(BusGrpcTest, TimesBeyondTenYearsAreRefusedWithTheFieldNamed) {
  Empty empty;
  CreateTopicRequest topic;
  topic.set_name("t");
  topic.set_retention_ms(INT64_MAX);
  grpc::ClientContext c1;
  grpc::Status s = stub_->CreateTopic(&c1, topic, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("retention_ms"), std::string::npos) << s.error_message();
  EXPECT_FALSE(broker_.describeTopic("t").ok());

  topic.set_retention_ms(7LL * 24 * 3600 * 1000);  // a week, as Kafka defaults
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->CreateTopic(&c2, topic, &empty).ok());

  FaultRequest leader;
  leader.mutable_leader_unavailable()->set_topic("t");
  leader.mutable_leader_unavailable()->set_duration_ms(INT64_MAX);
  grpc::ClientContext c3;
  s = stub_->InjectFault(&c3, leader, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("leader_unavailable.duration_ms"), std::string::npos) << s.error_message();

  FaultRequest delay;
  delay.mutable_delay_delivery()->set_group("g");
  delay.mutable_delay_delivery()->set_delay_ms(INT64_MIN);
  grpc::ClientContext c4;
  s = stub_->InjectFault(&c4, delay, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("delay_delivery.delay_ms"), std::string::npos) << s.error_message();
}

TEST_F(BusGrpcTest, ConsumeStreamAnnouncesRebalanceAndOldGenerationCommitFails) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 2}).ok());
  ASSERT_TRUE(broker_.produce("t", {Record{"k", "v", {}, 0, 0}}).ok());
  JoinGroupRequest join;
  join.set_group("g");
  join.add_topics("t");
  join.set_auto_offset_reset("earliest");
  GroupMembership m;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub_->JoinGroup(&c1, join, &m).ok());

  grpc::ClientContext stream_ctx;
  ConsumeRequest creq;
  creq.set_group("g");
  creq.set_member_id(m.member_id());
  creq.set_generation(m.generation());
  auto reader = stub_->Consume(&stream_ctx, creq);
  ConsumeBatch batch;
  ASSERT_TRUE(reader->Read(&batch));
  ASSERT_EQ(batch.records_size(), 1);
  EXPECT_EQ(batch.generation(), m.generation());

  FaultRequest fault;
  fault.mutable_force_rebalance()->set_group("g");
  Empty empty;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->InjectFault(&c2, fault, &empty).ok());

  // The stream tells the member about its new generation, then redelivers the
  // uncommitted record under it.
  ASSERT_TRUE(reader->Read(&batch));
  ASSERT_TRUE(batch.has_membership());
  EXPECT_EQ(batch.membership().generation(), m.generation() + 1);
  ASSERT_TRUE(reader->Read(&batch));
  ASSERT_EQ(batch.records_size(), 1);
  EXPECT_EQ(batch.generation(), m.generation() + 1);

  CommitRequest commit;
  commit.set_group("g");
  commit.set_member_id(m.member_id());
  commit.set_generation(m.generation());
  auto* o = commit.add_offsets();
  o->set_topic("t");
  o->set_partition(batch.records(0).partition());
  o->set_offset(1);
  grpc::ClientContext c3;
  grpc::Status s = stub_->Commit(&c3, commit, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message().rfind("IllegalGeneration", 0), 0u) << s.error_message();

  commit.set_generation(batch.generation());
  grpc::ClientContext c4;
  EXPECT_TRUE(stub_->Commit(&c4, commit, &empty).ok());
  stream_ctx.TryCancel();
  reader->Finish().ok();
}

TEST_F(BusGrpcTest, ClientStreamedBatchesAreSummarisedAndAdminSeesLagAndMembers) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 2}).ok());
  ProduceStreamSummary summary;
  grpc::ClientContext c1;
  auto writer = stub_->ProduceStream(&c1, &summary);
  for (int b = 0; b < 3; ++b) {
    ProduceRequest req;
    req.set_topic(b == 1 ? "missing" : "t");
    for (int i = 0; i < 4; ++i) req.add_records()->set_value("v");
    ASSERT_TRUE(writer->Write(req));
  }
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(summary.batches(), 3);
  EXPECT_EQ(summary.records(), 8);
  EXPECT_EQ(summary.failed_batches(), 1);
  EXPECT_EQ(summary.first_error().rfind("UnknownTopicOrPartition", 0), 0u) << summary.first_error();

  JoinGroupRequest join;
  join.set_group("g");
  join.set_client_id("ledger");
  join.add_topics("t");
  join.set_assignor("roundrobin");
  GroupMembership m;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->JoinGroup(&c2, join, &m).ok());
  CommitRequest commit;
  commit.set_group("g");
  commit.set_member_id(m.member_id());
  commit.set_generation(m.generation());
  auto* o = commit.add_offsets();
  o->set_topic("t");
  o->set_partition(0);
  o->set_offset(1);
  Empty empty;
  grpc::ClientContext c3;
  ASSERT_TRUE(stub_->Commit(&c3, commit, &empty).ok());

  DescribeGroupRequest dg;
  dg.set_group("g");
  LagResponse lag;
  grpc::ClientContext c4;
  ASSERT_TRUE(stub_->Lag(&c4, dg, &lag).ok());
  ASSERT_EQ(lag.partitions_size(), 2);
  // 8 records over 2 partitions; partition 0 committed at 1.
  int64_t end0 = broker_.describeTopic("t")->partitions[0].log_end;
  int64_t end1 = broker_.describeTopic("t")->partitions[1].log_end;
  EXPECT_EQ(end0 + end1, 8);
  EXPECT_EQ(lag.total(), (end0 - 1) + end1);

  GroupInfo info;
  grpc::ClientContext c5;
  ASSERT_TRUE(stub_->DescribeGroup(&c5, dg, &info).ok());
  EXPECT_EQ(info.assignor(), "roundrobin");
  EXPECT_EQ(info.state(), "Stable");
  ASSERT_EQ(info.members_size(), 1);
  EXPECT_EQ(info.members(0).client_id(), "ledger");
  EXPECT_EQ(info.members(0).assignment_size(), 2);

  DeleteTopicRequest del;
  del.set_name("t");
  grpc::ClientContext c6;
  ASSERT_TRUE(stub_->DeleteTopic(&c6, del, &empty).ok());
  DescribeTopicsRequest dt;
  dt.add_names("t");
  DescribeTopicsResponse topics;
  grpc::ClientContext c7;
  EXPECT_EQ(stub_->DescribeTopics(&c7, dt, &topics).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(BusAddress, ComesFromSandbankBusOrSaysWhatIsMissing) {
  auto missing = kit::busAddress(kit::Config(std::map<std::string, std::string>{}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("SANDBANK_BUS"), std::string::npos);
  auto set = kit::busAddress(kit::Config(std::map<std::string, std::string>{{"SANDBANK_BUS", "127.0.0.1:7400"}}));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(*set, "127.0.0.1:7400");
}

TEST_F(BusGrpcTest, KitProducerAndConsumerDeliverEverythingAndDeadLetterPoison) {
  ASSERT_TRUE(broker_.createTopic("payments", {.partitions = 3}).ok());
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> handled;  // guarded by mu
  int poison_attempts = 0;        // guarded by mu
  kit::BusConsumerOptions co;
  co.address = address_;
  co.group = "ledger";
  co.client_id = "ledger";
  co.topics = {"payments"};
  co.max_delivery_attempts = 3;
  auto consumer = kit::BusConsumer::start(co, [&](const kit::BusDelivery& d) {
    std::lock_guard lock(mu);
    if (d.message.value == "poison") {
      ++poison_attempts;
      cv.notify_all();
      return InvalidArgument("cannot parse payment");
    }
    handled.insert(d.message.value);
    cv.notify_all();
    return OkStatus();
  });
  ASSERT_TRUE(consumer.ok()) << consumer.status().toString();

  kit::BusProducerOptions po;
  po.address = address_;
  po.client_id = "payments-api";
  po.linger = 1ms;
  po.batch_records = 64;
  auto producer = kit::BusProducer::create(po);
  ASSERT_TRUE(producer.ok()) << producer.status().toString();
  std::atomic<int> acks{0};
  for (int i = 0; i < 500; ++i) {
    kit::BusMessage m;
    m.key = "acct-" + std::to_string(i % 17);
    m.value = i == 250 ? "poison" : "pay-" + std::to_string(i);
    (*producer)->send("payments", std::move(m), [&](const kit::BusAck& a) {
      if (a.status.ok() && a.offset >= 0) ++acks;
    });
  }
  ASSERT_TRUE((*producer)->flush(20s).ok());
  EXPECT_EQ(acks.load(), 500);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return handled.size() == 499 && poison_attempts == 3; }))
        << handled.size() << " handled, poison attempts " << poison_attempts;
  }
  // The poison record is in the dead-letter topic, and the group catches up to lag 0.
  auto dlq = broker_.describeTopic("payments.dlq.ledger");
  ASSERT_TRUE(dlq.ok());
  int64_t dead = 0;
  for (const auto& p : dlq->partitions) dead += p.log_end;
  EXPECT_EQ(dead, 1);
  // Commits emit flow events, so the sink wakes us to re-check the lag.
  EXPECT_TRUE(sink_.waitUntil([&] {
    auto lag = broker_.lag("ledger");
    int64_t total = 0;
    for (const auto& l : lag.valueOr({})) total += l.lag;
    return lag.ok() && total == 0;
  }));
  (*consumer)->stop();
  EXPECT_EQ((*consumer)->stats().dead_lettered, 1);
}

TEST_F(BusGrpcTest, KitProducerSurvivesLeaderOutageAndLostAckWithoutDuplicates) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 1}).ok());
  kit::BusProducerOptions po;
  po.address = address_;
  po.linger = 1ms;
  po.retry_backoff = 5ms;
  po.max_retries = 1000;
  auto producer = kit::BusProducer::create(po);
  ASSERT_TRUE(producer.ok()) << producer.status().toString();

  // Leader outage on the simulated clock: produce fails until the clock moves on.
  ASSERT_TRUE(broker_.makeLeaderUnavailable({"t", 0}, 5s).ok());
  kit::BusAck first;
  (*producer)->send("t", kit::BusMessage{std::string("k"), "one", {}, -1, 0},
                    [&](const kit::BusAck& a) { first = a; });
  ASSERT_TRUE(sink_.waitFor("NotLeaderForPartition", 2));
  clock_.advance(5s);
  ASSERT_TRUE((*producer)->flush(20s).ok());
  EXPECT_TRUE(first.status.ok()) << first.status.toString();
  EXPECT_EQ(first.offset, 0);

  // A lost ack: the producer retries, the idempotent bus answers with the first write.
  ASSERT_TRUE(broker_.loseProduceAcks("t", 1).ok());
  kit::BusAck second;
  (*producer)->send("t", kit::BusMessage{std::string("k"), "two", {}, -1, 0},
                    [&](const kit::BusAck& a) { second = a; });
  ASSERT_TRUE((*producer)->flush(20s).ok());
  EXPECT_TRUE(second.status.ok()) << second.status.toString();
  EXPECT_TRUE(second.duplicate);
  EXPECT_EQ(second.offset, 1);
  EXPECT_EQ(broker_.describeTopic("t")->partitions[0].log_end, 2);
  EXPECT_EQ((*producer)->failed(), 0);
}

}  // namespace
}  // namespace sandbank::bus
