// Proxy correctness: every call type, metadata, errors, deadlines, cancellation,
// round-robin, unknown services, trace injection and the kRpc flow events.
#include <gtest/gtest.h>

#include <set>

#include "mesh_fixture.h"
#include "sandbank/mesh/trace_context.h"

namespace sandbank::mesh::testing {
namespace {

using sandbank::testing::EchoReply;
using sandbank::testing::EchoRequest;
using sandbank::testing::StreamRequest;
using namespace std::chrono_literals;

class MeshProxyTest : public MeshFixture {};

TEST_F(MeshProxyTest, UnaryCallReachesBackendWithMetadataAndIsRecorded) {
  clock_.advance(5s);
  grpc::ClientContext ctx;
  withDeadline(ctx, 10s);
  ctx.AddMetadata("x-custom", "forty-two");
  ctx.AddMetadata("x-blob-bin", std::string("\x00\xff\x10", 3));
  ctx.AddMetadata("sandbank-source", "gateway");
  EchoRequest request;
  request.set_text("hello");
  request.set_payload(std::string("\x00\x01\x02", 3));
  EchoReply reply;
  grpc::Status status = stub()->Echo(&ctx, request, &reply);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.text(), "hello");
  EXPECT_EQ(reply.payload(), request.payload());
  EXPECT_EQ(reply.instance(), "echo-1");
  auto md = backend1_.lastMetadata();
  ASSERT_EQ(md.count("x-custom"), 1u);
  EXPECT_EQ(md.find("x-custom")->second, "forty-two");
  ASSERT_EQ(md.count("x-blob-bin"), 1u);
  EXPECT_EQ(md.find("x-blob-bin")->second, std::string("\x00\xff\x10", 3));
  // The backend's own initial metadata comes back through the mesh.
  auto served = ctx.GetServerInitialMetadata().find("x-served-by");
  ASSERT_NE(served, ctx.GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(served->second.data(), served->second.size()), "echo-1");

  auto events = sink_.waitFor(flow::FlowKind::kRpc, 1);
  ASSERT_EQ(events.size(), 1u);
  const flow::FlowEvent& e = events[0];
  EXPECT_EQ(e.source, "gateway");
  EXPECT_EQ(e.destination, "echo");
  EXPECT_EQ(e.method, "sandbank.testing.Echo/Echo");
  EXPECT_EQ(e.status, "OK");
  EXPECT_EQ(e.payload, request.SerializeAsString());
  EXPECT_EQ(e.size, static_cast<int64_t>(request.ByteSizeLong()));
  EXPECT_EQ(e.payload_type, "sandbank.testing.EchoRequest");
  EXPECT_EQ(e.start_sim_us, toMicros(clock_.now()));
  EXPECT_LE(e.start_real_us, e.end_real_us);
  EXPECT_NE(e.detail.find(backend1_.address()), std::string::npos) << e.detail;
}

TEST_F(MeshProxyTest, ServerStreamingForwardsEveryMessageInOrder) {
  grpc::ClientContext ctx;
  withDeadline(ctx, 10s);
  StreamRequest request;
  request.set_text("tick");
  request.set_count(5);
  auto reader = stub()->ServerStream(&ctx, request);
  std::vector<std::string> got;
  EchoReply reply;
  while (reader->Read(&reply)) got.push_back(reply.text());
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(got, (std::vector<std::string>{"tick-0", "tick-1", "tick-2", "tick-3", "tick-4"}));
  auto events = sink_.waitFor(flow::FlowKind::kRpc, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].detail.find("5 resp"), std::string::npos) << events[0].detail;
}

