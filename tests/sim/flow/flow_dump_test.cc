// Tests for the sequence model and its renderings: the text diagram of a multi-hop trace
// against a golden file, Mermaid, JSON lines, and dumpFlow() over live and recorded runs.
// Set SANDBANK_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "flow_test_util.h"
#include "sandbank/core/clock.h"
#include "sandbank/flow/flow_dump.h"
#include "sandbank/flow/flow_hub.h"
#include "sandbank/flow/recorder.h"

namespace sandbank::flow {
namespace {

std::string goldenPath(const std::string& name) {
  return std::string(SANDBANK_SOURCE_DIR) + "/tests/sim/flow/golden/" + name;
}

void expectMatchesGolden(const std::string& name, const std::string& actual) {
  const std::string path = goldenPath(name);
  if (const char* update = std::getenv("SANDBANK_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << actual;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path
                  << " (run with SANDBANK_UPDATE_GOLDEN=1 to create it)";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(want.str(), actual) << "diagram differs from " << path;
}

std::vector<FlowEvent> numberedPaymentTrace() {
  auto events = testing::paymentTrace();
  for (size_t i = 0; i < events.size(); ++i) events[i].id = i + 1;
  return events;
}

TEST(SequenceModel, NestsCallsAndRepliesByTimeAndSpan) {
  SequenceModel m = buildSequence(numberedPaymentTrace());
  ASSERT_EQ(m.participants,
            (std::vector<std::string>{"edge", "card-processor", "ledger", "store/node-1",
                                      "store/node-2", "store/node-3", "bus", "transaction",
                                      "fraud"}));
  // Two rows per rpc and store request, one per other event.
  ASSERT_EQ(m.rows.size(), 12u);
  EXPECT_EQ(m.rows.front().event_id, 9u);  // edge -> card-processor at +0
  EXPECT_EQ(m.rows.front().style, SequenceRow::Style::kCall);
  EXPECT_EQ(m.rows.back().event_id, 9u);  // its reply at +9ms closes the diagram
  EXPECT_EQ(m.rows.back().style, SequenceRow::Style::kReturn);
  int faults = 0;
  for (const auto& r : m.rows) faults += r.fault ? 1 : 0;
  EXPECT_EQ(faults, 1);
}

TEST(SequenceModel, AtEqualTimesRepliesComeFirstAndOuterCallsLead) {
  using testing::makeEvent;
  // outer and inner start together; inner returns exactly when "next" starts.
  FlowEvent outer = makeEvent(FlowKind::kRpc, "a", "b", "t", 0, 10);
  outer.id = 2;  // emitted after inner, as a mesh does on completion
  outer.span_id = "s-outer";
  FlowEvent inner = makeEvent(FlowKind::kRpc, "b", "c", "t", 0, 5);
  inner.id = 1;
  inner.span_id = "s-inner";
  inner.parent_span_id = "s-outer";
  FlowEvent next = makeEvent(FlowKind::kPublish, "b", "bus", "t", 5, 5);
  next.id = 3;
  next.parent_span_id = "s-outer";
  SequenceModel m = buildSequence({outer, inner, next});
  ASSERT_EQ(m.rows.size(), 5u);
  EXPECT_EQ(m.rows[0].event_id, 2u);  // outer call
  EXPECT_EQ(m.rows[1].event_id, 1u);  // inner call
  EXPECT_EQ(m.rows[2].event_id, 1u);  // inner reply before...
  EXPECT_EQ(m.rows[2].style, SequenceRow::Style::kReturn);
  EXPECT_EQ(m.rows[3].event_id, 3u);  // ...the publish at the same time
  EXPECT_EQ(m.rows[4].event_id, 2u);
}

TEST(TextDiagram, MultiHopPaymentTraceMatchesGolden) {
  expectMatchesGolden("payment_trace.txt", renderTextDiagram(numberedPaymentTrace()));
}

TEST(TextDiagram, DoesNotDependOnInputOrder) {
  auto events = numberedPaymentTrace();
  std::reverse(events.begin(), events.end());
  EXPECT_EQ(renderTextDiagram(events), renderTextDiagram(numberedPaymentTrace()));
}

TEST(MermaidDiagram, MultiHopPaymentTraceMatchesGolden) {
  std::string m = renderMermaid(numberedPaymentTrace());
  EXPECT_EQ(m.rfind("sequenceDiagram\n", 0), 0u);
  expectMatchesGolden("payment_trace.mmd", m);
}

TEST(JsonLines, OneParsableObjectPerEventWithBase64Payload) {
  auto events = numberedPaymentTrace();
  std::string out = renderJsonLines(events);
  std::istringstream lines(out);
  std::string line;
  size_t n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    const FlowEvent& e = events[n];
    EXPECT_EQ(j["id"], e.id);
    EXPECT_EQ(j["kind"], std::string(flowKindName(e.kind)));
    EXPECT_EQ(j["source"], e.source);
    EXPECT_EQ(j["status"], e.status);
    if (e.id == 4) {
      EXPECT_EQ(j["payload_base64"], "CgNhY2MA/w==");
    }
    if (e.id == 9) {
      EXPECT_EQ(j["payload_base64"], "eyJhbW91bnQiOjEyNTB9");
    }
    if (e.payload.empty()) {
      EXPECT_FALSE(j.contains("payload_base64"));
    }
    ++n;
  }
  EXPECT_EQ(n, events.size());
}

TEST(DumpFormat, ParsesKnownNamesAndExplainsOthers) {
  EXPECT_EQ(*parseDumpFormat("mermaid"), DumpFormat::kMermaid);
  EXPECT_EQ(*parseDumpFormat("json"), DumpFormat::kJson);
  EXPECT_EQ(*parseDumpFormat("text"), DumpFormat::kText);
  auto bad = parseDumpFormat("svg");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("text, json or mermaid"), std::string::npos);
}

class DumpFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto& e : testing::paymentTrace()) hub_.emit(std::move(e));
    FlowEvent later = testing::makeEvent(FlowKind::kRpc, "edge", "account", "later-trace",
                                         testing::kT0 + 50'000, testing::kT0 + 51'000);
    later.method = "sandbank.account.Account/Get";
    hub_.emit(later);
  }
  ManualClock clock_;
  FlowHub hub_{clock_, clock_};
};

