// The bus engine's logs and producer: ordering, partitioning, retention, compaction,
// idempotence, lost acks, leader outages, browsing and flow events.
#include <gtest/gtest.h>

#include "sandbank/bus/broker.h"
#include "sandbank/bus/partitioner.h"

namespace sandbank::bus {
namespace {

using namespace std::chrono_literals;

Record keyed(std::string key, std::string value) {
  Record r;
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}
Record keyless(std::string value) {
  Record r;
  r.value = std::move(value);
  return r;
}

class BrokerTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  flow::CollectingFlowSink sink_;
  Broker broker_{clock_, &sink_};
};

TEST_F(BrokerTest, RecordsKeepTheirOrderWithinAPartition) {
  ASSERT_TRUE(broker_.createTopic("payments", {.partitions = 3}).ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(broker_.produce("payments", {keyed("acct-7", std::to_string(i))}).ok());
  }
  const int32_t p = partitionForKey("acct-7", 3);
  auto got = broker_.fetch({"payments", p}, 0, 100);
  ASSERT_TRUE(got.ok()) << got.status().toString();
  ASSERT_EQ(got->size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ((*got)[i].offset, i);
    EXPECT_EQ((*got)[i].record->value, std::to_string(i));
  }
}

TEST_F(BrokerTest, KeyedRecordsLandOnKafkasPartition) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 7}).ok());
  for (const char* key : {"21", "foobar", "abc", "a-little-bit-long-string"}) {
    auto ack = broker_.produce("t", {keyed(key, "v")});
    ASSERT_TRUE(ack.ok());
    EXPECT_EQ(ack->positions[0].partition,
              static_cast<int32_t>((static_cast<uint32_t>(murmur2(key)) & 0x7fffffff) % 7))
        << key;
  }
}

TEST_F(BrokerTest, KeylessBatchesStickToOnePartitionAndRotate) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 3}).ok());
  std::set<int32_t> used;
  for (int b = 0; b < 3; ++b) {
    auto ack = broker_.produce("t", {keyless("a"), keyless("b"), keyless("c")});
    ASSERT_TRUE(ack.ok());
    EXPECT_EQ(ack->positions[0].partition, ack->positions[2].partition);
    used.insert(ack->positions[0].partition);
  }
  EXPECT_EQ(used.size(), 3u);
}

TEST_F(BrokerTest, ProduceToUnknownTopicFailsWithUnknownTopicOrPartition) {
  auto ack = broker_.produce("nope", {keyless("x")});
  ASSERT_FALSE(ack.ok());
  EXPECT_EQ(kafkaErrorOf(ack.status()), KafkaError::kUnknownTopicOrPartition);
  EXPECT_EQ(kafkaErrorOf(broker_.createTopic("bad name!", {})), KafkaError::kInvalidTopicException);
  EXPECT_EQ(kafkaErrorOf(broker_.createTopic("t", {.partitions = 0})), KafkaError::kInvalidPartitions);
  ASSERT_TRUE(broker_.createTopic("t", {}).ok());
  EXPECT_EQ(kafkaErrorOf(broker_.createTopic("t", {})), KafkaError::kTopicAlreadyExists);
}

TEST_F(BrokerTest, TimeRetentionMovesLogStartAndBrowsingBelowItIsOutOfRange) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 1, .retention_time = 1h}).ok());
  ASSERT_TRUE(broker_.produce("t", {keyless("old1"), keyless("old2")}).ok());
  clock_.advance(50min);
  ASSERT_TRUE(broker_.produce("t", {keyless("new")}).ok());
  clock_.advance(20min);
  broker_.tick();
  auto d = broker_.describeTopic("t");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->partitions[0].log_start, 2);
  EXPECT_EQ(d->partitions[0].log_end, 3);
  EXPECT_EQ(kafkaErrorOf(broker_.fetch({"t", 0}, 0, 10).status()), KafkaError::kOffsetOutOfRange);
  auto rest = broker_.fetch({"t", 0}, 2, 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].record->value, "new");
}

TEST_F(BrokerTest, SizeRetentionKeepsPartitionUnderItsByteLimit) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 1, .retention_bytes = 250}).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(broker_.produce("t", {keyless(std::string(100, 'x'))}).ok());
  auto d = broker_.describeTopic("t");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->partitions[0].log_end, 10);
  EXPECT_EQ(d->partitions[0].log_start, 8);
  EXPECT_LE(d->partitions[0].bytes, 250);
}

