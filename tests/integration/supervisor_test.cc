// The supervisor against real processes (the echo fixture): dependency order, health
// gating, restart policies with back-off, log capture, stop escalation and port 0.
// Waits are on supervisor state with generous limits; nothing sleeps to synchronise.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>
#include <mutex>

#include "sandbank/supervisor/supervisor.h"

namespace sandbank::supervisor {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    launcher_ = makeProcessLauncher();
    prober_ = makeHealthProber();
    SupervisorOptions o;
    o.search_dirs = {SANDBANK_BIN_DIR};
    sup_ = std::make_unique<Supervisor>(*launcher_, *prober_, o);
    sup_->subscribeLifecycle([this](const LifecycleEvent& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    });
  }

  void TearDown() override {
    sup_->stopAll();
    if (HasFailure() || std::getenv("SANDBANK_TEST_VERBOSE")) {
      for (const auto& e : events())
        std::cerr << formatTimestamp(e.time).substr(11) << " " << e.instance << " " << e.what << " " << e.detail << "\n";
      for (const auto& l : sup_->logs("", 0)) std::cerr << l.instance << " | " << l.raw << "\n";
    }
  }

  void up(const std::string& yaml) {
    auto m = parseManifest(yaml, "test.yaml", "/tmp");
    ASSERT_TRUE(m.ok()) << m.status().toString();
    ASSERT_TRUE(sup_->up(*m).ok());
  }

  InstanceStatus status(const std::string& instance) {
    for (const auto& s : sup_->snapshot())
      if (s.instance == instance) return s;
    ADD_FAILURE() << "no instance " << instance;
    return {};
  }

  bool waitState(const std::string& instance, InstanceState state, std::chrono::nanoseconds timeout = 10s) {
    return sup_->waitFor(
        [&](const std::vector<InstanceStatus>& all) {
          for (const auto& s : all)
            if (s.instance == instance) return s.state == state;
          return false;
        },
        timeout);
  }

  std::vector<LifecycleEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

  // Index of the first event matching instance and what, or -1.
  int indexOf(const std::string& instance, const std::string& what) {
    auto all = events();
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].instance == instance && all[i].what == what) return static_cast<int>(i);
    return -1;
  }

  std::vector<std::string> details(const std::string& instance, const std::string& what) {
    std::vector<std::string> out;
    for (const auto& e : events())
      if (e.instance == instance && e.what == what) out.push_back(e.detail);
    return out;
  }

  std::unique_ptr<ProcessLauncher> launcher_;
  std::unique_ptr<HealthProber> prober_;
  std::unique_ptr<Supervisor> sup_;
  std::mutex mu_;
  std::vector<LifecycleEvent> events_;  // guarded by mu_
};

TEST_F(SupervisorTest, BringsServicesUpHealthyOnDistinctPortsChosenByTheKernel) {
  up("services:\n  echo: {command: echo-service, replicas: 2}\n");
  ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
  InstanceStatus a = status("echo-1"), b = status("echo-2");
  EXPECT_EQ(a.state, InstanceState::kHealthy);
  EXPECT_GT(a.port, 0);
  EXPECT_GT(b.port, 0);
  EXPECT_NE(a.port, b.port);
  EXPECT_GT(a.pid, 0);
  EXPECT_EQ(a.health, "SERVING");
  EXPECT_EQ(a.http_port, 0);  // nothing announced
}

TEST_F(SupervisorTest, ShowsTheSecondPortAServiceAnnouncesOnItsListeningLine) {
  up("services:\n  edge: {command: echo-service, env: {ECHO_HTTP_PORT: '18443'}}\n");
  ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
  InstanceStatus e = status("edge-1");
  EXPECT_GT(e.port, 0);
  EXPECT_EQ(e.http_port, 18443);
}

TEST_F(SupervisorTest, DependentStartsOnlyAfterItsDependencyIsHealthy) {
  up(R"(
services:
  slow: {command: echo-service, env: {ECHO_UNHEALTHY_FOR: 400ms}}
  user: {command: echo-service, depends_on: [slow]}
)");
  // While slow reports NOT_SERVING, user must still be pending.
  ASSERT_TRUE(sup_->waitFor([](const std::vector<InstanceStatus>& all) {
    return all[0].health.find("NOT_SERVING") != std::string::npos;
  }, 10s));
  EXPECT_EQ(status("user-1").state, InstanceState::kPending);
  EXPECT_THAT(status("user-1").reason, HasSubstr("waiting for slow"));
  ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
  int ready = indexOf("slow-1", "ready"), started = indexOf("user-1", "started");
  ASSERT_GE(ready, 0);
  ASSERT_GE(started, 0);
  EXPECT_LT(ready, started);
}

