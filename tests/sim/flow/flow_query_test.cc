// One typed suite run against both FlowQuery implementations (the hub's ring and a
// recording file), plus a direct check that both answer a battery of filters alike.
#include <gtest/gtest.h>

#include "flow_test_util.h"
#include "sandbank/core/clock.h"
#include "sandbank/flow/flow_hub.h"
#include "sandbank/flow/flow_query.h"
#include "sandbank/flow/recorder.h"

namespace sandbank::flow {
namespace {

using testing::kT0;
using testing::makeEvent;

constexpr const char* kTransferTrace = "11111111111111111111111111111111";
constexpr const char* kFailedTrace = "22222222222222222222222222222222";

// The bank in this suite: the payment trace, then a p2p transfer, then a failed call,
// then a process event that belongs to no trace.
void emitBank(FlowHub& hub) {
  for (auto& e : testing::paymentTrace()) hub.emit(std::move(e));
  FlowEvent transfer =
      makeEvent(FlowKind::kRpc, "edge", "p2p", kTransferTrace, kT0 + 20'000, kT0 + 25'000);
  transfer.method = "sandbank.p2p.P2P/CreateTransfer";
  hub.emit(transfer);
  FlowEvent publish =
      makeEvent(FlowKind::kPublish, "p2p", "bus", kTransferTrace, kT0 + 24'000, kT0 + 24'000);
  publish.topic = "transfer.events";
  hub.emit(publish);
  FlowEvent failed =
      makeEvent(FlowKind::kRpc, "card-processor", "fraud", kFailedTrace, kT0 + 30'000, kT0 + 31'000);
  failed.method = "sandbank.fraud.Fraud/ScoreAuthorisation";
  failed.status = "DEADLINE_EXCEEDED";
  hub.emit(failed);
  FlowEvent proc = makeEvent(FlowKind::kProcess, "supervisor", "ledger", "", kT0 + 40'000,
                             kT0 + 40'000);
  proc.detail = "ledger-0 restarted";
  hub.emit(proc);
}

constexpr uint64_t kBankEvents = 13;

// Owns a hub with the bank's events and exposes a FlowQuery over them.
class LiveSource {
 public:
  LiveSource() : hub_(clock_, clock_) {
    emitBank(hub_);
    query_ = std::make_unique<LiveFlowQuery>(hub_);
  }
  FlowQuery& query() { return *query_; }

 private:
  ManualClock clock_;
  FlowHub hub_;
  std::unique_ptr<FlowQuery> query_;
};

class RecordingSource {
 public:
  RecordingSource() : hub_(clock_, clock_) {
    auto rec = Recorder::create(dir_.file("run.sqlite"), RunInfo{});
    EXPECT_TRUE(rec.ok()) << rec.status().toString();
    hub_.attachRecorder(*rec);
    emitBank(hub_);
    EXPECT_TRUE((*rec)->close().ok());
    auto q = RecordingFlowQuery::open(dir_.file("run.sqlite"));
    EXPECT_TRUE(q.ok()) << q.status().toString();
    query_ = std::move(*q);
  }
  FlowQuery& query() { return *query_; }

 private:
  testing::TempDir dir_;
  ManualClock clock_;
  FlowHub hub_;
  std::unique_ptr<FlowQuery> query_;
};

template <class Source>
class FlowQueryTest : public ::testing::Test {
 protected:
  FlowQuery& q() { return source_.query(); }
  std::vector<uint64_t> ids(const FlowFilter& f, size_t limit = 0) {
    auto r = q().events(f, limit);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    std::vector<uint64_t> out;
    if (r.ok())
      for (auto& e : *r) out.push_back(e.id);
    return out;
  }
  Source source_;
};

using Sources = ::testing::Types<LiveSource, RecordingSource>;
TYPED_TEST_SUITE(FlowQueryTest, Sources);

TYPED_TEST(FlowQueryTest, EmptyFilterReturnsEveryEventInIdOrder) {
  auto all = this->ids({});
  ASSERT_EQ(all.size(), kBankEvents);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 1);
}

TYPED_TEST(FlowQueryTest, ByTraceReturnsThatTraceWithPayloads) {
  auto events = this->q().trace(testing::kPaymentTrace);
  ASSERT_TRUE(events.ok());
  auto want = testing::paymentTrace();
  for (size_t i = 0; i < want.size(); ++i) want[i].id = i + 1;
  testing::expectSameEvents(want, *events);
}

TYPED_TEST(FlowQueryTest, UnknownTraceIsNotFound) {
  auto events = this->q().trace("ffffffffffffffffffffffffffffffff");
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), StatusCode::kNotFound);
}

TYPED_TEST(FlowQueryTest, ByServiceMatchesEitherEndAndInstances) {
  FlowFilter f;
  f.service = "fraud";
  EXPECT_EQ(this->ids(f), (std::vector<uint64_t>{8, 12}));
  f.service = "store";
  EXPECT_EQ(this->ids(f), (std::vector<uint64_t>{1, 2, 3, 6}));
  f.service = "store/node-3";
  EXPECT_EQ(this->ids(f), (std::vector<uint64_t>{2, 6}));
  f.service = "stor";
  EXPECT_TRUE(this->ids(f).empty());
}

