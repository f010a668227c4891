// `sandbank up`: the simulator in the foreground. It loads the manifest, starts the
// control API and the supervisor, shows a live status table while services come up, and
// stops everything cleanly on Ctrl-C, SIGTERM or `sandbank down`.
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "sandbank/cli/bank_check.h"
#include "commands.h"
#include "sandbank/control/simulator.h"
#include "sandbank/core/log.h"
#include "sandbank/supervisor/supervisor.h"
#include "status_table.h"

namespace sandbank::cli {
namespace {

using supervisor::InstanceState;
using supervisor::InstanceStatus;

StatusRow rowOf(const InstanceStatus& s) {
  StatusRow r;
  r.instance = s.instance;
  r.state = std::string(supervisor::instanceStateName(s.state));
  r.pid = s.pid > 0 ? std::to_string(s.pid) : "-";
  r.port = s.port > 0 ? std::to_string(s.port) : "-";
  if (s.http_port > 0) r.port += " http:" + std::to_string(s.http_port);
  r.restarts = std::to_string(s.restarts);
  r.uptime = formatUptime(std::chrono::duration<double>(s.uptime).count());
  char cpu[16];
  std::snprintf(cpu, sizeof cpu, "%.0f%%", s.cpu_percent);
  r.cpu = s.pid > 0 ? cpu : "-";
  r.rss = formatBytes(s.rss_bytes);
  r.note = !s.reason.empty() ? s.reason : s.health;
  return r;
}

std::string table(const std::vector<InstanceStatus>& all, bool color) {
  std::vector<StatusRow> rows;
  for (const auto& s : all) rows.push_back(rowOf(s));
  return renderStatusTable(rows, color);
}

int countLines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

int runUp(const UpOptions& o) {
  // Take shutdown signals through a signalfd; block them before any thread exists.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int sigfd = ::signalfd(-1, &signals, SFD_CLOEXEC);
  int shutdown_fd = ::eventfd(0, EFD_CLOEXEC);

  const bool tty = ::isatty(STDOUT_FILENO);
  std::mutex print_mu;
  bool ready_phase_done = false;  // guarded by print_mu: after it, events print as lines

  control::SimulatorOptions so;
  so.manifest_path = o.manifest;
  so.state_file = o.state_file;
  so.record_path = o.record;
  so.bin_dir = binDir();
  auto created = control::Simulator::create(so);
  if (!created.ok()) {
    std::cerr << "sandbank up: " << created.status().message() << "\n";
    return created.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::unique_ptr<control::Simulator> sim = std::move(*created);
  sim->setChecker(makeBankChecker(*sim));
  sim->setShutdownHandler([shutdown_fd] {
    uint64_t one = 1;
    (void)!::write(shutdown_fd, &one, sizeof one);
  });
  supervisor::Supervisor& sup = sim->supervisor();
  std::vector<int> subscriptions;
  subscriptions.push_back(sup.subscribeLifecycle([&](const supervisor::LifecycleEvent& e) {
    std::lock_guard lock(print_mu);
    if (tty && !ready_phase_done) return;  // the live table shows these
    std::cout << formatTimestamp(e.time).substr(11, 12) << "  " << e.instance << "  " << e.what
              << (e.detail.empty() ? "" : "  " + e.detail) << std::endl;
  }));
  if (o.follow_logs) {
    subscriptions.push_back(sup.subscribeLogs([&](const supervisor::LogLine& l) {
      std::lock_guard lock(print_mu);
      if (!ready_phase_done) return;
      std::cout << l.instance << " | " << l.raw << "\n";
    }));
  }
  const supervisor::Manifest& manifest = sim->manifest();

  auto t0 = std::chrono::steady_clock::now();
  std::cout << "sandbank up: " << manifest.services.size() << " services from " << o.manifest
            << "; control API on " << sim->controlAddress()
            << (o.record.empty() ? "" : "; recording to " + o.record) << std::endl;
  if (auto s = sim->up(); !s.ok()) {
    std::cerr << "sandbank up: " << s.message() << "\n";
    return 2;
  }

  // Phase 1: until every instance is ready (or one failed, or the timeout passed).
  int drawn = 0;
  Status ready = DeadlineExceeded("interrupted");
  bool interrupted = false;
  for (;;) {
    ready = sup.waitUntilReady(std::chrono::milliseconds(100));
    if (tty) {
      std::lock_guard lock(print_mu);
      std::string t = table(sup.snapshot(), true);
      if (drawn > 0) std::cout << "\033[" << drawn << "F\033[J";
      std::cout << t << std::flush;
      drawn = countLines(t);
    }
    if (ready.ok() || ready.code() == StatusCode::kUnavailable) break;
    if (std::chrono::steady_clock::now() - t0 > o.timeout) break;
    pollfd fds[2] = {{sigfd, POLLIN, 0}, {shutdown_fd, POLLIN, 0}};
    if (::poll(fds, 2, 0) > 0) {
      interrupted = true;
      break;
    }
  }
  auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard lock(print_mu);
    ready_phase_done = true;
    if (interrupted) {
      std::cout << "sandbank up: interrupted while starting" << std::endl;
    } else if (ready.ok()) {
      std::printf("sandbank up: all %zu instances ready in %.0f ms\n", sup.snapshot().size(), elapsed);
      std::fflush(stdout);
    } else {
      std::cout << "sandbank up: not ready: " << ready.message() << std::endl;
      if (!tty) std::cout << table(sup.snapshot(), false) << std::flush;
    }
  }

  int rc = ready.ok() ? 0 : 1;
  if (!o.until_healthy && !interrupted) {
    std::cout << "sandbank up: running; Ctrl-C or `sandbank down` stops everything" << std::endl;
    pollfd fds[2] = {{sigfd, POLLIN, 0}, {shutdown_fd, POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
    }
    rc = 0;
  }
  std::cout << "sandbank up: stopping " << sup.snapshot().size() << " instances" << std::endl;
  sim->stop();
  for (int id : subscriptions) sup.unsubscribe(id);
  std::cout << "sandbank up: stopped" << std::endl;
  return rc;
}

}  // namespace sandbank::cli
