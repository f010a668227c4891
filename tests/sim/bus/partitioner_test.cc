// Kafka's murmur2 partitioner and the assignors, checked against Kafka's own vectors.
#include <gtest/gtest.h>

#include <set>

#include "sandbank/bus/assignor.h"
#include "sandbank/bus/kafka_error.h"
#include "sandbank/bus/partitioner.h"

namespace sandbank::bus {
namespace {

TEST(Murmur2, MatchesKafkaJavaClientVectors) {
  EXPECT_EQ(murmur2("21"), -973932308);
  EXPECT_EQ(murmur2("foobar"), -790332482);
  EXPECT_EQ(murmur2("abc"), 479470107);
  EXPECT_EQ(murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(murmur2("a-little-bit-longer-string"), -1486304829);
}

TEST(Murmur2, PartitionIsPositiveHashModuloPartitions) {
  // (-790332482 & 0x7fffffff) = 1357151166; % 3 = 0, % 7 = 3.
  EXPECT_EQ(partitionForKey("foobar", 3), 1357151166 % 3);
  EXPECT_EQ(partitionForKey("foobar", 7), 1357151166 % 7);
  EXPECT_EQ(partitionForKey("abc", 10), 479470107 % 10);
  EXPECT_EQ(partitionForKey("21", 1), 0);
}

TEST(KafkaErrors, StatusCarriesTheKafkaNameAndRoundTrips) {
  Status s = kafkaStatus(KafkaError::kOffsetOutOfRange, "orders-0 offset 3");
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "OffsetOutOfRange: orders-0 offset 3");
  EXPECT_EQ(kafkaErrorOf(s), KafkaError::kOffsetOutOfRange);
  EXPECT_EQ(kafkaErrorOf(kafkaStatus(KafkaError::kNotLeaderForPartition, "x")),
            KafkaError::kNotLeaderForPartition);
  EXPECT_TRUE(isRetriable(KafkaError::kNotLeaderForPartition));
  EXPECT_FALSE(isRetriable(KafkaError::kIllegalGeneration));
  EXPECT_EQ(kafkaErrorOf(Internal("OffsetOutOfRangeish")), KafkaError::kNone);
}

TEST(Assignor, RangeGivesLeadingMembersTheExtraPartitions) {
  auto a = assignPartitions(AssignorKind::kRange, {{"b", {"t"}}, {"a", {"t"}}}, {{"t", 5}});
  EXPECT_EQ(a["a"], (std::vector<TopicPartition>{{"t", 0}, {"t", 1}, {"t", 2}}));
  EXPECT_EQ(a["b"], (std::vector<TopicPartition>{{"t", 3}, {"t", 4}}));
}

TEST(Assignor, RoundRobinDealsPartitionsAcrossTopics) {
  auto a = assignPartitions(AssignorKind::kRoundRobin, {{"a", {"t", "u"}}, {"b", {"t", "u"}}},
                            {{"t", 2}, {"u", 1}});
  EXPECT_EQ(a["a"], (std::vector<TopicPartition>{{"t", 0}, {"u", 0}}));
  EXPECT_EQ(a["b"], (std::vector<TopicPartition>{{"t", 1}}));
}

TEST(Assignor, EveryPartitionHasExactlyOneSubscribedOwner) {
  for (auto kind : {AssignorKind::kRange, AssignorKind::kRoundRobin}) {
    auto a = assignPartitions(kind, {{"m1", {"t"}}, {"m2", {"t", "u"}}, {"m3", {"u"}}},
                              {{"t", 4}, {"u", 3}});
    std::multiset<TopicPartition> owned;
    for (const auto& [m, tps] : a) {
      for (const auto& tp : tps) {
        owned.insert(tp);
        EXPECT_FALSE(m == "m1" && tp.topic == "u") << "m1 is not subscribed to u";
        EXPECT_FALSE(m == "m3" && tp.topic == "t") << "m3 is not subscribed to t";
      }
    }
    EXPECT_EQ(owned.size(), 7u);
    for (const auto& tp : owned) EXPECT_EQ(owned.count(tp), 1u) << tp.toString();
  }
}

}  // namespace
}  // namespace sandbank::bus
