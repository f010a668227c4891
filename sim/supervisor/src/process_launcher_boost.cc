// The one file that uses Boost.Process (v2, Boost 1.81). Children are forked from the
// launcher's long-lived I/O thread because PR_SET_PDEATHSIG fires when the *thread* that
// forked the child exits, not only the process.
//
//   spawn() --post--> io thread: fork/exec (setpgid, PDEATHSIG, unblock signals)
//                      |-- async_read_until('\n') on stdout and stderr -> on_line
//                      `-- async_wait (pidfd) -> when both pipes hit EOF -> on_exit
//
// PDEATHSIG covers the children, not their children. So the launcher also forks a
// watchdog process at start: it reads the process group of every child from a pipe and,
// when the pipe reaches EOF (the simulator exited or was killed, even by SIGKILL),
// SIGKILLs every group it was told of, so no grandchild outlives the run. A reaped
// child's group is killed at once (its leftovers are orphans) and forgotten.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio.hpp>
#include <boost/process/v2.hpp>
// Boost 1.81 header-only mode forgets this definition (process_environment::on_setup).
#include <boost/process/v2/impl/environment.ipp>

#include "sandbank/supervisor/process_launcher.h"

namespace sandbank::supervisor {
namespace {

namespace asio = boost::asio;
namespace bp = boost::process::v2;

constexpr size_t kMaxLine = 64 * 1024;

// Runs in the child between fork and exec.
struct ChildSetup {
  pid_t parent;
  boost::system::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&,
                                          const char* const*&) const {
    ::setpgid(0, 0);  // own group: a terminal Ctrl-C reaches only the simulator
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(137);  // the simulator died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the simulator blocks signals for sigwait
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) ::signal(sig, SIG_DFL);
    return {};
  }
};

// The watchdog's whole life, in the forked child: only async-signal-safe calls, no heap.
[[noreturn]] void watchdogMain(int read_fd) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) ::signal(sig, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::prctl(PR_SET_NAME, "sandbank-watch");
  if (read_fd != 3) {
    ::dup2(read_fd, 3);
    read_fd = 3;
  }
  int null_fd = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) ::dup2(null_fd, fd);
  ::close_range(4, ~0U, 0);  // the simulator's sockets and pipes are not ours to hold
  static int32_t groups[1 << 16];
  size_t count = 0;
  int32_t buf[256];
  for (;;) {
    ssize_t n = ::read(read_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof(int32_t)); ++i) {
      if (buf[i] > 0 && count < sizeof groups / sizeof groups[0]) {
        groups[count++] = buf[i];
      } else if (buf[i] < 0) {
        for (size_t j = 0; j < count; ++j)
          if (groups[j] == -buf[i]) groups[j] = groups[--count];
      }
    }
  }
  for (size_t j = 0; j < count; ++j) ::kill(-groups[j], SIGKILL);
  ::_exit(0);
}

struct Watchdog {
  pid_t pid = -1;
  int fd = -1;  // the pipe's write end (close-on-exec)
};

Watchdog startWatchdog() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[1]);
    watchdogMain(fds[0]);
  }
  ::close(fds[0]);
  if (pid < 0) {
    ::close(fds[1]);
    return {};
  }
  return {pid, fds[1]};
}

class BoostProcessLauncher;

// Shared between the handle and the asynchronous reads, which may outlive either.
struct Child : std::enable_shared_from_this<Child> {
  Child(asio::io_context& io) : out(io), err(io) {}
  std::unique_ptr<bp::process> proc;
  asio::readable_pipe out;
  asio::readable_pipe err;
  std::string out_buf, err_buf;
  ProcessCallbacks callbacks;
  int pid = -1;
  int open_streams = 2;
  bool exited = false;
  bool reported = false;
  ExitInfo info;
  std::mutex mu;
  bool gone = false;  // guarded by mu: reaped, so the pid may be reused

  void maybeReport() {
    if (reported || !exited || open_streams > 0) return;
    reported = true;
    if (callbacks.on_exit) callbacks.on_exit(info);
  }

  void readLoop(asio::readable_pipe& pipe, std::string& buf, OutputStream which) {
    auto self = shared_from_this();
    asio::async_read_until(
        pipe, asio::dynamic_buffer(buf, kMaxLine), '\n',
        [self, &pipe, &buf, which](boost::system::error_code ec, size_t n) {
          if (!ec || (ec == asio::error::not_found && !buf.empty())) {
            size_t take = ec ? buf.size() : n;
            std::string line = buf.substr(0, ec ? take : take - 1);
            buf.erase(0, take);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (self->callbacks.on_line) self->callbacks.on_line(which, std::move(line));
            self->readLoop(pipe, buf, which);
            return;
          }
          if (!buf.empty() && self->callbacks.on_line) self->callbacks.on_line(which, std::move(buf));
          buf.clear();
          --self->open_streams;
          self->maybeReport();
        });
  }
};

