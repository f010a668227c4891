// The fault engine applied by the mesh: delay, fail, drop, partition, and seeded
// determinism of a random fail rule over a sequence of calls.
#include <gtest/gtest.h>

#include "mesh_fixture.h"

namespace sandbank::mesh::testing {
namespace {

using sandbank::testing::EchoReply;
using sandbank::testing::EchoRequest;
using namespace std::chrono_literals;

class MeshFaultsTest : public MeshFixture {
 protected:
  grpc::Status echo(const std::string& source = "", std::chrono::milliseconds deadline = 10s) {
    grpc::ClientContext ctx;
    withDeadline(ctx, deadline);
    if (!source.empty()) ctx.AddMetadata("sandbank-source", source);
    EchoRequest request;
    request.set_text("x");
    EchoReply reply;
    return stub()->Echo(&ctx, request, &reply);
  }
};

TEST_F(MeshFaultsTest, DelayRuleHoldsTheCallAndIsRecorded) {
  faults::FaultRule rule;
  rule.id = "slow-echo";
  rule.match.destination = "echo";
  rule.match.method = "sandbank.testing.Echo/*";
  rule.action.kind = faults::FaultActionKind::kDelay;
  rule.action.delay = 80ms;
  ASSERT_TRUE(faults_.addRule(rule).ok());

  ASSERT_TRUE(echo().ok());
  EXPECT_EQ(backend1_.calls(), 1);
  auto rpc = sink_.waitFor(flow::FlowKind::kRpc, 1);
  auto fault = sink_.waitFor(flow::FlowKind::kFault, 1);
  ASSERT_EQ(rpc.size(), 1u);
  ASSERT_EQ(fault.size(), 1u);
  EXPECT_EQ(fault[0].detail, "rule slow-echo: delay 80ms (applied 80ms)");
  EXPECT_EQ(fault[0].trace_id, rpc[0].trace_id);
  EXPECT_EQ(fault[0].parent_span_id, rpc[0].span_id);
  EXPECT_NE(rpc[0].detail.find("fault slow-echo: delay 80ms"), std::string::npos) << rpc[0].detail;
  // A lower bound only: the call cannot have finished before the delay elapsed.
  EXPECT_GE(rpc[0].end_real_us - rpc[0].start_real_us, 80'000);
  EXPECT_EQ(faults_.rule("slow-echo")->hits, 1);
}

TEST_F(MeshFaultsTest, FailRuleAnswersWithItsCodeWithoutReachingTheBackend) {
  faults::FaultRule rule;
  rule.id = "echo-aborts";
  rule.match.destination = "echo";
  rule.action.kind = faults::FaultActionKind::kFail;
  rule.action.code = StatusCode::kAborted;
  ASSERT_TRUE(faults_.addRule(rule).ok());

  grpc::Status status = echo();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(status.error_message().find("echo-aborts"), std::string::npos) << status.error_message();
  EXPECT_EQ(backend1_.calls(), 0);
  auto rpc = sink_.waitFor(flow::FlowKind::kRpc, 1);
  ASSERT_EQ(rpc.size(), 1u);
  EXPECT_EQ(rpc[0].status, "ABORTED");
  auto fault = sink_.waitFor(flow::FlowKind::kFault, 1);
  ASSERT_EQ(fault.size(), 1u);
  EXPECT_EQ(fault[0].status, "ABORTED");
}

TEST_F(MeshFaultsTest, DropRuleBlackholesUntilTheCallersDeadline) {
  faults::FaultRule rule;
  rule.id = "blackhole";
  rule.action.kind = faults::FaultActionKind::kDrop;
  rule.timing.max_hits = 1;
  ASSERT_TRUE(faults_.addRule(rule).ok());

  EXPECT_EQ(echo("", 300ms).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(backend1_.calls(), 0);
  auto rpc = sink_.waitFor(flow::FlowKind::kRpc, 1);
  ASSERT_EQ(rpc.size(), 1u);
  EXPECT_EQ(rpc[0].status, "DEADLINE_EXCEEDED");
  // Applied once only: the next call goes through.
  EXPECT_TRUE(echo().ok());
  EXPECT_EQ(backend1_.calls(), 1);
}

TEST_F(MeshFaultsTest, PartitionCutsOnlyCallsAcrossIt) {
  faults::FaultRule rule;
  rule.id = "split";
  rule.action.kind = faults::FaultActionKind::kPartition;
  rule.action.side_a = {"gateway"};
  rule.action.side_b = {"echo", "ledger"};
  ASSERT_TRUE(faults_.addRule(rule).ok());

  grpc::Status cut = echo("gateway");
  EXPECT_EQ(cut.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(cut.error_message().find("split"), std::string::npos) << cut.error_message();
  EXPECT_TRUE(echo("payments").ok());
  EXPECT_EQ(backend1_.calls(), 1);
}

std::vector<grpc::StatusCode> runFlakySequence(const std::function<grpc::Status()>& call, int n) {
  std::vector<grpc::StatusCode> out;
  for (int i = 0; i < n; ++i) out.push_back(call().error_code());
  return out;
}

TEST_F(MeshFaultsTest, SameSeedGivesTheSameFailuresForTheSameCalls) {
  faults::FaultRule rule;
  rule.id = "flaky";
  rule.action.kind = faults::FaultActionKind::kFail;
  rule.action.code = StatusCode::kUnavailable;
  rule.action.probability = 0.5;
  ASSERT_TRUE(faults_.addRule(rule).ok());

  auto call = [this] { return echo(); };
  faults_.reseed(1234);
  auto first = runFlakySequence(call, 24);
  faults_.reseed(1234);
  auto second = runFlakySequence(call, 24);
  EXPECT_EQ(first, second);
  int failed = static_cast<int>(std::count(first.begin(), first.end(), grpc::StatusCode::UNAVAILABLE));
  EXPECT_GT(failed, 0);
  EXPECT_LT(failed, 24);
  EXPECT_EQ(backend1_.calls(), 2 * (24 - failed));
}

}  // namespace
}  // namespace sandbank::mesh::testing
