// `sandbank` as a user runs it: up in the foreground, the client subcommands against it,
// clean shutdown, bad input, and no orphans when the simulator is killed with SIGKILL.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kSandbank = std::string(SANDBANK_BIN_DIR) + "/sandbank";

// Polls `pred` until it holds or `timeout` passes. For conditions in other processes,
// which we cannot be notified of.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True when the process no longer runs: gone, or a zombie waiting for a reaper.
bool processGone(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return true;
  auto close = content.rfind(')');
  return close != std::string::npos && close + 2 < content.size() && content[close + 2] == 'Z';
}

struct CommandResult {
  int exit_code;
  std::string output;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sandbank-cli-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    state_ = (dir_ / "state").string();
  }
  void TearDown() override {
    if (up_pid_ > 0) {
      ::kill(up_pid_, SIGKILL);
      ::waitpid(up_pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  std::string writeManifest(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  CommandResult run(const std::string& args) {
    std::string cmd = "SANDBANK_STATE_DIR=" + state_ + " " + kSandbank + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
  }

  // Starts `sandbank up -f manifest` in the background and waits until it says ready.
  void startUp(const std::string& manifest) {
    out_path_ = (dir_ / "up.out").string();
    up_pid_ = ::fork();
    if (up_pid_ == 0) {
      ::setenv("SANDBANK_STATE_DIR", state_.c_str(), 1);
      FILE* out = std::freopen(out_path_.c_str(), "w", stdout);
      (void)out;
      ::dup2(STDOUT_FILENO, STDERR_FILENO);
      ::execl(kSandbank.c_str(), "sandbank", "up", "-f", manifest.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    ASSERT_TRUE(eventually([&] { return readFile(out_path_).find("ready in") != std::string::npos; }))
        << readFile(out_path_);
  }

  // pid of every instance, from `sandbank ps --json`.
  std::vector<int> instancePids() {
    std::vector<int> pids;
    std::istringstream lines(run("ps --json").output);
    std::string line;
    while (std::getline(lines, line)) {
      auto pos = line.find("\"pid\":");
      if (pos != std::string::npos) pids.push_back(std::atoi(line.c_str() + pos + 6));
    }
    return pids;
  }

  int waitUpExit() {
    int status = 0;
    ::waitpid(up_pid_, &status, 0);
    up_pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  fs::path dir_;
  std::string state_;
  std::string out_path_;
  int up_pid_ = -1;
};

const char* kTwoServices = R"(
services:
  alpha: {command: echo-service, env: {ECHO_LOG_LINES: '3'}, restart: {policy: on-failure, backoff: 10ms}}
  beta: {command: echo-service, replicas: 2, depends_on: [alpha]}
)";

TEST_F(CliTest, PsLogsKillStopAndDownAgainstARunningSimulator) {
  startUp(writeManifest("bank.yaml", kTwoServices));

  CommandResult ps = run("ps");
  EXPECT_EQ(ps.exit_code, 0);
  EXPECT_THAT(ps.output, HasSubstr("alpha-1"));
  EXPECT_THAT(ps.output, HasSubstr("beta-2"));
  EXPECT_THAT(ps.output, HasSubstr("healthy"));
  ASSERT_EQ(instancePids().size(), 3u);

  CommandResult logs = run("logs alpha");
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_THAT(logs.output, HasSubstr("\"msg\":\"line 3\""));
  EXPECT_THAT(logs.output, HasSubstr("echo stderr line"));
  EXPECT_THAT(run("logs alpha --tail 1").output, ::testing::Not(HasSubstr("line 1")));

  int old = instancePids()[0];
  EXPECT_EQ(run("kill alpha").exit_code, 0);
  ASSERT_TRUE(eventually([&] {
    std::string out = run("ps alpha --json").output;
    return out.find("\"restarts\":1") != std::string::npos && out.find("\"state\":\"healthy\"") != std::string::npos;
  })) << run("ps").output;
  EXPECT_TRUE(processGone(old));

  EXPECT_EQ(run("stop beta").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return run("ps beta").output.find("stopped (exit 0)") != std::string::npos; }));

  auto pids = instancePids();
  CommandResult down = run("down");
  EXPECT_EQ(down.exit_code, 0) << down.output;
  EXPECT_EQ(waitUpExit(), 0);
  for (int pid : pids)
    if (pid > 0) {
      EXPECT_TRUE(processGone(pid)) << pid;
    }
  EXPECT_FALSE(fs::exists(state_ + "/run.json"));
}

TEST_F(CliTest, LogsFollowShowsLinesWrittenAfterItStarted) {
  startUp(writeManifest("bank.yaml", kTwoServices));
  std::string out = (dir_ / "follow.out").string();
  int follower = ::fork();
  if (follower == 0) {
    ::setenv("SANDBANK_STATE_DIR", state_.c_str(), 1);
    FILE* f = std::freopen(out.c_str(), "w", stdout);
    (void)f;
    ::execl(kSandbank.c_str(), "sandbank", "logs", "alpha", "-f", static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  // The backlog arrives first; then a restart of alpha writes new lines.
  ASSERT_TRUE(eventually([&] { return readFile(out).find("line 3") != std::string::npos; })) << readFile(out);
  EXPECT_EQ(run("restart alpha").exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    std::string text = readFile(out);
    return text.find("shutting down") != std::string::npos &&
           text.rfind("\"msg\":\"listening\"") > text.find("shutting down");
  })) << readFile(out);
  ::kill(follower, SIGTERM);
  ::waitpid(follower, nullptr, 0);
}

TEST_F(CliTest, NoOrphansWhenTheSimulatorIsKilledWithSigkill) {
  startUp(writeManifest("bank.yaml", kTwoServices));
  auto pids = instancePids();
  ASSERT_EQ(pids.size(), 3u);
  for (int pid : pids) ASSERT_FALSE(processGone(pid));
  ASSERT_EQ(::kill(up_pid_, SIGKILL), 0);
  EXPECT_EQ(waitUpExit(), 128 + SIGKILL);
  for (int pid : pids) EXPECT_TRUE(eventually([&] { return processGone(pid); }, 5s)) << "orphan " << pid;
}

TEST_F(CliTest, NoGrandchildOutlivesASimulatorKilledWithSigkill) {
  // The service forks a child of its own; PDEATHSIG does not reach that one.
  startUp(writeManifest("bank.yaml", "services:\n  forker: {command: echo-service, env: {ECHO_CHILD: '1'}}\n"));
  int grandchild = 0;
  ASSERT_TRUE(eventually([&] {
    std::string logs = run("logs forker").output;
    auto pos = logs.find("\"child_pid\":\"");
    if (pos == std::string::npos) return false;
    grandchild = std::atoi(logs.c_str() + pos + 13);
    return grandchild > 0;
  }));
  ASSERT_FALSE(processGone(grandchild));
  ASSERT_EQ(::kill(up_pid_, SIGKILL), 0);
  EXPECT_EQ(waitUpExit(), 128 + SIGKILL);
  EXPECT_TRUE(eventually([&] { return processGone(grandchild); }, 5s)) << "orphaned grandchild " << grandchild;
}

TEST_F(CliTest, SigintStopsEverythingCleanly) {
  startUp(writeManifest("bank.yaml", kTwoServices));
  auto pids = instancePids();
  ASSERT_EQ(::kill(up_pid_, SIGINT), 0);
  EXPECT_EQ(waitUpExit(), 0);
  for (int pid : pids) EXPECT_TRUE(processGone(pid)) << pid;
  std::string out = readFile(out_path_);
  EXPECT_THAT(out, HasSubstr("alpha-1  stopped  exit 0"));
  // Reverse dependency order: beta stops before alpha.
  EXPECT_LT(out.find("beta-1  stopped"), out.find("alpha-1  stopped"));
}

TEST_F(CliTest, BadManifestStartsNothingAndNamesTheLine) {
  std::string path = writeManifest("bad.yaml", "services:\n  alpha:\n    comand: echo-service\n");
  CommandResult r = run("up -f " + path + " --until-healthy");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("bad.yaml:3: unknown key 'comand' in service 'alpha' (did you mean 'command'?)"));
  EXPECT_FALSE(fs::exists(state_ + "/run.json"));
}

TEST_F(CliTest, UntilHealthyReportsAFailingServiceAndExitsNonZero) {
  std::string path = writeManifest("crash.yaml",
                                   "services:\n  c: {command: echo-service, env: {ECHO_UNHEALTHY_FOR: 1h, ECHO_EXIT_AFTER: 1ms, ECHO_EXIT_CODE: '4'}}\n");
  CommandResult r = run("up -f " + path + " --until-healthy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("c-1 failed: exit 4"));
}

TEST_F(CliTest, ClientCommandsExplainWhenNothingRuns) {
  CommandResult r = run("ps");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("no running simulator"));
}

TEST_F(CliTest, UnknownServiceAndWrongTokenAreRejectedWithReasons) {
  startUp(writeManifest("bank.yaml", kTwoServices));
  CommandResult r = run("stop gamma");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("no service 'gamma'; running: alpha, beta"));
  EXPECT_THAT(run("kill alpha -s BOGUS").output, HasSubstr("unknown signal 'BOGUS'"));

  std::string run_state = readFile(state_ + "/run.json");
  auto pos = run_state.find("\"token\": \"");
  ASSERT_NE(pos, std::string::npos);
  run_state[pos + 10] = run_state[pos + 10] == 'a' ? 'b' : 'a';
  std::ofstream(state_ + "/run.json") << run_state;
  CommandResult bad = run("ps");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.output, HasSubstr("wrong token"));
}