class ChildHandle final : public ProcessHandle {
 public:
  explicit ChildHandle(std::shared_ptr<Child> c) : child_(std::move(c)) {}
  int pid() const override { return child_->pid; }
  Status signal(int sig) override {
    std::lock_guard lock(child_->mu);
    if (child_->gone) return OkStatus();
    // The group first (children of the service too), then the process itself in case it
    // left the group.
    if (::kill(-child_->pid, sig) != 0 && errno != ESRCH)
      return Internal("kill(-" + std::to_string(child_->pid) + "): " + std::strerror(errno));
    ::kill(child_->pid, sig);
    return OkStatus();
  }

 private:
  std::shared_ptr<Child> child_;
};

class BoostProcessLauncher final : public ProcessLauncher {
 public:
  BoostProcessLauncher()
      : watchdog_(startWatchdog()), work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

  ~BoostProcessLauncher() override {
    std::set<std::shared_ptr<Child>> live;
    {
      std::lock_guard lock(mu_);
      live = children_;
    }
    for (const auto& c : live) (void)ChildHandle(c).signal(SIGKILL);
    // Wait (bounded) until every child has been reaped, then stop the I/O thread.
    {
      std::unique_lock lock(mu_);
      reaped_.wait_for(lock, std::chrono::seconds(5), [this] { return children_.empty(); });
    }
    work_.reset();
    io_.stop();
    thread_.join();
    if (watchdog_.fd >= 0) {
      ::close(watchdog_.fd);  // the watchdog kills what is left and exits
      ::waitpid(watchdog_.pid, nullptr, 0);
    }
  }

  Result<std::unique_ptr<ProcessHandle>> spawn(const ProcessSpec& spec, ProcessCallbacks callbacks) override {
    if (::access(spec.executable.c_str(), X_OK) != 0)
      return NotFound("cannot execute " + spec.executable + ": " + std::strerror(errno));
    std::promise<Result<std::shared_ptr<Child>>> done;
    auto future = done.get_future();
    asio::post(io_, [&] { done.set_value(spawnOnIoThread(spec, std::move(callbacks))); });
    auto child = future.get();
    if (!child.ok()) return child.status();
    return std::unique_ptr<ProcessHandle>(new ChildHandle(*child));
  }

 private:
  Result<std::shared_ptr<Child>> spawnOnIoThread(const ProcessSpec& spec, ProcessCallbacks callbacks) {
    auto child = std::make_shared<Child>(io_);
    child->callbacks = std::move(callbacks);
    std::vector<std::string> env;
    env.reserve(spec.env.size());
    for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
    boost::system::error_code ec;
    bp::posix::default_launcher launcher;
    auto proc = launcher(io_.get_executor(), ec, bp::filesystem::path(spec.executable), spec.args,
                         bp::process_stdio{nullptr, child->out, child->err},
                         bp::process_environment{env},
                         bp::process_start_dir{spec.working_dir.empty() ? "." : spec.working_dir},
                         ChildSetup{::getpid()});
    if (ec) return Internal("cannot start " + spec.executable + ": " + ec.message());
    child->pid = proc.id();
    tellWatchdog(child->pid);
    child->proc = std::make_unique<bp::process>(std::move(proc));
    {
      std::lock_guard lock(mu_);
      children_.insert(child);
    }
    child->readLoop(child->out, child->out_buf, OutputStream::kStdout);
    child->readLoop(child->err, child->err_buf, OutputStream::kStderr);
    child->proc->async_wait([this, child](boost::system::error_code, int) {
      int status = child->proc->native_exit_code();
      {
        std::lock_guard lock(child->mu);
        child->gone = true;
      }
      // Whatever the child left in its group is orphaned now.
      ::kill(-child->pid, SIGKILL);
      tellWatchdog(-child->pid);
      if (WIFSIGNALED(status)) {
        child->info.signal = WTERMSIG(status);
      } else {
        child->info.exit_code = WEXITSTATUS(status);
      }
      child->exited = true;
      {
        std::lock_guard lock(mu_);
        children_.erase(child);
      }
      reaped_.notify_all();
      child->maybeReport();
    });
    return child;
  }

  // +pgid: watch this group; -pgid: forget it. Called on the I/O thread only.
  void tellWatchdog(int32_t signed_group) {
    if (watchdog_.fd < 0) return;
    while (::write(watchdog_.fd, &signed_group, sizeof signed_group) < 0 && errno == EINTR) {
    }
  }

  const Watchdog watchdog_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::mutex mu_;
  std::set<std::shared_ptr<Child>> children_;  // guarded by mu_: not yet reaped
  std::condition_variable reaped_;
  std::thread thread_;
};

}  // namespace

std::string ExitInfo::describe() const {
  if (signal != 0) {
    const char* name = sigabbrev_np(signal);
    return std::string("killed by SIG") + (name ? name : std::to_string(signal).c_str());
  }
  return "exit " + std::to_string(exit_code);
}

std::unique_ptr<ProcessLauncher> makeProcessLauncher() { return std::make_unique<BoostProcessLauncher>(); }

}  // namespace sandbank::supervisor
