// JSON decoding on demand: from the build's descriptor set, and for a user's service
// known only through server reflection (acme.greeter, compiled into this test only).
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <gtest/gtest.h>

#include "acme_greeter.grpc.pb.h"
#include "mesh_fixture.h"

namespace sandbank::mesh::testing {
namespace {

using namespace std::chrono_literals;

class Greeter final : public acme::greeter::Greeter::Service {
  grpc::Status Greet(grpc::ServerContext*, const acme::greeter::GreetRequest* request,
                     acme::greeter::GreetReply* reply) override {
    reply->set_greeting("hello " + request->name());
    return grpc::Status::OK;
  }
};

// A user's service with server reflection on, as `sandbank` expects of them.
class GreeterServer {
 public:
  GreeterServer() {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~GreeterServer() { server_->Shutdown(std::chrono::system_clock::now()); }
  const std::string& address() const { return address_; }

 private:
  Greeter service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

std::unique_ptr<PayloadDecoder> loadDecoder() {
  auto d = PayloadDecoder::fromDescriptorSetFile(descriptorSetPath());
  EXPECT_TRUE(d.ok()) << d.status().toString();
  return d.ok() ? std::move(*d) : nullptr;
}

TEST(PayloadDecoder, DecodesKnownMessagesFromTheDescriptorSet) {
  auto decoder = loadDecoder();
  ASSERT_TRUE(decoder);
  sandbank::testing::EchoRequest request;
  request.set_text("hi");
  request.set_payload("\x01\x02");
  auto json = decoder->messageToJson("sandbank.testing.EchoRequest", request.SerializeAsString());
  ASSERT_TRUE(json.ok()) << json.status().toString();
  EXPECT_EQ(*json, R"({"text":"hi","payload":"AQI="})");

  auto by_method = decoder->requestToJson("/sandbank.testing.Echo/Echo", request.SerializeAsString());
  ASSERT_TRUE(by_method.ok()) << by_method.status().toString();
  EXPECT_EQ(*by_method, *json);

  sandbank::testing::EchoReply reply;
  reply.set_instance("echo-1");
  auto response = decoder->responseToJson("sandbank.testing.Echo/Echo", reply.SerializeAsString());
  ASSERT_TRUE(response.ok()) << response.status().toString();
  EXPECT_EQ(*response, R"({"instance":"echo-1"})");

  EXPECT_EQ(*decoder->requestTypeOf("/sandbank.testing.Echo/ClientStream"), "sandbank.testing.EchoRequest");
  EXPECT_EQ(*decoder->responseTypeOf("/sandbank.testing.Echo/ServerStream"), "sandbank.testing.EchoReply");
}

TEST(PayloadDecoder, ReportsUnknownTypesAndBadBytes) {
  auto decoder = loadDecoder();
  ASSERT_TRUE(decoder);
  EXPECT_EQ(decoder->messageToJson("no.such.Type", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(decoder->requestTypeOf("/no.such.Svc/Call").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(decoder->requestTypeOf("not-a-method").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder->messageToJson("sandbank.testing.EchoRequest", "\xff\xff\xff").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(PayloadDecoder, MissingDescriptorSetFileIsNotFound) {
  auto d = PayloadDecoder::fromDescriptorSetFile("/nonexistent/sandbank.desc");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kNotFound);
}

TEST(PayloadDecoder, DecodesAUserServiceKnownOnlyThroughReflection) {
  GreeterServer greeter;
  InMemoryServiceDirectory directory;
  directory.addEndpoint("greeter", greeter.address());
  auto decoder = loadDecoder();
  ASSERT_TRUE(decoder);
  decoder->setDirectory(&directory);

  acme::greeter::GreetRequest request;
  request.set_name("ada");
  request.set_times(3);
  // Not in the descriptor set, and no service to ask: unknown.
  EXPECT_EQ(decoder->requestToJson("/acme.greeter.Greeter/Greet", request.SerializeAsString()).status().code(),
            StatusCode::kNotFound);
  // Asking the service by reflection teaches the decoder the method and its types.
  auto json = decoder->requestToJson("/acme.greeter.Greeter/Greet", request.SerializeAsString(), "greeter");
  ASSERT_TRUE(json.ok()) << json.status().toString();
  EXPECT_EQ(*json, R"({"name":"ada","times":3})");
  // Cached: now known without naming the service.
  EXPECT_EQ(*decoder->requestTypeOf("acme.greeter.Greeter/Greet"), "acme.greeter.GreetRequest");
  acme::greeter::GreetReply reply;
  reply.set_greeting("hello ada");
  auto reply_json = decoder->messageToJson("acme.greeter.GreetReply", reply.SerializeAsString());
  ASSERT_TRUE(reply_json.ok()) << reply_json.status().toString();
  EXPECT_EQ(*reply_json, R"({"greeting":"hello ada"})");
}

TEST(PayloadDecoder, ReflectionOnAnUnreachableServerIsUnavailable) {
  auto decoder = PayloadDecoder::empty();
  Status st = decoder->loadFromReflection("127.0.0.1:1", "acme.greeter.GreetRequest");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.toString();
  EXPECT_NE(st.message().find("127.0.0.1:1"), std::string::npos) << st.toString();
}

TEST(PayloadDecoder, ReflectionOfAnUnknownSymbolIsNotFound) {
  GreeterServer greeter;
  auto decoder = PayloadDecoder::empty();
  Status st = decoder->loadFromReflection(greeter.address(), "acme.greeter.NoSuchThing");
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.toString();
}

TEST(PayloadDecoder, MeshEventOfAUserServiceDecodesThroughReflection) {
  GreeterServer greeter;
  InMemoryServiceDirectory directory;
  directory.addEndpoint("greeter", greeter.address());
  WaitingFlowSink sink;
  auto decoder = loadDecoder();
  ASSERT_TRUE(decoder);
  decoder->setDirectory(&directory);
  MeshOptions options;
  options.directory = &directory;
  options.sink = &sink;
  options.decoder = decoder.get();
  auto mesh = Mesh::start(options);
  ASSERT_TRUE(mesh.ok()) << mesh.status().toString();

  auto stub = acme::greeter::Greeter::NewStub(meshChannel(**mesh, "greeter"));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  acme::greeter::GreetRequest request;
  request.set_name("grace");
  acme::greeter::GreetReply reply;
  ASSERT_TRUE(stub->Greet(&ctx, request, &reply).ok());
  EXPECT_EQ(reply.greeting(), "hello grace");

  auto events = sink.waitFor(flow::FlowKind::kRpc, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].payload_type.empty());  // unknown when the call went through
  auto json = decoder->eventPayloadToJson(events[0]);
  ASSERT_TRUE(json.ok()) << json.status().toString();
  EXPECT_EQ(*json, R"({"name":"grace"})");
}

}  // namespace
}  // namespace sandbank::mesh::testing
