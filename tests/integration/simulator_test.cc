// The whole simulator in one process, as `sandbank up` runs it: services launched by the
// supervisor call each other through the mesh, and the call lands in the flow hub and
// the recording with the caller's trace; the bus and store are reachable by services.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include <grpcpp/grpcpp.h>

#include "sandbank/control.grpc.pb.h"
#include "sandbank/control/run_state.h"
#include "sandbank/control/simulator.h"
#include "sandbank/bus/broker.h"
#include "sandbank/faults/fault_engine.h"
#include "sandbank/store/session.h"
#include "sandbank/flow/flow_dump.h"
#include "sandbank/flow/flow_query.h"
#include "sandbank/kit/channel.h"
#include "sandbank/kit/trace.h"
#include "sandbank/testing/echo.grpc.pb.h"

namespace sandbank::control {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

class SimulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sandbank-sim-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "bank.yaml") << "services:\n  back: {command: echo-service}\n"
                                         "  front: {command: echo-service, depends_on: [back]}\n";
    SimulatorOptions o;
    o.manifest_path = (dir_ / "bank.yaml").string();
    o.state_file = (dir_ / "state/run.json").string();
    o.record_path = (dir_ / "run.db").string();
    o.bin_dir = SANDBANK_BIN_DIR;
    auto sim = Simulator::create(o);
    ASSERT_TRUE(sim.ok()) << sim.status().toString();
    sim_ = std::move(*sim);
    ASSERT_TRUE(sim_->up().ok());
    ASSERT_TRUE(sim_->supervisor().waitUntilReady(10s).ok());
    for (const auto& s : sim_->supervisor().snapshot()) ports_[s.service] = s.port;
  }
  void TearDown() override {
    sim_.reset();
    fs::remove_all(dir_);
  }

  grpc::Status callFrontToBack(const std::string& text, sandbank::testing::EchoReply* reply) {
    auto stub = sandbank::testing::Echo::NewStub(kit::makeChannel("127.0.0.1:" + std::to_string(ports_["front"])));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    sandbank::testing::CallRequest req;
    req.set_target("back");
    req.set_text(text);
    req.set_timeout_ms(1000);
    return stub->Call(&ctx, req, reply);
  }

  fs::path dir_;
  std::unique_ptr<Simulator> sim_;
  std::map<std::string, int> ports_;
};

TEST_F(SimulatorTest, ServiceToServiceCallsGoThroughTheMeshAndAreRecorded) {
  kit::TraceContext mine{kit::newTraceId(), kit::newSpanId(), ""};
  kit::TraceScope scope(mine);
  flow::FlowFilter by_trace;
  by_trace.trace_id = mine.trace_id;
  by_trace.addKind(flow::FlowKind::kRpc);
  auto sub = sim_->flow().subscribe("test", by_trace);
  sandbank::testing::EchoReply reply;
  grpc::Status s = callFrontToBack("via mesh", &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.service(), "back");
  EXPECT_EQ(reply.trace_id(), mine.trace_id);

  // The mesh reports a call once it has finished, which may be just after the reply.
  flow::FlowBatch batch = sub->pollWait(1, std::chrono::milliseconds(5000));
  ASSERT_EQ(batch.events.size(), 1u) << "the mesh recorded no rpc for the trace";
  const flow::FlowEvent* rpc = batch.events[0].get();
  EXPECT_EQ(rpc->source, "front");
  EXPECT_EQ(rpc->destination, "back");
  EXPECT_THAT(rpc->method, HasSubstr("sandbank.testing.Echo/Echo"));
  EXPECT_EQ(rpc->status, "OK");

  // The same trace reads back from the recording once the run ends.
  sim_->stop();
  auto rec = flow::RecordingFlowQuery::open((dir_ / "run.db").string());
  ASSERT_TRUE(rec.ok()) << rec.status().toString();
  auto recorded = (*rec)->trace(mine.trace_id);
  ASSERT_TRUE(recorded.ok());
  ASSERT_FALSE(recorded->empty());
  flow::DumpOptions d;
  d.trace_id = mine.trace_id;
  auto text = flow::dumpFlow(**rec, d);
  ASSERT_TRUE(text.ok()) << text.status().toString();
  EXPECT_THAT(*text, HasSubstr("front"));
  EXPECT_THAT(*text, HasSubstr("back"));
}