TYPED_TEST(FlowQueryTest, ByKind) {
  FlowFilter f;
  f.addKind(FlowKind::kPublish).addKind(FlowKind::kDeliver);
  EXPECT_EQ(this->ids(f), (std::vector<uint64_t>{5, 7, 8, 11}));
}

TYPED_TEST(FlowQueryTest, ByTextAndGlob) {
  FlowFilter text;
  text.text = "QUORUM";
  EXPECT_EQ(this->ids(text), (std::vector<uint64_t>{3}));
  FlowFilter glob;
  glob.what_glob = "*.P2P/*";
  EXPECT_EQ(this->ids(glob), (std::vector<uint64_t>{10}));
  glob.what_glob = "entries";
  EXPECT_EQ(this->ids(glob), (std::vector<uint64_t>{1, 2, 3, 6}));
}

TYPED_TEST(FlowQueryTest, ByStatusAndErrors) {
  FlowFilter f;
  f.status = "DEADLINE_EXCEEDED";
  EXPECT_EQ(this->ids(f), (std::vector<uint64_t>{12}));
  FlowFilter errors;
  errors.errors_only = true;
  EXPECT_EQ(this->ids(errors), (std::vector<uint64_t>{2, 6, 12}));
}

TYPED_TEST(FlowQueryTest, ByTimeRangeOnSimulatedStart) {
  FlowFilter f;
  f.from_sim_us = kT0 + 5'000;
  f.to_sim_us = kT0 + 24'000;
  EXPECT_EQ(this->ids(f), (std::vector<uint64_t>{5, 7, 8, 10}));
}

TYPED_TEST(FlowQueryTest, CombinedFiltersAndLimitKeepTheNewest) {
  FlowFilter f;
  f.service = "card-processor";
  f.addKind(FlowKind::kRpc);
  EXPECT_EQ(this->ids(f), (std::vector<uint64_t>{4, 9, 12}));
  EXPECT_EQ(this->ids(f, 2), (std::vector<uint64_t>{9, 12}));
}

TYPED_TEST(FlowQueryTest, ListsTracesOldestFirstWithSummaries) {
  auto traces = this->q().traces();
  ASSERT_TRUE(traces.ok()) << traces.status().toString();
  ASSERT_EQ(traces->size(), 3u);
  const TraceSummary& pay = (*traces)[0];
  EXPECT_EQ(pay.trace_id, testing::kPaymentTrace);
  EXPECT_EQ(pay.first_event_id, 1u);
  EXPECT_EQ(pay.last_event_id, 9u);
  EXPECT_EQ(pay.events, 9u);
  EXPECT_EQ(pay.errors, 2u);  // the fault and the WriteTimeout
  EXPECT_EQ(pay.start_sim_us, kT0);
  EXPECT_EQ(pay.end_sim_us, kT0 + 9000);
  EXPECT_EQ(pay.root_source, "store/node-1");  // first event emitted
  EXPECT_EQ((*traces)[1].trace_id, kTransferTrace);
  EXPECT_EQ((*traces)[2].trace_id, kFailedTrace);
  EXPECT_EQ((*traces)[2].errors, 1u);
  EXPECT_EQ((*traces)[2].root_method, "sandbank.fraud.Fraud/ScoreAuthorisation");

  auto newest = this->q().traces(1);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].trace_id, kFailedTrace);
}

// The same questions asked of both implementations give identical answers, event by
// event and field by field.
TEST(FlowQueryEquivalence, LiveAndRecordedAnswersAreIdentical) {
  LiveSource live;
  RecordingSource recorded;
  std::vector<FlowFilter> filters(10);
  filters[1].trace_id = kTransferTrace;
  filters[2].service = "bus";
  filters[3].addKind(FlowKind::kReplicaWrite);
  filters[4].text = "acc-42";
  filters[5].what_glob = "card.*";
  filters[6].from_sim_us = kT0 + 1200;
  filters[7].to_sim_us = kT0 + 1300;
  filters[8].errors_only = true;
  filters[8].service = "store";
  filters[9].status = "OK";
  filters[9].text = "edge";
  for (size_t i = 0; i < filters.size(); ++i) {
    for (size_t limit : {size_t{0}, size_t{2}}) {
      auto a = live.query().events(filters[i], limit);
      auto b = recorded.query().events(filters[i], limit);
      ASSERT_TRUE(a.ok() && b.ok());
      SCOPED_TRACE("filter #" + std::to_string(i) + " limit " + std::to_string(limit));
      testing::expectSameEvents(*a, *b);
    }
  }
  auto ta = live.query().traces();
  auto tb = recorded.query().traces();
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_EQ(*ta, *tb);
}

}  // namespace
}  // namespace sandbank::flow
