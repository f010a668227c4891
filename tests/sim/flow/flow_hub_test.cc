// Tests for FlowHub: ids and time stamping, the ring, filtered subscribers, slow-subscriber
// isolation, and handing events to an attached recorder.
#include <gtest/gtest.h>

#include <thread>

#include "flow_test_util.h"
#include "sandbank/core/clock.h"
#include "sandbank/flow/flow_hub.h"
#include "sandbank/flow/flow_query.h"
#include "sandbank/flow/recorder.h"

namespace sandbank::flow {
namespace {

using namespace std::chrono_literals;
using testing::makeEvent;

class FlowHubTest : public ::testing::Test {
 protected:
  ManualClock sim_{fromMicros(5'000'000)};
  ManualClock real_{fromMicros(9'000'000)};
};

FlowEvent rpcFrom(const std::string& source, int64_t t) {
  FlowEvent e = makeEvent(FlowKind::kRpc, source, "ledger", "trace-" + source, t, t);
  e.method = "sandbank.ledger.Ledger/GetBalance";
  return e;
}

TEST_F(FlowHubTest, AssignsIncreasingIdsAndStampsMissingTimesFromItsClocks) {
  FlowHub hub(sim_, real_);
  hub.emit(FlowEvent{});
  sim_.advance(250us);
  hub.emit(FlowEvent{});
  FlowEvent explicit_times = makeEvent(FlowKind::kLog, "a", "", "", 42, 43);
  hub.emit(explicit_times);

  auto events = hub.recent();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]->id, 1u);
  EXPECT_EQ(events[1]->id, 2u);
  EXPECT_EQ(events[2]->id, 3u);
  EXPECT_EQ(events[0]->start_sim_us, 5'000'000);
  EXPECT_EQ(events[0]->end_sim_us, 5'000'000);
  EXPECT_EQ(events[0]->start_real_us, 9'000'000);
  EXPECT_EQ(events[1]->start_sim_us, 5'000'250);
  EXPECT_EQ(events[2]->start_sim_us, 42);
  EXPECT_EQ(events[2]->end_sim_us, 43);
  EXPECT_EQ(events[2]->start_real_us, 43);
}

TEST_F(FlowHubTest, RingKeepsOnlyTheNewestEvents) {
  FlowHub hub(sim_, real_, FlowHubOptions{.ring_capacity = 3});
  for (int i = 0; i < 5; ++i) hub.emit(rpcFrom("s" + std::to_string(i), i + 1));
  auto events = hub.recent();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]->id, 3u);
  EXPECT_EQ(events[2]->id, 5u);
  EXPECT_EQ(hub.stats().emitted, 5u);
  EXPECT_EQ(hub.stats().ring_size, 3u);
}

TEST_F(FlowHubTest, RecentWithLimitKeepsTheNewestMatchesInIdOrder) {
  FlowHub hub(sim_, real_);
  for (int i = 0; i < 10; ++i) hub.emit(rpcFrom(i % 2 ? "odd" : "even", i + 1));
  FlowFilter f;
  f.service = "odd";
  auto events = hub.recent(f, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]->id, 8u);
  EXPECT_EQ(events[1]->id, 10u);
}

TEST_F(FlowHubTest, SubscriberReceivesOnlyMatchingEventsInOrder) {
  FlowHub hub(sim_, real_);
  FlowFilter f;
  f.service = "card";
  f.addKind(FlowKind::kRpc);
  auto sub = hub.subscribe("gui", f);
  hub.emit(rpcFrom("card", 1));
  hub.emit(rpcFrom("p2p", 2));
  FlowEvent publish = makeEvent(FlowKind::kPublish, "card", "bus", "", 3, 3);
  hub.emit(publish);
  hub.emit(rpcFrom("card", 4));

  FlowBatch batch = sub->poll();
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0]->id, 1u);
  EXPECT_EQ(batch.events[1]->id, 4u);
  EXPECT_EQ(batch.lost, 0u);
  EXPECT_TRUE(sub->poll().events.empty());
}

TEST_F(FlowHubTest, SlowSubscriberLosesEventsWhileAFastOneGetsThemAll) {
  FlowHub hub(sim_, real_);
  auto slow = hub.subscribe("slow", {}, /*capacity=*/10);  // never polled during the run
  auto fast = hub.subscribe("fast", {}, /*capacity=*/64);
  std::vector<uint64_t> fast_ids;
  // If emit() waited for a full queue this loop would never finish: "slow" is full
  // after ten events and nobody drains it.
  for (int i = 0; i < 1000; ++i) {
    hub.emit(rpcFrom("card", i + 1));
    if (i % 32 == 31) {
      for (auto& e : fast->poll().events) fast_ids.push_back(e->id);
    }
  }
  for (auto& e : fast->poll().events) fast_ids.push_back(e->id);

  ASSERT_EQ(fast_ids.size(), 1000u);
  for (size_t i = 0; i < fast_ids.size(); ++i) ASSERT_EQ(fast_ids[i], i + 1);
  EXPECT_EQ(fast->stats().dropped, 0u);

  SubscriberStats s = slow->stats();
  EXPECT_EQ(s.delivered, 10u);
  EXPECT_EQ(s.dropped, 990u);
  EXPECT_EQ(s.queued, 10u);
  FlowHubStats hs = hub.stats();
  EXPECT_EQ(hs.subscriber_dropped, 990u);
  ASSERT_EQ(hs.subscribers.size(), 2u);
  EXPECT_EQ(hs.subscribers[0].name, "slow");
  EXPECT_EQ(hs.subscribers[0].dropped, 990u);

  // The slow subscriber finally reads: the oldest ten, and how many it lost.
  FlowBatch late = slow->poll();
  ASSERT_EQ(late.events.size(), 10u);
  EXPECT_EQ(late.events.front()->id, 1u);
  EXPECT_EQ(late.lost, 990u);
  EXPECT_EQ(slow->poll().lost, 0u);
}