TEST_F(SimulatorTest, MeshFaultRuleFailsTheCallAndIsRecorded) {
  faults::FaultRule rule;
  rule.id = "back-down";
  rule.match.destination = "back";
  rule.action.kind = faults::FaultActionKind::kFail;
  rule.action.code = StatusCode::kUnavailable;
  rule.action.probability = 1.0;
  ASSERT_TRUE(sim_->faults().addRule(rule).ok());
  sandbank::testing::EchoReply reply;
  grpc::Status s = callFrontToBack("refused", &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  flow::LiveFlowQuery live(sim_->flow());
  flow::FlowFilter f;
  f.addKind(flow::FlowKind::kFault);
  auto faults = live.events(f);
  ASSERT_TRUE(faults.ok());
  ASSERT_FALSE(faults->empty());
  EXPECT_THAT(faults->back().detail, HasSubstr("back-down"));
}

TEST_F(SimulatorTest, ControlApiQueriesDecodesAndDumpsTheFlow) {
  auto state = readRunState((dir_ / "state/run.json").string());
  ASSERT_TRUE(state.ok()) << state.status().toString();
  auto control = sandbank::control::Control::NewStub(kit::makeChannel(state->address));
  auto prepare = [&](grpc::ClientContext& ctx) {
    ctx.AddMetadata("authorization", "Bearer " + state->token);
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  };
  kit::TraceContext mine{kit::newTraceId(), kit::newSpanId(), ""};
  {
    kit::TraceScope scope(mine);
    sandbank::testing::EchoReply reply;
    ASSERT_TRUE(callFrontToBack("decode me", &reply).ok());
  }
  // Wait for the mesh's event through a live subscription on the control API.
  {
    grpc::ClientContext ctx;
    prepare(ctx);
    sandbank::control::FlowFilter f;
    f.set_trace_id(mine.trace_id);
    f.add_kinds("rpc");
    auto reader = control->SubscribeFlow(&ctx, f);
    // The subscription starts after the call, so the event may already be in the ring:
    // query first, subscribe only if it is not there yet.
    grpc::ClientContext qctx;
    prepare(qctx);
    sandbank::control::FlowQueryRequest q;
    *q.mutable_filter() = f;
    sandbank::control::FlowEvents found;
    ASSERT_TRUE(control->QueryFlow(&qctx, q, &found).ok());
    if (found.events_size() == 0) {
      sandbank::control::FlowEvents batch;
      ASSERT_TRUE(reader->Read(&batch));
      ASSERT_GT(batch.events_size(), 0);
    }
    ctx.TryCancel();
    (void)reader->Finish();
  }
  grpc::ClientContext qctx;
  prepare(qctx);
  sandbank::control::FlowQueryRequest q;
  q.mutable_filter()->set_trace_id(mine.trace_id);
  q.mutable_filter()->add_kinds("rpc");
  q.set_decode(true);
  sandbank::control::FlowEvents events;
  grpc::Status s = control->QueryFlow(&qctx, q, &events);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).source(), "front");
  EXPECT_THAT(events.events(0).payload_json(), HasSubstr("decode me"));

  grpc::ClientContext dctx;
  prepare(dctx);
  sandbank::control::DumpFlowRequest d;
  d.set_trace_id(mine.trace_id);
  sandbank::control::DumpFlowResponse text;
  ASSERT_TRUE(control->DumpFlow(&dctx, d, &text).ok());
  EXPECT_THAT(text.text(), HasSubstr("front"));
  EXPECT_THAT(text.text(), HasSubstr("back"));

  grpc::ClientContext bctx;
  prepare(bctx);
  sandbank::control::FlowQueryRequest bad;
  bad.mutable_filter()->add_kinds("telepathy");
  sandbank::control::FlowEvents none;
  grpc::Status b = control->QueryFlow(&bctx, bad, &none);
  EXPECT_EQ(b.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(b.error_message(), HasSubstr("unknown kind 'telepathy'"));
}

