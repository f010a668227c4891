// What InstanceStatus::restarts counts: restarts the restart policy made after a process
// ended on its own (a crash), never a deliberate stop/start or restartService (a scenario
// reset, the panel's or CLI's Restart). A fake launcher stands in for real processes and
// delivers exits on its own thread, as the real launcher's I/O thread does.
// Thread-safety: FakeLauncher's state is guarded by its mutex; the test body is one thread.
#include <signal.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "sandbank/supervisor/supervisor.h"

namespace sandbank::supervisor {
namespace {

using namespace std::chrono_literals;

// Spawns nothing; each "process" exits when signalled (SIGTERM: exit 0, as the kit's
// graceful shutdown does; SIGKILL: killed) or when the test crashes it.
class FakeLauncher : public ProcessLauncher {
 public:
  FakeLauncher() : io_([this] { run(); }) {}
  ~FakeLauncher() override {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    io_.join();
  }

  Result<std::unique_ptr<ProcessHandle>> spawn(const ProcessSpec&, ProcessCallbacks callbacks) override {
    std::lock_guard lock(mu_);
    const int pid = next_pid_++;
    live_[pid] = std::move(callbacks);
    return std::unique_ptr<ProcessHandle>(new Handle(*this, pid));
  }

  // The process `pid` exits by itself with `code`, as a crash would.
  void crash(int pid, int code) { exit(pid, ExitInfo{code, 0}); }

 private:
  class Handle : public ProcessHandle {
   public:
    Handle(FakeLauncher& l, int pid) : launcher_(l), pid_(pid) {}
    int pid() const override { return pid_; }
    Status signal(int sig) override {
      if (sig == SIGTERM) launcher_.exit(pid_, ExitInfo{0, 0});
      else if (sig == SIGKILL) launcher_.exit(pid_, ExitInfo{0, SIGKILL});
      return OkStatus();
    }

   private:
    FakeLauncher& launcher_;
    const int pid_;
  };

  // Queues the exit for the I/O thread: the supervisor may hold its lock while signalling.
  void exit(int pid, ExitInfo info) {
    {
      std::lock_guard lock(mu_);
      auto it = live_.find(pid);
      if (it == live_.end()) return;  // already exited: signalling it is a no-op
      exits_.emplace_back(std::move(it->second.on_exit), info);
      live_.erase(it);
    }
    cv_.notify_all();
  }

  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return quit_ || !exits_.empty(); });
      if (exits_.empty()) return;  // quit_
      auto [on_exit, info] = std::move(exits_.front());
      exits_.pop_front();
      lock.unlock();
      on_exit(info);
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int next_pid_ = 1000;                                                   // guarded by mu_
  std::map<int, ProcessCallbacks> live_;                                  // guarded by mu_
  std::deque<std::pair<std::function<void(ExitInfo)>, ExitInfo>> exits_;  // guarded by mu_
  bool quit_ = false;                                                     // guarded by mu_
  std::thread io_;
};

class AlwaysHealthy : public HealthProber {
 public:
  Status probe(HealthType, int, std::chrono::nanoseconds) override { return OkStatus(); }
};

class RestartCountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sup_ = std::make_unique<Supervisor>(launcher_, prober_, SupervisorOptions{});
    // No health check: an instance is "running" as soon as it is spawned.
    auto m = parseManifest(
        "services:\n"
        "  s: {command: /bin/sh, health: none, restart: {policy: on-failure, backoff: 1ms, max_backoff: 1ms}}\n",
        "test.yaml", "/tmp");
    ASSERT_TRUE(m.ok()) << m.status().toString();
    ASSERT_TRUE(sup_->up(*m).ok());
    ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
  }

  InstanceStatus instance() {
    auto all = sup_->snapshot();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? InstanceStatus{} : all.front();
  }

  // Waits until a process other than `old_pid` is running.
  bool runningAgain(int old_pid) {
    return sup_->waitFor(
        [&](const std::vector<InstanceStatus>& all) {
          return all.size() == 1 && all[0].state == InstanceState::kRunning && all[0].pid > 0 && all[0].pid != old_pid;
        },
        10s);
  }

  FakeLauncher launcher_;  // outlives the supervisor, which stops its processes on destruction
  AlwaysHealthy prober_;
  std::unique_ptr<Supervisor> sup_;
};

TEST_F(RestartCountTest, RestartServiceDoesNotCountAsARestart) {
  const int before = instance().pid;
  ASSERT_TRUE(sup_->restartService("s").ok());
  ASSERT_TRUE(runningAgain(before));
  EXPECT_EQ(instance().restarts, 0);
}

TEST_F(RestartCountTest, StopThenStartAsAResetDoesNotCountAsARestart) {
  for (int reset = 0; reset < 2; ++reset) {
    const int before = instance().pid;
    ASSERT_TRUE(sup_->stopService("s").ok());
    ASSERT_TRUE(sup_->waitFor([](const auto& all) { return all.size() == 1 && all[0].state == InstanceState::kStopped; }, 10s));
    ASSERT_TRUE(sup_->startService("s").ok());
    ASSERT_TRUE(runningAgain(before));
  }
  EXPECT_EQ(instance().restarts, 0);
}

TEST_F(RestartCountTest, ACrashIsRestartedByThePolicyAndCounted) {
  const int before = instance().pid;
  launcher_.crash(before, 3);
  ASSERT_TRUE(runningAgain(before));
  EXPECT_EQ(instance().restarts, 1);
  EXPECT_EQ(instance().last_exit, "exit 3");
  // A deliberate restart afterwards keeps the crash count as it was.
  const int crashed_once = instance().pid;
  ASSERT_TRUE(sup_->restartService("s").ok());
  ASSERT_TRUE(runningAgain(crashed_once));
  EXPECT_EQ(instance().restarts, 1);
}

TEST_F(RestartCountTest, SigkillFromKillServiceCountsAsACrash) {
  const int before = instance().pid;
  ASSERT_TRUE(sup_->killService("s", SIGKILL).ok());
  ASSERT_TRUE(runningAgain(before));
  EXPECT_EQ(instance().restarts, 1);
  EXPECT_EQ(instance().last_exit, "killed by SIGKILL");
}

}  // namespace
}  // namespace sandbank::supervisor