TEST_F(FlowHubTest, ConcurrentEmittersAccountForEveryEventPerSubscriber) {
  FlowHub hub(sim_, real_, FlowHubOptions{.ring_capacity = 1000});
  auto slow = hub.subscribe("slow", {}, 100);
  auto all = hub.subscribe("all", {}, 40'000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) hub.emit(rpcFrom("s" + std::to_string(t), i + 1));
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(hub.stats().emitted, 20'000u);
  EXPECT_EQ(all->stats().delivered, 20'000u);
  EXPECT_EQ(slow->stats().delivered + slow->stats().dropped, 20'000u);
  EXPECT_EQ(slow->stats().delivered, 100u);
  // Ids are unique and dense.
  std::vector<bool> seen(20'001, false);
  for (auto& e : all->poll().events) {
    ASSERT_FALSE(seen[e->id]);
    seen[e->id] = true;
  }
  EXPECT_EQ(std::count(seen.begin() + 1, seen.end(), true), 20'000);
}

TEST_F(FlowHubTest, ClosedSubscriptionStopsReceivingAndKeepsItsDropsInTheTotal) {
  FlowHub hub(sim_, real_);
  auto sub = hub.subscribe("short-lived", {}, 1);
  hub.emit(rpcFrom("a", 1));
  hub.emit(rpcFrom("a", 2));  // dropped
  sub->close();
  hub.emit(rpcFrom("a", 3));
  EXPECT_EQ(sub->stats().delivered, 1u);
  EXPECT_EQ(sub->stats().dropped, 1u);
  FlowHubStats s = hub.stats();
  EXPECT_TRUE(s.subscribers.empty());
  EXPECT_EQ(s.subscriber_dropped, 1u);
  sub.reset();  // destroying a closed subscription is fine
  EXPECT_EQ(hub.stats().subscriber_dropped, 1u);
}

TEST_F(FlowHubTest, PollWaitWakesWhenAnotherThreadEmits) {
  FlowHub hub(sim_, real_);
  auto sub = hub.subscribe("waiter");
  std::thread emitter([&] { hub.emit(rpcFrom("card", 1)); });
  // Generous timeout: the test only fails if the wake-up never comes.
  FlowBatch batch;
  while (batch.events.empty()) batch = sub->pollWait(10, 30s);
  emitter.join();
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(batch.events[0]->source, "card");
}

TEST_F(FlowHubTest, PollWaitReturnsEmptyWhenClosed) {
  FlowHub hub(sim_, real_);
  auto sub = hub.subscribe("waiter");
  FlowSubscription* raw = sub.get();
  std::thread closer([raw] { raw->close(); });
  // Whether close() lands before or during the wait, the poll returns with nothing.
  FlowBatch batch = sub->pollWait(10, 30s);
  closer.join();
  EXPECT_TRUE(batch.events.empty());
}

TEST_F(FlowHubTest, AttachedRecorderGetsEveryEventWithHubIds) {
  testing::TempDir dir;
  auto rec = Recorder::create(dir.file("run.sqlite"), RunInfo{});
  ASSERT_TRUE(rec.ok()) << rec.status().toString();
  FlowHub hub(sim_, real_);
  hub.emit(rpcFrom("before", 1));  // not recorded: emitted before attach
  hub.attachRecorder(*rec);
  for (int i = 0; i < 50; ++i) hub.emit(rpcFrom("card", i + 2));
  hub.attachRecorder(nullptr);
  hub.emit(rpcFrom("after", 99));
  ASSERT_TRUE((*rec)->close().ok());
  EXPECT_EQ((*rec)->stats().written, 50u);
  EXPECT_EQ((*rec)->stats().dropped, 0u);

  auto q = RecordingFlowQuery::open(dir.file("run.sqlite"));
  ASSERT_TRUE(q.ok()) << q.status().toString();
  auto events = (*q)->events({});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 50u);
  EXPECT_EQ(events->front().id, 2u);
  EXPECT_EQ(events->back().id, 51u);
}

TEST_F(FlowHubTest, RecorderThatCannotKeepUpDropsAndCountsInsteadOfBlocking) {
  testing::TempDir dir;
  RecorderOptions tiny;
  tiny.queue_capacity = 4;  // far less than the burst below
  auto rec = Recorder::create(dir.file("run.sqlite"), RunInfo{}, tiny);
  ASSERT_TRUE(rec.ok());
  FlowHub hub(sim_, real_);
  hub.attachRecorder(*rec);
  for (int i = 0; i < 5000; ++i) hub.emit(rpcFrom("card", i + 1));
  const uint64_t reported_by_hub = hub.stats().recorder_dropped;
  hub.attachRecorder(nullptr);
  ASSERT_TRUE((*rec)->close().ok());
  RecorderStats s = (*rec)->stats();
  EXPECT_EQ(s.written + s.dropped, 5000u);
  EXPECT_GT(s.dropped, 0u);
  EXPECT_LE(reported_by_hub, s.dropped);
  auto q = RecordingFlowQuery::open(dir.file("run.sqlite"));
  ASSERT_TRUE(q.ok());
  auto run = (*q)->runInfo();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->events_recorded, s.written);
  EXPECT_EQ(run->events_dropped, s.dropped);
}

}  // namespace
}  // namespace sandbank::flow