TEST_F(SimulatorTest, OneFaultEngineBendsTopicsAndTablesToo) {
  // A topic rule fails produces to that topic only.
  ASSERT_TRUE(sim_->bus().createTopic("payments", bus::TopicConfig{}).ok());
  ASSERT_TRUE(sim_->bus().createTopic("audit", bus::TopicConfig{}).ok());
  faults::FaultRule topic_rule;
  topic_rule.id = "payments-broken";
  topic_rule.match.topic = "payments";
  topic_rule.action.kind = faults::FaultActionKind::kFail;
  topic_rule.action.code = StatusCode::kUnavailable;
  ASSERT_TRUE(sim_->faults().addRule(topic_rule).ok());
  bus::Record r;
  r.key = "acc-1";
  r.value = "x";
  auto failed = sim_->bus().produce("payments", {r});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("payments-broken"));
  EXPECT_TRUE(sim_->bus().produce("audit", {r}).ok());

  // A table rule that drops makes writes to that table time out, touching no replica.
  store::Session session(sim_->store());
  ASSERT_TRUE(session.execute("CREATE KEYSPACE bank WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}").ok());
  ASSERT_TRUE(session.execute("CREATE TABLE bank.balances (account text PRIMARY KEY, amount bigint)").ok());
  faults::FaultRule table_rule;
  table_rule.id = "balances-lost";
  table_rule.match.table = "balances";
  table_rule.action.kind = faults::FaultActionKind::kDrop;
  ASSERT_TRUE(sim_->faults().addRule(table_rule).ok());
  auto write = session.execute("INSERT INTO bank.balances (account, amount) VALUES ('a', 5)");
  ASSERT_FALSE(write.ok());
  EXPECT_THAT(write.status().message(), HasSubstr("WriteTimeout"));
  ASSERT_TRUE(sim_->faults().removeRule("balances-lost").ok());
  auto read = session.execute("SELECT amount FROM bank.balances WHERE account = 'a'");
  ASSERT_TRUE(read.ok()) << read.status().toString();
  EXPECT_EQ(read->rows.size(), 0u);  // the dropped write reached no replica

  // Both faults are in the flow, naming their rules.
  flow::LiveFlowQuery live(sim_->flow());
  flow::FlowFilter f;
  f.addKind(flow::FlowKind::kFault);
  auto events = live.events(f);
  ASSERT_TRUE(events.ok());
  std::string details;
  for (const auto& e : *events) details += e.detail + "\n";
  EXPECT_THAT(details, HasSubstr("payments-broken"));
  EXPECT_THAT(details, HasSubstr("balances-lost"));
}

TEST_F(SimulatorTest, TheRecordingTellsAKilledProcessFromADeliberateStop) {
  // back is killed (the restart policy then applies); front is stopped on purpose.
  ASSERT_TRUE(sim_->supervisor().killService("back", SIGKILL).ok());
  ASSERT_TRUE(sim_->supervisor().waitFor(
      [](const std::vector<supervisor::InstanceStatus>& all) {
        for (const auto& s : all)
          if (s.service == "back") return s.last_exit.find("SIGKILL") != std::string::npos;
        return false;
      },
      10s));
  ASSERT_TRUE(sim_->supervisor().stopService("front").ok());
  sim_->stop();  // closes the recording

  auto q = flow::RecordingFlowQuery::open((dir_ / "run.db").string());
  ASSERT_TRUE(q.ok()) << q.status().toString();
  auto history = (*q)->processes();
  ASSERT_TRUE(history.ok()) << history.status().toString();
  bool back_killed = false;
  std::optional<flow::ProcessRecord> front_last;
  for (const flow::ProcessRecord& p : *history) {
    if (p.service == "back" && p.state == flow::ProcessState::kKilled) back_killed = true;
    if (p.service == "front") front_last = p;
  }
  EXPECT_TRUE(back_killed) << "a SIGKILL is recorded as killed, not as a plain exit";
  ASSERT_TRUE(front_last.has_value());
  EXPECT_EQ(front_last->state, flow::ProcessState::kExited);
  EXPECT_FALSE(front_last->exit_code.has_value()) << "a deliberate stop is no failure, whatever the signal did";
}

TEST_F(SimulatorTest, ServicesAreToldWhereTheMeshBusAndStoreAre) {
  EXPECT_FALSE(sim_->meshAddress().empty());
  EXPECT_FALSE(sim_->dataAddress().empty());
  // The process lifecycle is in the flow too.
  flow::LiveFlowQuery live(sim_->flow());
  flow::FlowFilter f;
  f.addKind(flow::FlowKind::kProcess);
  auto events = live.events(f);
  ASSERT_TRUE(events.ok());
  int ready = 0;
  for (const auto& e : *events)
    if (e.method == "ready") ++ready;
  EXPECT_EQ(ready, 2);
}

}  // namespace
}  // namespace sandbank::control