TEST_F(SupervisorTest, StartedConditionDoesNotWaitForHealth) {
  up(R"(
services:
  slow: {command: echo-service, env: {ECHO_UNHEALTHY_FOR: 2s}}
  user: {command: echo-service, depends_on: {slow: started}}
)");
  ASSERT_TRUE(waitState("user-1", InstanceState::kHealthy));
  EXPECT_EQ(status("slow-1").state, InstanceState::kStarting);
}

TEST_F(SupervisorTest, ChildrenGetTheAddressOfTheirDependencies) {
  up(R"(
services:
  ledger: {command: echo-service}
  edge: {command: sh, args: ["-c", "echo ledger-at=$SANDBANK_ADDR_LEDGER; sleep 30"], health: none, depends_on: [ledger]}
)");
  ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
  int port = status("ledger-1").port;
  ASSERT_TRUE(sup_->waitFor([&](const auto&) {
    for (const auto& l : sup_->logs("edge", 0))
      if (l.message == "ledger-at=127.0.0.1:" + std::to_string(port)) return true;
    return false;
  }, 5s));
}

TEST_F(SupervisorTest, RestartPolicyNoLeavesACrashedInstanceDown) {
  up("services:\n  c: {command: echo-service, restart: 'no', env: {ECHO_EXIT_AFTER: 1ms, ECHO_EXIT_CODE: '3'}}\n");
  ASSERT_TRUE(waitState("c-1", InstanceState::kFailed));
  EXPECT_EQ(status("c-1").last_exit, "exit 3");
  EXPECT_EQ(status("c-1").restarts, 0);
  EXPECT_TRUE(details("c-1", "restarting").empty());
}

TEST_F(SupervisorTest, OnFailureDoesNotRestartACleanExit) {
  up("services:\n  c: {command: echo-service, restart: on-failure, env: {ECHO_EXIT_AFTER: 1ms, ECHO_EXIT_CODE: '0'}}\n");
  ASSERT_TRUE(waitState("c-1", InstanceState::kExited));
  EXPECT_EQ(status("c-1").last_exit, "exit 0");
  EXPECT_TRUE(details("c-1", "restarting").empty());
}

TEST_F(SupervisorTest, OnFailureRestartsWithExponentialBackoffThenGivesUp) {
  up(R"(
services:
  c:
    command: echo-service
    env: {ECHO_EXIT_AFTER: 1ms, ECHO_EXIT_CODE: '3'}
    restart: {policy: on-failure, max_retries: 3, backoff: 20ms, multiplier: 2, max_backoff: 1s}
)");
  ASSERT_TRUE(waitState("c-1", InstanceState::kFailed, 20s));
  auto restarting = details("c-1", "restarting");
  ASSERT_EQ(restarting.size(), 3u);
  EXPECT_THAT(restarting[0], HasSubstr("exit 3; restarting in 20ms (attempt 1 of 3)"));
  EXPECT_THAT(restarting[1], HasSubstr("restarting in 40ms (attempt 2 of 3)"));
  EXPECT_THAT(restarting[2], HasSubstr("restarting in 80ms (attempt 3 of 3)"));
  auto gave_up = details("c-1", "gave-up");
  ASSERT_EQ(gave_up.size(), 1u);
  EXPECT_THAT(gave_up[0], HasSubstr("gave up after 3 restarts"));
  EXPECT_EQ(status("c-1").restarts, 3);
}

TEST_F(SupervisorTest, BackoffIsCappedAtMaxBackoff) {
  up(R"(
services:
  c:
    command: echo-service
    env: {ECHO_EXIT_AFTER: 1ms}
    restart: {policy: on-failure, max_retries: 3, backoff: 10ms, multiplier: 10, max_backoff: 50ms}
)");
  ASSERT_TRUE(waitState("c-1", InstanceState::kFailed, 20s));
  auto r = details("c-1", "restarting");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_THAT(r[1], HasSubstr("restarting in 50ms"));
  EXPECT_THAT(r[2], HasSubstr("restarting in 50ms"));
}

TEST_F(SupervisorTest, AlwaysRestartsEvenAfterACleanExit) {
  up(R"(
services:
  c:
    command: echo-service
    env: {ECHO_EXIT_AFTER: 1ms, ECHO_EXIT_CODE: '0'}
    restart: {policy: always, max_retries: 2, backoff: 10ms}
)");
  ASSERT_TRUE(waitState("c-1", InstanceState::kFailed, 20s));
  EXPECT_EQ(details("c-1", "restarting").size(), 2u);
}

TEST_F(SupervisorTest, KilledServiceIsRestartedAndShown) {
  up("services:\n  k: {command: echo-service, restart: {policy: on-failure, backoff: 10ms}}\n");
  ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
  int old_pid = status("k-1").pid;
  ASSERT_TRUE(sup_->killService("k", SIGKILL).ok());
  ASSERT_TRUE(sup_->waitFor([&](const auto&) {
    auto s = status("k-1");
    return s.state == InstanceState::kHealthy && s.pid != old_pid && s.pid > 0;
  }, 10s));
  EXPECT_EQ(status("k-1").restarts, 1);
  EXPECT_EQ(status("k-1").last_exit, "killed by SIGKILL");
  EXPECT_THAT(details("k-1", "exited").at(0), HasSubstr("killed by SIGKILL"));
}

