// The control port admits only callers with the run's token: the Control API and the Bus
// and Store services served beside it (for inspection and faults) refuse a call with no
// token, another scheme or a wrong token before the method runs, and the run-state file
// that holds the token is readable by its owner only. A Simulator is created (no service
// is started) and called over real gRPC on 127.0.0.1.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <grpcpp/grpcpp.h>

#include "sandbank/bus.grpc.pb.h"
#include "sandbank/bus/broker.h"
#include "sandbank/control.grpc.pb.h"
#include "sandbank/control/run_state.h"
#include "sandbank/control/simulator.h"
#include "sandbank/store.grpc.pb.h"

namespace sandbank::control {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class ControlAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sandbank-control-auth-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "bank.yaml") << "services:\n  echo: {command: echo-service}\n";
    SimulatorOptions o;
    o.manifest_path = (dir_ / "bank.yaml").string();
    o.state_file = (dir_ / "state/run.json").string();
    o.bin_dir = SANDBANK_BIN_DIR;
    auto sim = Simulator::create(o);
    ASSERT_TRUE(sim.ok()) << sim.status().toString();
    sim_ = std::move(*sim);
    auto state = readRunState(o.state_file);
    ASSERT_TRUE(state.ok()) << state.status().toString();
    state_ = *state;
    channel_ = grpc::CreateChannel(state_.address, grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    sim_.reset();
    fs::remove_all(dir_);
  }

  // A context carrying `authorization` (none when empty) with a bounded deadline.
  static void prepare(grpc::ClientContext& ctx, const std::string& authorization) {
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  }

  grpc::Status listServices(const std::string& authorization) {
    grpc::ClientContext ctx;
    prepare(ctx, authorization);
    ListServicesRequest req;
    ListServicesResponse resp;
    return Control::NewStub(channel_)->ListServices(&ctx, req, &resp);
  }
  grpc::Status describeTopics(const std::string& authorization, bus::DescribeTopicsResponse* resp) {
    grpc::ClientContext ctx;
    prepare(ctx, authorization);
    bus::DescribeTopicsRequest req;
    return bus::Bus::NewStub(channel_)->DescribeTopics(&ctx, req, resp);
  }
  grpc::Status createTopic(const std::string& authorization, const std::string& name) {
    grpc::ClientContext ctx;
    prepare(ctx, authorization);
    bus::CreateTopicRequest req;
    req.set_name(name);
    req.set_partitions(1);
    bus::Empty resp;
    return bus::Bus::NewStub(channel_)->CreateTopic(&ctx, req, &resp);
  }
  grpc::Status nodeStats(const std::string& authorization, store::NodeStatsResponse* resp) {
    grpc::ClientContext ctx;
    prepare(ctx, authorization);
    store::Empty req;
    return store::Store::NewStub(channel_)->GetNodeStats(&ctx, req, resp);
  }
  grpc::Status nodeDown(const std::string& authorization) {
    grpc::ClientContext ctx;
    prepare(ctx, authorization);
    store::NodeRequest req;
    req.set_node(1);
    store::Empty resp;
    return store::Store::NewStub(channel_)->NodeDown(&ctx, req, &resp);
  }

  std::string bearer() const { return "Bearer " + state_.token; }

  fs::path dir_;
  std::unique_ptr<Simulator> sim_;
  RunState state_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ControlAuthTest, EveryServiceOnTheControlPortRefusesACallWithoutTheToken) {
  const std::string wrong_token(state_.token.size(), '0');
  for (const std::string& credential :
       {std::string(), "Bearer " + wrong_token, "Basic " + state_.token, state_.token, std::string("Bearer ")}) {
    SCOPED_TRACE("authorization: '" + credential + "'");
    grpc::Status control = listServices(credential);
    EXPECT_EQ(control.error_code(), grpc::StatusCode::UNAUTHENTICATED) << control.error_message();
    EXPECT_NE(control.error_message().find("token"), std::string::npos) << control.error_message();
    bus::DescribeTopicsResponse topics;
    EXPECT_EQ(describeTopics(credential, &topics).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    store::NodeStatsResponse stats;
    EXPECT_EQ(nodeStats(credential, &stats).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST_F(ControlAuthTest, TheRunsTokenIsAdmittedOnEveryServiceOfTheControlPort) {
  grpc::Status control = listServices(bearer());
  EXPECT_TRUE(control.ok()) << control.error_message();
  bus::DescribeTopicsResponse topics;
  grpc::Status b = describeTopics(bearer(), &topics);
  EXPECT_TRUE(b.ok()) << b.error_message();
  store::NodeStatsResponse stats;
  grpc::Status s = nodeStats(bearer(), &stats);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(stats.nodes_size(), 0);
}

TEST_F(ControlAuthTest, ARefusedCallChangesNothing) {
  ASSERT_EQ(createTopic("", "intruder").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_EQ(nodeDown("Bearer nope").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  for (const auto& t : sim_->bus().describeTopics()) EXPECT_NE(t.name, "intruder");
  store::NodeStatsResponse stats;
  ASSERT_TRUE(nodeStats(bearer(), &stats).ok());
  // The same calls with the token do take effect, so the refusals above were the token's.
  ASSERT_TRUE(createTopic(bearer(), "invited").ok());
  bool found = false;
  for (const auto& t : sim_->bus().describeTopics()) found = found || t.name == "invited";
  EXPECT_TRUE(found);
}

TEST_F(ControlAuthTest, TheRunStateFileNamesTheMeshSoAnAttachedClientCanCallServices) {
  EXPECT_FALSE(state_.mesh.empty());
  EXPECT_EQ(state_.mesh, sim_->meshAddress());
}

TEST_F(ControlAuthTest, TheRunStateFileIsReadableByItsOwnerOnlyInAPrivateFolder) {
  struct stat file {};
  ASSERT_EQ(::stat((dir_ / "state/run.json").c_str(), &file), 0);
  EXPECT_EQ(file.st_mode & 0777, 0600u);
  EXPECT_EQ(file.st_uid, ::getuid());
  struct stat folder {};
  ASSERT_EQ(::stat((dir_ / "state").c_str(), &folder), 0);
  EXPECT_EQ(folder.st_mode & 0777, 0700u);
}

TEST(RunStateTest, AnExistingFolderOpenToOthersIsMadePrivateBeforeTheTokenIsWritten) {
  fs::path dir = fs::temp_directory_path() / ("sandbank-run-state-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "open");
  ASSERT_EQ(::chmod((dir / "open").c_str(), 0777), 0);
  RunState s{"127.0.0.1:1", "secret", static_cast<int>(::getpid()), "bank.yaml", "now", "127.0.0.1:2"};
  ASSERT_TRUE(writeRunState((dir / "open/run.json").string(), s).ok());
  struct stat folder {};
  ASSERT_EQ(::stat((dir / "open").c_str(), &folder), 0);
  EXPECT_EQ(folder.st_mode & 0777, 0700u);
  struct stat file {};
  ASSERT_EQ(::stat((dir / "open/run.json").c_str(), &file), 0);
  EXPECT_EQ(file.st_mode & 0777, 0600u);
  auto back = readRunState((dir / "open/run.json").string());
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(back->token, "secret");
  fs::remove_all(dir);
}

TEST(RunStateTest, APathWhoseFolderIsAFileIsRefusedWithAReason) {
  fs::path dir = fs::temp_directory_path() / ("sandbank-run-state-file-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "plain") << "x";
  RunState s{"127.0.0.1:1", "secret", static_cast<int>(::getpid()), "bank.yaml", "now", "127.0.0.1:2"};
  Status st = writeRunState((dir / "plain/run.json").string(), s);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(st.message().empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sandbank::control
