// Supervisor: brings a manifest's services up as real processes in dependency order,
// gates dependents on health, restarts crashed instances by their restart policy with
// exponential back-off, captures every line of output, and stops everything in reverse
// order. It is the engine behind `sandbank up` and the control API's service calls.
//
//   launcher callbacks (io thread) --+
//   probe workers ------------------+--> mu_-guarded state <-- loop thread (timers:
//   control calls (any thread) -----+                            start, probe, back-off,
//                                                                stop escalation, stats)
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/flow/flow_event.h"
#include "sandbank/supervisor/health_prober.h"
#include "sandbank/supervisor/log_buffer.h"
#include "sandbank/supervisor/manifest.h"
#include "sandbank/supervisor/process_launcher.h"

namespace sandbank::supervisor {

enum class InstanceState {
  kPending,    // waiting for dependencies
  kStarting,   // spawned, waiting for its port and first passing health check
  kRunning,    // up; it has no health check
  kHealthy,    // up and passing health checks
  kUnhealthy,  // was healthy, now failing `retries` checks in a row
  kStopping,   // SIGTERM sent, waiting (SIGKILL after stop_grace)
  kStopped,    // stopped on request
  kExited,     // exited and the restart policy says no more
  kBackoff,    // exited; restarting after a back-off delay
  kFailed,     // gave up: retries exhausted, or could not be started at all
};
std::string_view instanceStateName(InstanceState state);  // "healthy", ...

struct InstanceStatus {
  std::string service;
  std::string instance;  // "ledger-1"
  InstanceState state = InstanceState::kPending;
  int pid = 0;
  int port = 0;
  int http_port = 0;          // a second, HTTP port the service announced (the edge), or 0
  // Restarts the restart policy made after the process ended on its own (a crash, a kill,
  // a failed start), as a container runtime's RestartCount. Deliberate restarts -
  // startService after a stop, restartService, a scenario reset - do not count.
  int restarts = 0;
  int consecutive_failures = 0;
  TimePoint started_at;       // of the current process
  std::chrono::nanoseconds uptime{0};
  std::chrono::nanoseconds next_backoff{0};  // set while in kBackoff
  std::string last_exit;      // "exit 3", "killed by SIGKILL", or empty
  std::string reason;         // why it is in this state, for people
  double cpu_percent = 0;     // over the last sampling interval
  int64_t rss_bytes = 0;
  std::string health;         // last health probe result: "SERVING" or the failure
};

struct SupervisorOptions {
  // Folders searched for bare command names before $PATH (build/bin).
  std::vector<std::string> search_dirs;
  // Added to every child's environment before the manifest's env (SANDBANK_MESH, ...).
  std::map<std::string, std::string> extra_env;
  size_t log_lines_per_instance = 5000;
  // Flow events of kind kProcess (started, ready, exited, restarting, gave up, stopped)
  // and kLog (warn/error lines) go here. Not owned; may be null.
  flow::FlowSink* flow = nullptr;
  const Clock* clock = &SystemClock::instance();
};

// A lifecycle change, also emitted as a kProcess FlowEvent.
struct LifecycleEvent {
  TimePoint time;
  std::string service;
  std::string instance;
  std::string what;  // "started", "ready", "exited", "restarting", "gave-up", "stopped", "unhealthy"
  int pid = 0;
  int port = 0;        // the instance's port when known (0 otherwise)
  std::string detail;  // "exit 3; restarting in 200ms (attempt 2 of 5)"
  std::optional<ExitInfo> exit;  // "exited" and "stopped": how the process ended
};

class Supervisor {
 public:
  Supervisor(ProcessLauncher& launcher, HealthProber& prober, SupervisorOptions options);
  // Stops every instance (reverse dependency order) before returning.
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Checks that every command resolves, then starts all services; dependents start as
  // their dependencies become started/healthy. Returns at once. Fails, starting nothing,
  // when a command cannot be found.
  Status up(const Manifest& manifest);

  // Blocks until every instance is healthy (or running, without a health check), one
  // instance has failed for good, or `timeout` passes.
  Status waitUntilReady(std::chrono::nanoseconds timeout);

  // Blocks until `pred(snapshot())` holds or `timeout` passes; true when it held.
  bool waitFor(const std::function<bool(const std::vector<InstanceStatus>&)>& pred,
               std::chrono::nanoseconds timeout);

  Status startService(const std::string& service);  // a stopped, exited or failed service
  Status stopService(const std::string& service);   // SIGTERM, SIGKILL after stop_grace
  Status restartService(const std::string& service);
  // Sends `sig` (default SIGKILL). The restart policy then applies, as for a crash.
  Status killService(const std::string& service, int sig);

  // Stops everything in reverse dependency order and waits for every process to exit.
  void stopAll();

  std::vector<InstanceStatus> snapshot() const;
  std::vector<std::string> serviceNames() const;  // in start order
  const Manifest& manifest() const;

  // Captured output, oldest first, for one service (all its instances) or all ("").
  // Only lines with seq > after_seq.
  std::vector<LogLine> logs(const std::string& service, uint64_t after_seq) const;

  // Live output and lifecycle events. Callbacks run on supervisor threads and must be
  // quick. Returns an id for unsubscribe().
  using LogListener = std::function<void(const LogLine&)>;
  using LifecycleListener = std::function<void(const LifecycleEvent&)>;
  int subscribeLogs(LogListener listener);
  int subscribeLifecycle(LifecycleListener listener);
  void unsubscribe(int id);

  struct Impl;

 private:
  // Shared so that launcher callbacks, which hold weak references, can never reach a
  // destroyed supervisor.
  std::shared_ptr<Impl> impl_;
};

}  // namespace sandbank::supervisor
