// The service kit: trace context parsing and propagation, configuration, channels by
// name, and the listening protocol, with echo services run by the real supervisor.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "sandbank/kit/channel.h"
#include "sandbank/kit/config.h"
#include "sandbank/kit/store_client.h"
#include "sandbank/kit/trace.h"
#include "sandbank/supervisor/supervisor.h"
#include "sandbank/testing/echo.grpc.pb.h"

namespace sandbank::kit {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(Trace, TraceparentRoundTrips) {
  TraceContext ctx{newTraceId(), newSpanId(), ""};
  ASSERT_TRUE(ctx.valid());
  auto parsed = parseTraceparent(formatTraceparent(ctx));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->trace_id, ctx.trace_id);
  EXPECT_EQ(parsed->span_id, ctx.span_id);
}

TEST(Trace, MalformedTraceparentIsRejected) {
  EXPECT_FALSE(parseTraceparent("").has_value());
  EXPECT_FALSE(parseTraceparent("00-xyz-abc-01").has_value());
  EXPECT_FALSE(parseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").has_value());
  EXPECT_FALSE(parseTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").has_value());
  EXPECT_TRUE(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").has_value());
}

TEST(Trace, ChildKeepsTheTraceAndPointsAtItsParent) {
  TraceContext parent{newTraceId(), newSpanId(), ""};
  TraceContext child = childOf(parent);
  EXPECT_EQ(child.trace_id, parent.trace_id);
  EXPECT_EQ(child.parent_span_id, parent.span_id);
  EXPECT_NE(child.span_id, parent.span_id);
  EXPECT_TRUE(childOf(TraceContext{}).valid());  // no current trace: a new one
}

TEST(Trace, ScopeRestoresThePreviousContext) {
  setCurrentTrace({});
  {
    TraceScope scope({newTraceId(), newSpanId(), ""});
    EXPECT_TRUE(currentTrace().valid());
  }
  EXPECT_FALSE(currentTrace().valid());
}

TEST(Config, TypedGettersNameTheVariableOnError) {
  Config c({{"N", "12"}, {"BAD", "x"}, {"ON", "yes"}, {"D", "250ms"}, {"BADD", "soon"}});
  EXPECT_EQ(*c.getInt("N", 0), 12);
  EXPECT_EQ(*c.getInt("MISSING", 7), 7);
  EXPECT_THAT(c.getInt("BAD", 0).status().message(), HasSubstr("BAD='x': expected an integer"));
  EXPECT_TRUE(*c.getBool("ON", false));
  EXPECT_EQ(*c.getDuration("D", 0ns), 250ms);
  EXPECT_THAT(c.getDuration("BADD", 0ns).status().message(), HasSubstr("BADD"));
  EXPECT_THAT(c.require("NOPE").status().message(), HasSubstr("NOPE is required"));
}

TEST(StoreRows, FindsCellsByNameAndAnswersNullForMissingOnes) {
  StoreRows rows;
  rows.columns = {"a", "b"};
  rows.rows = {{StoreValue::text("x"), StoreValue::integer(7)}};
  EXPECT_EQ(rows.cell(0, "b").i, 7);
  EXPECT_EQ(rows.cell(0, "a").s, "x");
  EXPECT_TRUE(rows.cell(0, "c").isNull());
  EXPECT_TRUE(rows.cell(1, "a").isNull());
}

TEST(Channel, UnknownRouteSaysWhatToSet) {
  auto ch = channelTo("ledger", Config({}));
  ASSERT_FALSE(ch.ok());
  EXPECT_THAT(ch.status().message(), HasSubstr("SANDBANK_ADDR_LEDGER"));
  EXPECT_EQ(addressVariable("card-processor"), "SANDBANK_ADDR_CARD_PROCESSOR");
}

// Two echo services under the real supervisor: front depends on back, so the kit in
// front finds back through SANDBANK_ADDR_BACK.
class KitProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    launcher_ = supervisor::makeProcessLauncher();
    prober_ = supervisor::makeHealthProber();
    supervisor::SupervisorOptions o;
    o.search_dirs = {SANDBANK_BIN_DIR};
    sup_ = std::make_unique<supervisor::Supervisor>(*launcher_, *prober_, o);
    auto m = supervisor::parseManifest(
        "services:\n  back: {command: echo-service}\n  front: {command: echo-service, depends_on: [back]}\n",
        "kit.yaml", "/tmp");
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(sup_->up(*m).ok());
    ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
    for (const auto& s : sup_->snapshot()) ports_[s.service] = s.port;
  }

  std::unique_ptr<sandbank::testing::Echo::Stub> stub(const std::string& service) {
    return sandbank::testing::Echo::NewStub(makeChannel("127.0.0.1:" + std::to_string(ports_.at(service))));
  }

  std::unique_ptr<supervisor::ProcessLauncher> launcher_;
  std::unique_ptr<supervisor::HealthProber> prober_;
  std::unique_ptr<supervisor::Supervisor> sup_;
  std::map<std::string, int> ports_;
};

TEST_F(KitProcessTest, TraceContextFollowsTheCallAcrossServices) {
  TraceContext mine{newTraceId(), newSpanId(), ""};
  TraceScope scope(mine);  // the kit's client interceptor sends a child of this
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  sandbank::testing::CallRequest req;
  req.set_target("back");
  req.set_text("hello");
  sandbank::testing::EchoReply reply;
  grpc::Status s = stub("front")->Call(&ctx, req, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.text(), "hello");
  EXPECT_EQ(reply.service(), "back");
  EXPECT_EQ(reply.instance(), "back-1");
  EXPECT_EQ(reply.trace_id(), mine.trace_id);  // same trace two hops later
  EXPECT_NE(reply.parent_span(), mine.span_id);  // but its own span
  // front's log line for the call carries the trace id too.
  bool logged = false;
  for (const auto& l : sup_->logs("front", 0))
    if (l.message == "calling" && l.trace == mine.trace_id) logged = true;
  EXPECT_TRUE(logged);
}

TEST_F(KitProcessTest, CallWithoutTraceContextStartsANewTrace) {
  sandbank::testing::EchoReply a, b;
  for (auto* r : {&a, &b}) {
    grpc::ClientContext ctx;
    sandbank::testing::EchoRequest req;
    auto s = sandbank::testing::Echo::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(ports_["back"]),
                                                                   grpc::InsecureChannelCredentials()))
                 ->Echo(&ctx, req, r);
    ASSERT_TRUE(s.ok());
  }
  EXPECT_EQ(a.trace_id().size(), 32u);
  EXPECT_NE(a.trace_id(), b.trace_id());
}

TEST_F(KitProcessTest, ServerReflectionIsOn) {
  // The reflection service answers on the same port (generic tools rely on it).
  auto ch = makeChannel("127.0.0.1:" + std::to_string(ports_["back"]));
  grpc::GenericStub generic(ch);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::CompletionQueue cq;
  auto call = generic.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  void* tag;
  bool ok = false;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_TRUE(ok);
  // list_services = "*" is field 7 (string): tag 0x3a, length 1, '*'.
  std::string msg = "\x3a\x01*";
  grpc::Slice slice(msg);
  grpc::ByteBuffer buf(&slice, 1);
  call->Write(buf, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  grpc::ByteBuffer resp;
  call->Read(&resp, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  ASSERT_TRUE(ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(resp.Dump(&slices).ok());
  std::string body;
  for (const auto& s : slices) body.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(body, HasSubstr("sandbank.testing.Echo"));
  EXPECT_THAT(body, HasSubstr("grpc.health.v1.Health"));
  ctx.TryCancel();
  call->Finish(nullptr, reinterpret_cast<void*>(4));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace sandbank::kit
