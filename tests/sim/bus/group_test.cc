// Consumer groups on the bus engine: rebalances, ownership, generations, commits,
// at-least-once redelivery, offset reset policies, lag, pause/seek, DLQ and faults.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sandbank/bus/broker.h"

namespace sandbank::bus {
namespace {

using namespace std::chrono_literals;

class GroupTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(broker_.createTopic("payments", {.partitions = 4}).ok()); }

  void produceN(const std::string& topic, int n, int32_t partition = -1) {
    for (int i = 0; i < n; ++i) {
      Record r;
      r.key = "k" + std::to_string(i);
      r.value = "v" + std::to_string(i);
      r.partition = partition;
      ASSERT_TRUE(broker_.produce(topic, {r}).ok());
    }
  }

  Membership join(const std::string& group, OffsetReset reset = OffsetReset::kEarliest,
                  AssignorKind assignor = AssignorKind::kRange, const std::string& topic = "payments") {
    JoinOptions o;
    o.client_id = "svc";
    o.topics = {topic};
    o.offset_reset = reset;
    o.assignor = assignor;
    o.session_timeout = 10s;
    o.max_delivery_attempts = 3;
    auto m = broker_.joinGroup(group, o);
    EXPECT_TRUE(m.ok()) << m.status().toString();
    return m.ok() ? *m : Membership{};
  }

  Membership rejoin(const std::string& group, const Membership& m) {
    JoinOptions o;
    o.member_id = m.member_id;
    o.client_id = "svc";
    o.topics = {"payments"};
    auto r = broker_.joinGroup(group, o);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : Membership{};
  }

  std::vector<Delivery> pollAll(const std::string& group, const Membership& m) {
    auto r = broker_.poll(group, m.member_id, m.generation, 10000);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? r->records : std::vector<Delivery>{};
  }

  ManualClock clock_;
  flow::CollectingFlowSink sink_;
  Broker broker_{clock_, &sink_};
};

TEST_F(GroupTest, JoinAndLeaveRebalanceSoEachPartitionHasExactlyOneOwner) {
  for (auto assignor : {AssignorKind::kRange, AssignorKind::kRoundRobin}) {
    const std::string group = std::string("g-") + std::string(assignorName(assignor));
    Membership a = join(group, OffsetReset::kEarliest, assignor);
    EXPECT_EQ(a.generation, 1);
    EXPECT_EQ(a.assignment.size(), 4u);
    Membership b = join(group, OffsetReset::kEarliest, assignor);
    EXPECT_EQ(b.generation, 2);
    // a learns of the rebalance and rejoins.
    EXPECT_EQ(kafkaErrorOf(broker_.heartbeat(group, a.member_id, a.generation)),
              KafkaError::kRebalanceInProgress);
    a = rejoin(group, a);
    EXPECT_EQ(a.generation, 2);
    Membership c = join(group, OffsetReset::kEarliest, assignor);
    a = rejoin(group, a);
    b = rejoin(group, b);
    std::multiset<TopicPartition> owned;
    for (const auto* m : {&a, &b, &c}) {
      EXPECT_FALSE(m->assignment.empty());
      owned.insert(m->assignment.begin(), m->assignment.end());
    }
    EXPECT_EQ(owned.size(), 4u);
    for (const auto& tp : owned) EXPECT_EQ(owned.count(tp), 1u) << tp.toString();

    ASSERT_TRUE(broker_.leaveGroup(group, b.member_id).ok());
    a = rejoin(group, a);
    c = rejoin(group, c);
    EXPECT_EQ(a.generation, 4);
    std::set<TopicPartition> after(a.assignment.begin(), a.assignment.end());
    for (const auto& tp : c.assignment) EXPECT_TRUE(after.insert(tp).second) << tp.toString();
    EXPECT_EQ(after.size(), 4u);
  }
  int rebalances = 0;
  for (const auto& e : sink_.events()) rebalances += e.kind == flow::FlowKind::kRebalance;
  EXPECT_EQ(rebalances, 8);
}

TEST_F(GroupTest, CommitAfterRevocationFailsWithIllegalGeneration) {
  produceN("payments", 8);
  Membership a = join("g");
  auto records = pollAll("g", a);
  ASSERT_EQ(records.size(), 8u);
  Membership b = join("g");  // a's partitions are revoked by the new generation
  Status st = broker_.commit("g", a.member_id, a.generation,
                             {{{records[0].topic, records[0].partition}, records[0].offset + 1}});
  EXPECT_EQ(kafkaErrorOf(st), KafkaError::kIllegalGeneration) << st.toString();
  EXPECT_EQ(kafkaErrorOf(broker_.poll("g", a.member_id, a.generation, 10).status()),
            KafkaError::kRebalanceInProgress);
  EXPECT_EQ(*broker_.committedOffset("g", {records[0].topic, records[0].partition}), -1);
  // A member that left cannot commit at all.
  ASSERT_TRUE(broker_.leaveGroup("g", b.member_id).ok());
  EXPECT_EQ(kafkaErrorOf(broker_.commit("g", b.member_id, b.generation, {})), KafkaError::kUnknownMemberId);
}

