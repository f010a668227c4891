// `sandbank run --attach` as CI runs it against a bank started on its own: `sandbank up`
// with the reference bank (bank.yaml) in the background, then scenarios of the library -
// a card payment, a fault rule, store nodes down, a stalled bus group - through the
// control port, the invariant checker clean after each; and the refusals when nothing
// runs or a recording is asked of an attached run. Every process is killed at the end.
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
const std::string kSource = SANDBANK_SOURCE_DIR;

// Polls `pred` until it holds or `timeout` passes: the bank is another process, which we
// cannot be notified by.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CommandResult {
  int exit_code;
  std::string output;
};

class AttachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sandbank-attach-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    state_ = (dir_ / "state").string();
  }
  void TearDown() override {
    if (up_pid_ > 0) {
      // Its own process group: the simulator and every service it started.
      ::kill(-up_pid_, SIGKILL);
      ::kill(up_pid_, SIGKILL);
      ::waitpid(up_pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  CommandResult run(const std::string& args) {
    std::string cmd = "cd " + kSource + " && SANDBANK_STATE_DIR=" + state_ + " " + kSandbank + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
  }

  void startBank() {
    out_path_ = (dir_ / "up.out").string();
    up_pid_ = ::fork();
    if (up_pid_ == 0) {
      ::setpgid(0, 0);
      ::setenv("SANDBANK_STATE_DIR", state_.c_str(), 1);
      FILE* out = std::freopen(out_path_.c_str(), "w", stdout);
      (void)out;
      ::dup2(STDOUT_FILENO, STDERR_FILENO);
      const std::string manifest = kSource + "/bank.yaml";
      ::execl(kSandbank.c_str(), "sandbank", "up", "-f", manifest.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    ASSERT_TRUE(eventually([&] { return readFile(out_path_).find("ready in") != std::string::npos; }, 60s))
        << readFile(out_path_);
  }

  int stopBank() {
    EXPECT_EQ(run("down").exit_code, 0);
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

TEST_F(AttachTest, LibraryScenariosPassAgainstABankStartedWithSandbankUp) {
  startBank();
  // A card payment (rpc, http, clock), a fault rule (faults.add), store nodes down
  // (store.nodeDown, replicas, hints), a node joined without streaming and then rebuilt
  // (store.addNode, store.rebuild, repair) and a stalled consumer group (bus.stallGroup, lag).
  CommandResult r = run(
      "run --attach scenarios/card_payment.js scenarios/fraud_timeout.js scenarios/store_replicas.js "
      "scenarios/consumer_lag.js --filter 'authorise, clear and settle|fraud timeout|replicas down|replica down|"
      "July 2019|consumer lag' --junit " + (dir_ / "junit.xml").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("attached to the bank of " + state_ + "/run.json"));
  EXPECT_THAT(r.output, HasSubstr("6 passed, 0 failed")) << r.output;
  EXPECT_THAT(readFile((dir_ / "junit.xml").string()), HasSubstr("tests=\"6\""));

  // The bank is still the one `sandbank up` runs, and the scenarios left no fault behind.
  CommandResult faults = run("fault ls");
  EXPECT_EQ(faults.exit_code, 0) << faults.output;
  EXPECT_THAT(faults.output, ::testing::Not(HasSubstr("fraud")));
  EXPECT_EQ(run("check").exit_code, 0);
  EXPECT_EQ(stopBank(), 0);
}

TEST_F(AttachTest, AttachWithoutARunningBankSaysHowToStartOne) {
  CommandResult r = run("run --attach scenarios/card_payment.js");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cannot attach to the bank of " + state_ + "/run.json"));
  EXPECT_THAT(r.output, HasSubstr("sandbank up"));
  CommandResult named = run("run --attach=" + (dir_ / "nowhere.json").string() + " scenarios/card_payment.js");
  EXPECT_EQ(named.exit_code, 1) << named.output;
  EXPECT_THAT(named.output, HasSubstr((dir_ / "nowhere.json").string()));
}

TEST_F(AttachTest, AttachedRunRefusesToRecordAndHelpNamesAttach) {
  CommandResult r = run("run --attach --record " + (dir_ / "x.db").string() + " scenarios/card_payment.js");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("sandbank up --record"));
  CommandResult help = run("run --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, HasSubstr("--attach"));
}

}  // namespace