TEST_F(BrokerTest, CompactionKeepsTheNewestRecordPerKey) {
  ASSERT_TRUE(broker_.createTopic("balances", {.partitions = 1, .compacted = true}).ok());
  ASSERT_TRUE(broker_.produce("balances", {keyed("a", "1"), keyed("b", "1"), keyed("a", "2")}).ok());
  EXPECT_EQ(kafkaErrorOf(broker_.produce("balances", {keyless("x")}).status()), KafkaError::kInvalidRequest);
  ASSERT_TRUE(broker_.compact("balances").ok());
  auto got = broker_.fetch({"balances", 0}, 0, 10);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].offset, 1);
  EXPECT_EQ((*got)[1].offset, 2);
  EXPECT_EQ((*got)[1].record->value, "2");
}

TEST_F(BrokerTest, IdempotentProducerDropsRetriedDuplicates) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 2}).ok());
  const int64_t pid = broker_.initProducerId();
  ProduceOptions opts{"ledger", pid, 0};
  auto first = broker_.produce("t", {keyed("k1", "a"), keyed("k2", "b")}, opts);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  auto retry = broker_.produce("t", {keyed("k1", "a"), keyed("k2", "b")}, opts);
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->positions[0].offset, first->positions[0].offset);
  EXPECT_EQ(retry->positions[1].partition, first->positions[1].partition);
  // A gap in sequences is refused; the next sequence is accepted.
  EXPECT_EQ(kafkaErrorOf(broker_.produce("t", {keyed("k1", "c")}, {"ledger", pid, 5}).status()),
            KafkaError::kOutOfOrderSequenceNumber);
  ASSERT_TRUE(broker_.produce("t", {keyed("k1", "c")}, {"ledger", pid, 2}).ok());
  EXPECT_EQ(kafkaErrorOf(broker_.produce("t", {keyed("k1", "c")}, {"ledger", 99, 0}).status()),
            KafkaError::kUnknownProducerId);
  int64_t total = 0;
  const auto desc = broker_.describeTopic("t");
  ASSERT_TRUE(desc.ok());
  for (const auto& p : desc->partitions) total += p.log_end;
  EXPECT_EQ(total, 3);
}

TEST_F(BrokerTest, LostAckMakesProducerRetryAndIdempotenceKeepsOneCopy) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 1}).ok());
  ASSERT_TRUE(broker_.loseProduceAcks("t", 1).ok());
  const int64_t pid = broker_.initProducerId();
  auto lost = broker_.produce("t", {keyless("pay")}, {"p", pid, 0});
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(kafkaErrorOf(lost.status()), KafkaError::kRequestTimedOut);
  auto retry = broker_.produce("t", {keyless("pay")}, {"p", pid, 0});
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(broker_.describeTopic("t")->partitions[0].log_end, 1);
}

TEST_F(BrokerTest, LeaderOutageFailsProduceRetriablyUntilItRecovers) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 2}).ok());
  const int32_t p = partitionForKey("acct", 2);
  ASSERT_TRUE(broker_.makeLeaderUnavailable({"t", p}, 5s).ok());
  const int64_t pid = broker_.initProducerId();
  // A producer retry loop with backoff on the simulated clock.
  int attempts = 0;
  Result<ProduceAck> ack = Internal("not tried");
  for (; attempts < 20; ++attempts) {
    ack = broker_.produce("t", {keyed("acct", "x")}, {"p", pid, 0});
    if (ack.ok()) break;
    ASSERT_EQ(kafkaErrorOf(ack.status()), KafkaError::kNotLeaderForPartition);
    ASSERT_TRUE(isRetriable(kafkaErrorOf(ack.status())));
    clock_.advance(1s);
  }
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(attempts, 5);
  EXPECT_EQ(ack->positions[0].partition, p);
  EXPECT_EQ(broker_.describeTopic("t")->partitions[p].log_end, 1);
  // Keyless records avoid the partition whose leader is down.
  ASSERT_TRUE(broker_.makeLeaderUnavailable({"t", 0}, 5s).ok());
  for (int i = 0; i < 4; ++i) {
    auto k = broker_.produce("t", {keyless("y")});
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(k->positions[0].partition, 1);
  }
}

TEST_F(BrokerTest, PublishEventsCarryTheTraceIdFromTraceparent) {
  ASSERT_TRUE(broker_.createTopic("t", {.partitions = 1}).ok());
  Record r = keyed("k", "hello");
  r.headers.push_back({"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"});
  ASSERT_TRUE(broker_.produce("t", {r}, {.client_id = "ledger"}).ok());
  auto events = sink_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, flow::FlowKind::kPublish);
  EXPECT_EQ(events[0].trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(events[0].parent_span_id, "00f067aa0ba902b7");
  EXPECT_EQ(events[0].source, "ledger");
  EXPECT_EQ(events[0].topic, "t");
  EXPECT_EQ(events[0].offset, 0);
  EXPECT_EQ(events[0].payload, "hello");
}

}  // namespace
}  // namespace sandbank::bus