TEST_F(SupervisorTest, NotHealthyWithinStartPeriodCountsAsAFailure) {
  up(R"(
services:
  h:
    command: echo-service
    env: {ECHO_UNHEALTHY_FOR: 1h}
    health: {start_period: 200ms}
    restart: {policy: on-failure, max_retries: 1, backoff: 10ms}
)");
  ASSERT_TRUE(waitState("h-1", InstanceState::kFailed, 20s));
  auto exited = details("h-1", "exited");
  ASSERT_FALSE(exited.empty());
  EXPECT_THAT(exited[0], HasSubstr("not healthy within start_period"));
}

TEST_F(SupervisorTest, CapturesStdoutAndStderrPerInstance) {
  up("services:\n  l: {command: echo-service, env: {ECHO_LOG_LINES: '5'}}\n");
  ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
  ASSERT_TRUE(sup_->waitFor([&](const auto&) {
    for (const auto& l : sup_->logs("l", 0))
      if (l.is_stderr) return true;
    return false;
  }, 5s));
  auto lines = sup_->logs("l", 0);
  std::vector<std::string> messages;
  for (const auto& l : lines) messages.push_back(l.message);
  EXPECT_THAT(messages, ::testing::IsSupersetOf({"line 1", "line 5", "listening", "echo stderr line"}));
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_LT(lines[i - 1].seq, lines[i].seq);
  EXPECT_EQ(lines.front().instance, "l-1");
  // A later reader can ask for only what is new.
  EXPECT_TRUE(sup_->logs("l", lines.back().seq).empty());
}

TEST_F(SupervisorTest, StopEscalatesToSigkillWhenSigtermIsIgnored) {
  up("services:\n  s: {command: echo-service, stop_grace: 200ms, env: {ECHO_IGNORE_SIGTERM: '1'}}\n");
  ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
  ASSERT_TRUE(sup_->stopService("s").ok());
  ASSERT_TRUE(waitState("s-1", InstanceState::kStopped, 10s));
  EXPECT_EQ(status("s-1").last_exit, "killed by SIGKILL");
}

TEST_F(SupervisorTest, StopAndStartAgain) {
  up("services:\n  s: {command: echo-service}\n");
  ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
  ASSERT_TRUE(sup_->stopService("s").ok());
  ASSERT_TRUE(waitState("s-1", InstanceState::kStopped));
  EXPECT_EQ(status("s-1").last_exit, "exit 0");  // graceful SIGTERM handling in the kit
  ASSERT_TRUE(sup_->startService("s").ok());
  ASSERT_TRUE(waitState("s-1", InstanceState::kHealthy));
  EXPECT_FALSE(sup_->startService("nope").ok());
}

TEST_F(SupervisorTest, StopSignalsTheWholeProcessGroup) {
  up("services:\n  g: {command: echo-service, env: {ECHO_CHILD: '1'}}\n");
  ASSERT_TRUE(sup_->waitUntilReady(10s).ok());
  int child = 0;
  ASSERT_TRUE(sup_->waitFor([&](const auto&) {
    for (const auto& l : sup_->logs("g", 0)) {
      auto pos = l.raw.find("\"child_pid\":\"");
      if (pos != std::string::npos) child = std::atoi(l.raw.c_str() + pos + 13);
    }
    return child > 0;
  }, 5s));
  ASSERT_EQ(::kill(child, 0), 0);
  sup_->stopAll();
  // The grandchild got SIGTERM with its group. It is not our child, so it may linger as
  // a zombie until its new parent reaps it; either way it no longer runs.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::string stat;
    if (FILE* f = std::fopen(("/proc/" + std::to_string(child) + "/stat").c_str(), "r")) {
      char buf[512] = {};
      size_t n = std::fread(buf, 1, sizeof buf - 1, f);
      std::fclose(f);
      stat.assign(buf, n);
      auto close = stat.rfind(')');
      gone = close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
    } else {
      gone = true;
    }
    if (!gone) std::this_thread::sleep_for(10ms);  // polling a process we do not own
  }
  EXPECT_TRUE(gone) << "grandchild " << child << " survived stop";
}

TEST_F(SupervisorTest, MissingCommandFailsUpAndStartsNothing) {
  auto m = parseManifest("services:\n  a: {command: echo-service}\n  b: {command: no-such-binary-xyz}\n", "t.yaml", "/tmp");
  ASSERT_TRUE(m.ok());
  Status s = sup_->up(*m);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("t.yaml:3: service 'b'"));
  EXPECT_TRUE(sup_->snapshot().empty());
}

}  // namespace
}  // namespace sandbank::supervisor