TEST_F(GroupTest, MemberThatDiesBeforeCommittingHasItsRecordsRedelivered) {
  produceN("payments", 20);
  Membership a = join("g");
  auto first = pollAll("g", a);
  ASSERT_EQ(first.size(), 20u);
  // a commits only partition 0's records, then stops heartbeating (crash).
  int64_t p0_end = -1;
  size_t p0_count = 0;
  for (const auto& d : first) {
    if (d.partition == 0) {
      p0_end = d.offset + 1;
      ++p0_count;
    }
  }
  ASSERT_GT(p0_count, 0u);
  ASSERT_TRUE(broker_.commit("g", a.member_id, a.generation, {{{"payments", 0}, p0_end}}).ok());
  clock_.advance(5s);
  Membership b = join("g");  // b joins while a's session is still alive
  clock_.advance(8s);        // a has now been silent for 13s > 10s session timeout
  ASSERT_TRUE(broker_.heartbeat("g", b.member_id, b.generation).ok() ||
              kafkaErrorOf(broker_.heartbeat("g", b.member_id, b.generation)) ==
                  KafkaError::kRebalanceInProgress);
  b = rejoin("g", b);
  EXPECT_EQ(b.assignment.size(), 4u);
  auto redelivered = pollAll("g", b);
  EXPECT_EQ(redelivered.size(), 20u - p0_count);
  for (const auto& d : redelivered) EXPECT_NE(d.partition, 0);
  EXPECT_EQ(kafkaErrorOf(broker_.heartbeat("g", a.member_id, a.generation)), KafkaError::kUnknownMemberId);
}

TEST_F(GroupTest, FallingBehindRetentionIsHandledByEachResetPolicy) {
  ASSERT_TRUE(broker_.createTopic("events", {.partitions = 1, .retention_time = 1h}).ok());
  for (auto reset : {OffsetReset::kEarliest, OffsetReset::kLatest, OffsetReset::kNone}) {
    const std::string group = std::string("g-") + std::string(offsetResetName(reset));
    produceN("events", 3);
    Membership m = join(group, OffsetReset::kEarliest, AssignorKind::kRange, "events");
    auto got = broker_.poll(group, m.member_id, m.generation, 1);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->records.size(), 1u);
    const int64_t next = got->records[0].offset + 1;
    ASSERT_TRUE(broker_.commit(group, m.member_id, m.generation, {{{"events", 0}, next}}).ok());
    ASSERT_TRUE(broker_.leaveGroup(group, m.member_id).ok());
    // The consumer is away for two hours; its committed offset falls out of retention.
    clock_.advance(2h);
    produceN("events", 2);
    broker_.tick();
    const auto desc = *broker_.describeTopic("events");
    const int64_t log_start = desc.partitions[0].log_start;
    const int64_t log_end = desc.partitions[0].log_end;
    ASSERT_GT(log_start, next);
    Membership back = join(group, reset, AssignorKind::kRange, "events");
    auto after = broker_.poll(group, back.member_id, back.generation, 100);
    switch (reset) {
      case OffsetReset::kEarliest:
        ASSERT_TRUE(after.ok());
        ASSERT_EQ(after->records.size(), 2u);
        EXPECT_EQ(after->records[0].offset, log_start);
        EXPECT_EQ(after->reset_partitions.size(), 1u);
        break;
      case OffsetReset::kLatest:
        ASSERT_TRUE(after.ok());
        EXPECT_TRUE(after->records.empty());
        produceN("events", 1);
        after = broker_.poll(group, back.member_id, back.generation, 100);
        ASSERT_TRUE(after.ok());
        ASSERT_EQ(after->records.size(), 1u);
        EXPECT_EQ(after->records[0].offset, log_end);
        break;
      case OffsetReset::kNone:
        ASSERT_FALSE(after.ok());
        EXPECT_EQ(kafkaErrorOf(after.status()), KafkaError::kOffsetOutOfRange) << after.status().toString();
        // The application decides: seek to the log start and carry on.
        ASSERT_TRUE(broker_.seek(group, back.member_id, back.generation, {"events", 0}, log_start).ok());
        after = broker_.poll(group, back.member_id, back.generation, 100);
        ASSERT_TRUE(after.ok());
        EXPECT_EQ(after->records.size(), 2u);
        break;
    }
    ASSERT_TRUE(broker_.leaveGroup(group, back.member_id).ok());
  }
}