TEST_F(DumpFlowTest, NamedTraceAsTextEqualsTheGoldenDiagram) {
  LiveFlowQuery q(hub_);
  auto out = dumpFlow(q, {.trace_id = testing::kPaymentTrace});
  ASSERT_TRUE(out.ok()) << out.status().toString();
  expectMatchesGolden("payment_trace.txt", *out);
}

TEST_F(DumpFlowTest, WithoutATraceDumpsTheMostRecentlyStartedOne) {
  LiveFlowQuery q(hub_);
  auto out = dumpFlow(q, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->rfind("trace later-trace: 1 events", 0), 0u) << *out;
}

TEST_F(DumpFlowTest, AllTracesDumpsEachOldestFirst) {
  LiveFlowQuery q(hub_);
  DumpOptions all;
  all.all_traces = true;
  all.format = DumpFormat::kJson;
  auto out = dumpFlow(q, all);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(std::count(out->begin(), out->end(), '\n'), 10);
  EXPECT_LT(out->find(testing::kPaymentTrace), out->find("later-trace"));
}

TEST_F(DumpFlowTest, UnknownTraceAndEmptyFlowAreNotFound) {
  LiveFlowQuery q(hub_);
  auto missing = dumpFlow(q, {.trace_id = "nope"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  ManualClock clock;
  FlowHub empty(clock, clock);
  LiveFlowQuery eq(empty);
  auto none = dumpFlow(eq, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
}

TEST_F(DumpFlowTest, RecordingDumpsTheSameAsTheLiveRun) {
  testing::TempDir dir;
  ManualClock clock;
  FlowHub hub(clock, clock);
  auto rec = Recorder::create(dir.file("run.sqlite"), RunInfo{});
  ASSERT_TRUE(rec.ok());
  hub.attachRecorder(*rec);
  for (auto& e : testing::paymentTrace()) hub.emit(std::move(e));
  ASSERT_TRUE((*rec)->close().ok());
  auto q = RecordingFlowQuery::open(dir.file("run.sqlite"));
  ASSERT_TRUE(q.ok());
  LiveFlowQuery live(hub);
  for (DumpFormat f : {DumpFormat::kText, DumpFormat::kMermaid, DumpFormat::kJson}) {
    DumpOptions o;
    o.format = f;
    auto a = dumpFlow(live, o);
    auto b = dumpFlow(**q, o);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b);
  }
}

}  // namespace
}  // namespace sandbank::flow