TEST_F(CliTest, RunStateFileIsReadableOnlyByItsOwner) {
  startUp(writeManifest("bank.yaml", kTwoServices));
  auto perms = fs::status(state_ + "/run.json").permissions();
  EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
}

TEST_F(CliTest, ClockAdvancesForTheWholeRun) {
  startUp(writeManifest("bank.yaml", kTwoServices));
  CommandResult before = run("clock");
  EXPECT_EQ(before.exit_code, 0);
  EXPECT_THAT(before.output, HasSubstr("0 s ahead"));
  CommandResult after = run("clock --advance 7d");
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_THAT(after.output, HasSubstr("604800 s ahead"));
  CommandResult bad = run("clock --advance yesterday");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("advance: bad duration 'yesterday'"));
}

TEST_F(CliTest, FaultRulesAreAddedListedAndRemoved) {
  startUp(writeManifest("bank.yaml", kTwoServices));
  EXPECT_EQ(run("fault add slow-beta --action delay --destination beta --delay 250ms").exit_code, 0);
  CommandResult ls = run("fault ls");
  EXPECT_THAT(ls.output, HasSubstr("slow-beta"));
  EXPECT_THAT(ls.output, HasSubstr("destination=beta"));
  CommandResult bad = run("fault add oops --action explode");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("unknown action 'explode'"));
  EXPECT_EQ(run("fault add lossy --action fail --topic payments").exit_code, 0);
  EXPECT_THAT(run("fault ls").output, HasSubstr("topic=payments"));
  EXPECT_EQ(run("fault rm slow-beta").exit_code, 0);
  EXPECT_THAT(run("fault ls").output, ::testing::Not(HasSubstr("slow-beta")));
  EXPECT_NE(run("fault rm slow-beta").exit_code, 0);  // already gone, and said so
}

TEST_F(CliTest, HelpWorksOnEverySubcommand) {
  for (std::string sub : {"", "up", "ps", "logs", "start", "stop", "restart", "kill", "down", "flow", "clock",
                          "fault", "fault add"}) {
    CommandResult r = run(sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_THAT(r.output, HasSubstr("Usage")) << sub;
  }
  EXPECT_EQ(run("frobnicate").exit_code, 2);
}

}  // namespace