TEST_F(GroupTest, ResetNoneWithoutCommittedOffsetFailsWithNoOffsetForPartition) {
  Membership m = join("g", OffsetReset::kNone);
  EXPECT_EQ(kafkaErrorOf(broker_.poll("g", m.member_id, m.generation, 10).status()),
            KafkaError::kNoOffsetForPartition);
}

TEST_F(GroupTest, LagIsLogEndMinusCommittedPerPartition) {
  produceN("payments", 5, 0);
  produceN("payments", 3, 1);
  Membership m = join("g");
  auto got = broker_.poll("g", m.member_id, m.generation, 100);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(broker_.commit("g", m.member_id, m.generation, {{{"payments", 0}, 2}, {{"payments", 1}, 3}}).ok());
  auto lag = broker_.lag("g");
  ASSERT_TRUE(lag.ok());
  std::map<int32_t, PartitionLag> by_p;
  for (const auto& l : *lag) by_p[l.tp.partition] = l;
  ASSERT_EQ(by_p.size(), 4u);
  EXPECT_EQ(by_p[0].log_end, 5);
  EXPECT_EQ(by_p[0].committed, 2);
  EXPECT_EQ(by_p[0].lag, 3);
  EXPECT_EQ(by_p[1].lag, 0);
  EXPECT_EQ(by_p[2].committed, -1);
  EXPECT_EQ(by_p[2].lag, 0);
  produceN("payments", 4, 1);
  EXPECT_EQ((*broker_.lag("g"))[1].lag, 4);
}

TEST_F(GroupTest, DeletingATopicDropsItsCommittedOffsetsSoARecreatedTopicShowsRealLag) {
  produceN("payments", 5, 0);
  Membership m = join("g");
  ASSERT_TRUE(broker_.poll("g", m.member_id, m.generation, 100).ok());
  ASSERT_TRUE(broker_.commit("g", m.member_id, m.generation, {{{"payments", 0}, 5}}).ok());
  ASSERT_TRUE(broker_.deleteTopic("payments").ok());
  TopicConfig config;
  config.partitions = 4;
  ASSERT_TRUE(broker_.createTopic("payments", config).ok());
  produceN("payments", 3, 0);
  auto committed = broker_.committedOffset("g", {"payments", 0});
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(*committed, -1);  // the old topic's offset 5 would hide these 3 records
  auto lag = broker_.lag("g");
  ASSERT_TRUE(lag.ok());
  int64_t total = 0;
  for (const auto& l : *lag) total += l.lag;
  EXPECT_EQ(total, 3);
}

TEST_F(GroupTest, PausedPartitionsAreSkippedUntilResumedAndSeekRewinds) {
  produceN("payments", 4, 2);
  Membership m = join("g");
  ASSERT_TRUE(broker_.pause("g", m.member_id, m.generation, {{"payments", 2}}).ok());
  EXPECT_TRUE(pollAll("g", m).empty());
  ASSERT_TRUE(broker_.resume("g", m.member_id, m.generation, {{"payments", 2}}).ok());
  EXPECT_EQ(pollAll("g", m).size(), 4u);
  ASSERT_TRUE(broker_.seek("g", m.member_id, m.generation, {"payments", 2}, 1).ok());
  auto again = pollAll("g", m);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].offset, 1);
}

TEST_F(GroupTest, RecordThatKeepsFailingMovesToTheDeadLetterTopic) {
  produceN("payments", 2, 3);
  Membership m = join("g");
  std::vector<NackOutcome> outcomes;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto got = pollAll("g", m);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got[0].offset, 0);
    EXPECT_EQ(got[0].delivery_attempt, attempt);
    auto n = broker_.nack("g", m.member_id, m.generation, {"payments", 3}, 0, "ledger said no");
    ASSERT_TRUE(n.ok()) << n.status().toString();
    outcomes.push_back(*n);
  }
  EXPECT_FALSE(outcomes[1].dead_lettered);
  EXPECT_TRUE(outcomes[2].dead_lettered);
  EXPECT_EQ(outcomes[2].dead_letter_topic, "payments.dlq.g");
  EXPECT_EQ(*broker_.committedOffset("g", {"payments", 3}), 1);
  auto rest = pollAll("g", m);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].offset, 1);
  auto dlq = broker_.describeTopic("payments.dlq.g");
  ASSERT_TRUE(dlq.ok());
  std::vector<Delivery> dead;
  for (const auto& p : dlq->partitions) {
    auto f = broker_.fetch({"payments.dlq.g", p.partition}, p.log_start, 10);
    ASSERT_TRUE(f.ok());
    dead.insert(dead.end(), f->begin(), f->end());
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].record->value, "v0");
  ASSERT_NE(dead[0].record->header("dlq.error"), nullptr);
  EXPECT_EQ(*dead[0].record->header("dlq.error"), "ledger said no");
  EXPECT_EQ(*dead[0].record->header("dlq.original.offset"), "0");
}