TEST_F(MeshProxyTest, ClientStreamingForwardsEveryMessageAndHalfClose) {
  grpc::ClientContext ctx;
  withDeadline(ctx, 10s);
  EchoReply reply;
  auto writer = stub()->ClientStream(&ctx, &reply);
  for (const char* t : {"a", "b", "c"}) {
    EchoRequest r;
    r.set_text(t);
    ASSERT_TRUE(writer->Write(r));
  }
  ASSERT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(reply.text(), "a+b+c");
  auto events = sink_.waitFor(flow::FlowKind::kRpc, 1);
  ASSERT_EQ(events.size(), 1u);
  EchoRequest first;
  first.set_text("a");
  EXPECT_EQ(events[0].payload, first.SerializeAsString());  // the first request message
  EXPECT_NE(events[0].detail.find("3 req"), std::string::npos) << events[0].detail;
}

TEST_F(MeshProxyTest, BidiStreamingPingPongs) {
  grpc::ClientContext ctx;
  withDeadline(ctx, 10s);
  auto stream = stub()->Bidi(&ctx);
  for (int i = 0; i < 3; ++i) {
    EchoRequest r;
    r.set_text("m" + std::to_string(i));
    ASSERT_TRUE(stream->Write(r));
    EchoReply reply;
    ASSERT_TRUE(stream->Read(&reply));
    EXPECT_EQ(reply.text(), "re:m" + std::to_string(i));
  }
  ASSERT_TRUE(stream->WritesDone());
  EchoReply extra;
  EXPECT_FALSE(stream->Read(&extra));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(MeshProxyTest, ErrorsPassThroughWithCodeMessageDetailsAndTrailers) {
  grpc::ClientContext ctx;
  withDeadline(ctx, 10s);
  EchoRequest request;
  request.set_text("fail");
  EchoReply reply;
  grpc::Status status = stub()->Echo(&ctx, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "account frozen");
  EXPECT_EQ(status.error_details(), "detail-bytes");
  auto trailer = ctx.GetServerTrailingMetadata().find("x-reason");
  ASSERT_NE(trailer, ctx.GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(trailer->second.data(), trailer->second.size()), "frozen");
  EXPECT_EQ(ctx.GetServerInitialMetadata().count("x-failed-by"), 1u);
  auto events = sink_.waitFor(flow::FlowKind::kRpc, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status, "FAILED_PRECONDITION");
}

TEST_F(MeshProxyTest, UnaryCallsBehaveTheSameOnTheGenericPath) {
  startMesh(/*use_decoder=*/false);
  {
    grpc::ClientContext ctx;
    withDeadline(ctx, 10s);
    EchoRequest request;
    request.set_text("plain");
    EchoReply reply;
    ASSERT_TRUE(stub()->Echo(&ctx, request, &reply).ok());
    EXPECT_EQ(reply.text(), "plain");
    EXPECT_EQ(ctx.GetServerInitialMetadata().count("x-served-by"), 1u);
  }
  grpc::ClientContext ctx;
  withDeadline(ctx, 10s);
  EchoRequest request;
  request.set_text("fail");
  EchoReply reply;
  grpc::Status status = stub()->Echo(&ctx, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "account frozen");
  EXPECT_EQ(status.error_details(), "detail-bytes");
  EXPECT_EQ(ctx.GetServerTrailingMetadata().count("x-reason"), 1u);
  EXPECT_EQ(ctx.GetServerInitialMetadata().count("x-failed-by"), 1u);
  auto events = sink_.waitFor(flow::FlowKind::kRpc, 2);
  ASSERT_EQ(events.size(), 2u);
  std::multiset<std::string> statuses;
  for (const auto& e : events) {
    EXPECT_TRUE(e.payload_type.empty());  // no descriptors: no type, no fast path
    statuses.insert(e.status);
  }
  EXPECT_EQ(statuses, (std::multiset<std::string>{"OK", "FAILED_PRECONDITION"}));
}

TEST_F(MeshProxyTest, DeadlineIsPropagatedToTheBackend) {
  grpc::ClientContext ctx;
  auto deadline = std::chrono::system_clock::now() + 30s;
  ctx.set_deadline(deadline);
  EchoRequest request;
  request.set_text("hi");
  EchoReply reply;
  ASSERT_TRUE(stub()->Echo(&ctx, request, &reply).ok());
  // The backend sees a finite deadline no later than the caller's (gRPC rounds the
  // timeout it sends up to whole units, hence the small allowance).
  auto seen = backend1_.lastDeadline();
  EXPECT_NE(seen, std::chrono::system_clock::time_point::max());
  EXPECT_LE(seen, deadline + 1s);
  EXPECT_GT(seen, deadline - 20s);
}

TEST_F(MeshProxyTest, ExpiredDeadlineCancelsTheBackendCall) {
  auto s = stub();
  {  // connect client -> mesh -> backend first, so the deadline is spent waiting only
    grpc::ClientContext warm;
    withDeadline(warm, 10s);
    EchoRequest request;
    EchoReply reply;
    ASSERT_TRUE(s->Echo(&warm, request, &reply).ok());
  }
  grpc::ClientContext ctx;
  withDeadline(ctx, 1s);
  EchoRequest request;
  request.set_text("block");
  EchoReply reply;
  grpc::Status status = s->Echo(&ctx, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(backend1_.block_started.waitFor(10s));
  EXPECT_TRUE(backend1_.block_cancelled.waitFor(10s));
  auto events = sink_.waitFor(flow::FlowKind::kRpc, 2);
  ASSERT_EQ(events.size(), 2u);
  size_t expired = std::count_if(events.begin(), events.end(),
                                 [](const flow::FlowEvent& e) { return e.status == "DEADLINE_EXCEEDED"; });
  EXPECT_EQ(expired, 1u) << events[0].status << " / " << events[1].status;
}

TEST_F(MeshProxyTest, CallerCancellationReachesTheBackend) {
  grpc::ClientContext ctx;
  withDeadline(ctx, 60s);
  EchoRequest request;
  request.set_text("block");
  EchoReply reply;
  grpc::Status status;
  Latch finished;
  stub()->async()->Echo(&ctx, &request, &reply, [&](grpc::Status s) {
    status = std::move(s);
    finished.set();
  });
  ASSERT_TRUE(backend1_.block_started.waitFor(10s));
  ctx.TryCancel();
  ASSERT_TRUE(finished.waitFor(10s));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(backend1_.block_cancelled.waitFor(10s));
  auto events = sink_.waitFor(flow::FlowKind::kRpc, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status, "CANCELLED");
}

TEST_F(MeshProxyTest, BackendGoingAwayMidCallEndsTheCallersCall) {
  auto backend = std::make_unique<EchoBackend>("doomed-1");
  directory_.addEndpoint("doomed", backend->address());
  grpc::ClientContext ctx;
  withDeadline(ctx, 60s);
  EchoRequest request;
  request.set_text("block");
  EchoReply reply;
  grpc::Status status;
  Latch finished;
  stub("doomed")->async()->Echo(&ctx, &request, &reply, [&](grpc::Status s) {
    status = std::move(s);
    finished.set();
  });
  ASSERT_TRUE(backend->block_started.waitFor(10s));
  backend.reset();  // shuts the server down, cancelling the call on its side
  ASSERT_TRUE(finished.waitFor(10s));
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::CANCELLED ||
              status.error_code() == grpc::StatusCode::UNAVAILABLE)
      << status.error_code() << " " << status.error_message();
}

TEST_F(MeshProxyTest, CallsAreSpreadRoundRobinOverHealthyEndpoints) {
  EchoBackend backend2("echo-2");
  directory_.addEndpoint("echo", backend2.address());
  auto s = stub();
  std::map<std::string, int> per_instance;
  for (int i = 0; i < 6; ++i) {
    grpc::ClientContext ctx;
    withDeadline(ctx, 10s);
    EchoRequest request;
    request.set_text("rr");
    EchoReply reply;
    ASSERT_TRUE(s->Echo(&ctx, request, &reply).ok());
    ++per_instance[reply.instance()];
  }
  EXPECT_EQ(per_instance["echo-1"], 3);
  EXPECT_EQ(per_instance["echo-2"], 3);

  ASSERT_TRUE(directory_.setHealthy("echo", backend1_.address(), false).ok());
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    withDeadline(ctx, 10s);
    EchoRequest request;
    EchoReply reply;
    ASSERT_TRUE(s->Echo(&ctx, request, &reply).ok());
    EXPECT_EQ(reply.instance(), "echo-2");
  }

  ASSERT_TRUE(directory_.setHealthy("echo", backend2.address(), false).ok());
  grpc::ClientContext ctx;
  withDeadline(ctx, 10s);
  EchoRequest request;
  EchoReply reply;
  grpc::Status status = s->Echo(&ctx, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(status.error_message().find("no healthy endpoint"), std::string::npos) << status.error_message();
}

TEST_F(MeshProxyTest, UnknownServiceIsUnavailableWithAReasonListingKnownServices) {
  grpc::ClientContext ctx;
  withDeadline(ctx, 10s);
  EchoRequest request;
  EchoReply reply;
  grpc::Status status = stub("ledgr")->Echo(&ctx, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  const std::string& m = status.error_message();
  EXPECT_NE(m.find("'ledgr'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'ledger'"), std::string::npos) << m;
  EXPECT_NE(m.find("echo, ledger"), std::string::npos) << m;
  EXPECT_EQ(backend1_.calls(), 0);
}

TEST_F(MeshProxyTest, InjectsTraceparentWhenTheCallHasNone) {
  grpc::ClientContext ctx;
  withDeadline(ctx, 10s);
  EchoRequest request;
  EchoReply reply;
  ASSERT_TRUE(stub()->Echo(&ctx, request, &reply).ok());
  auto md = backend1_.lastMetadata();
  ASSERT_EQ(md.count("traceparent"), 1u);
  auto tc = parseTraceparent(md.find("traceparent")->second);
  ASSERT_TRUE(tc.has_value()) << md.find("traceparent")->second;

  auto events = sink_.waitFor(flow::FlowKind::kRpc, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].trace_id, tc->trace_id);
  EXPECT_EQ(events[0].span_id, tc->span_id);  // the backend's parent is the RPC's span
  EXPECT_TRUE(events[0].parent_span_id.empty());
  EXPECT_EQ(events[0].source, "client");
}

TEST_F(MeshProxyTest, KeepsTheCallersTraceAndParentsTheRpcSpanOnIt) {
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string caller_span = "00f067aa0ba902b7";
  grpc::ClientContext ctx;
  withDeadline(ctx, 10s);
  ctx.AddMetadata("traceparent", "00-" + trace + "-" + caller_span + "-01");
  EchoRequest request;
  EchoReply reply;
  ASSERT_TRUE(stub()->Echo(&ctx, request, &reply).ok());
  EXPECT_EQ(reply.trace_id(), trace);
  auto events = sink_.waitFor(flow::FlowKind::kRpc, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].trace_id, trace);
  EXPECT_EQ(events[0].parent_span_id, caller_span);
  EXPECT_EQ(reply.parent_span(), events[0].span_id);
  EXPECT_NE(events[0].span_id, caller_span);
}

TEST_F(MeshProxyTest, ShutdownWithCallsInFlightCancelsThem) {
  grpc::ClientContext ctx;
  withDeadline(ctx, 60s);
  EchoRequest request;
  request.set_text("block");
  EchoReply reply;
  grpc::Status status;
  Latch finished;
  stub()->async()->Echo(&ctx, &request, &reply, [&](grpc::Status s) {
    status = std::move(s);
    finished.set();
  });
  ASSERT_TRUE(backend1_.block_started.waitFor(10s));
  mesh_->shutdown();
  ASSERT_TRUE(finished.waitFor(10s));
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(backend1_.block_cancelled.waitFor(10s));
}

TEST(MeshStart, RequiresADirectory) {
  auto mesh = Mesh::start(MeshOptions{});
  ASSERT_FALSE(mesh.ok());
  EXPECT_EQ(mesh.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sandbank::mesh::testing