TEST_F(GroupTest, GroupSubscribedToADeadLetterTopicGetsItWhenItAppears) {
  produceN("payments", 1, 0);
  Membership m = join("g");
  JoinOptions o;
  o.client_id = "dlq-reader";
  o.topics = {"payments.dlq.g"};
  o.offset_reset = OffsetReset::kEarliest;
  auto reader = broker_.joinGroup("dlq-readers", o);
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE(reader->assignment.empty());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(pollAll("g", m).size(), 1u);
    ASSERT_TRUE(broker_.nack("g", m.member_id, m.generation, {"payments", 0}, 0, "bad").ok());
  }
  auto rejoined = broker_.joinGroup("dlq-readers", {.member_id = reader->member_id, .topics = {}});
  ASSERT_TRUE(rejoined.ok());
  EXPECT_EQ(rejoined->assignment.size(), 4u);
  auto got = broker_.poll("dlq-readers", rejoined->member_id, rejoined->generation, 10);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->records.size(), 1u);
  EXPECT_EQ(got->records[0].record->value, "v0");
}

TEST_F(GroupTest, DelayedGroupSeesRecordsOnlyAfterTheDelay) {
  produceN("payments", 2, 0);
  Membership m = join("g");
  ASSERT_TRUE(broker_.delayDelivery("g", 8s).ok());
  EXPECT_TRUE(pollAll("g", m).empty());
  clock_.advance(5s);
  EXPECT_TRUE(pollAll("g", m).empty());
  clock_.advance(4s);
  EXPECT_EQ(pollAll("g", m).size(), 2u);
}

TEST_F(GroupTest, StalledGroupGetsNothingButStaysAlive) {
  produceN("payments", 2, 0);
  Membership m = join("g");
  ASSERT_TRUE(broker_.stallGroup("g", true).ok());
  EXPECT_TRUE(pollAll("g", m).empty());
  EXPECT_TRUE(broker_.heartbeat("g", m.member_id, m.generation).ok());
  ASSERT_TRUE(broker_.stallGroup("g", false).ok());
  EXPECT_EQ(pollAll("g", m).size(), 2u);
}

TEST_F(GroupTest, DuplicateDeliveryFaultDeliversTheSameRecordsTwice) {
  produceN("payments", 3, 1);
  Membership m = join("g");
  ASSERT_TRUE(broker_.duplicateDeliveries("g", 1).ok());
  auto first = pollAll("g", m);
  auto second = pollAll("g", m);
  ASSERT_EQ(first.size(), 3u);
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(first[0].offset, second[0].offset);
  EXPECT_TRUE(pollAll("g", m).empty());
}

TEST_F(GroupTest, ForcedRebalanceBumpsGenerationAndRedeliversUncommitted) {
  produceN("payments", 3, 1);
  Membership m = join("g");
  ASSERT_EQ(pollAll("g", m).size(), 3u);
  ASSERT_TRUE(broker_.forceRebalance("g").ok());
  EXPECT_EQ(kafkaErrorOf(broker_.poll("g", m.member_id, m.generation, 10).status()),
            KafkaError::kRebalanceInProgress);
  m = rejoin("g", m);
  EXPECT_EQ(m.generation, 2);
  EXPECT_EQ(pollAll("g", m).size(), 3u);
}

TEST_F(GroupTest, DeliverAndCommitEmitFlowEvents) {
  Record r;
  r.key = "k";
  r.value = "v";
  r.headers.push_back({"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"});
  ASSERT_TRUE(broker_.produce("payments", {r}).ok());
  Membership m = join("g");
  auto got = pollAll("g", m);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(broker_.commit("g", m.member_id, m.generation, {{{"payments", got[0].partition}, 1}}).ok());
  bool saw_deliver = false, saw_commit = false;
  for (const auto& e : sink_.events()) {
    if (e.kind == flow::FlowKind::kDeliver) {
      saw_deliver = true;
      EXPECT_EQ(e.trace_id, "0af7651916cd43dd8448eb211c80319c");
      EXPECT_EQ(e.consumer_group, "g");
      EXPECT_EQ(e.destination, "svc");
    }
    if (e.kind == flow::FlowKind::kCommit) {
      saw_commit = true;
      EXPECT_EQ(e.offset, 1);
      EXPECT_EQ(e.status, "OK");
    }
  }
  EXPECT_TRUE(saw_deliver);
  EXPECT_TRUE(saw_commit);
}

}  // namespace
}  // namespace sandbank::bus
