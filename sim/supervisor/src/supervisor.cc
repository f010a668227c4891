// The Supervisor's state machine. One mutex (Impl::mu) guards all instance state; the
// loop thread wakes on a condition variable for timers, and process spawns happen outside
// the lock because the launcher's I/O thread calls back into this file.
#include "sandbank/supervisor/supervisor.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "proc_stats.h"
#include "sandbank/core/duration.h"
#include "sandbank/core/environment.h"

namespace sandbank::supervisor {

using Steady = std::chrono::steady_clock;

std::string_view instanceStateName(InstanceState s) {
  switch (s) {
    case InstanceState::kPending: return "pending";
    case InstanceState::kStarting: return "starting";
    case InstanceState::kRunning: return "running";
    case InstanceState::kHealthy: return "healthy";
    case InstanceState::kUnhealthy: return "unhealthy";
    case InstanceState::kStopping: return "stopping";
    case InstanceState::kStopped: return "stopped";
    case InstanceState::kExited: return "exited";
    case InstanceState::kBackoff: return "backoff";
    case InstanceState::kFailed: return "failed";
  }
  return "unknown";
}

namespace {

bool isUp(InstanceState s) {
  return s == InstanceState::kStarting || s == InstanceState::kRunning ||
         s == InstanceState::kHealthy || s == InstanceState::kUnhealthy;
}
bool isTerminal(InstanceState s) {
  return s == InstanceState::kStopped || s == InstanceState::kExited || s == InstanceState::kFailed;
}

}  // namespace

struct Instance {
  Instance(std::string svc, int idx, size_t log_capacity)
      : service(std::move(svc)), index(idx), name(service + "-" + std::to_string(idx)), logs(log_capacity) {}
  const std::string service;
  const int index;
  const std::string name;
  InstanceState state = InstanceState::kPending;
  std::unique_ptr<ProcessHandle> handle;
  int pid = 0;
  int port = 0;
  int http_port = 0;  // announced as "http_port" on the listening line
  uint64_t generation = 0;
  int restarts = 0;
  int failures = 0;
  bool stop_requested = false;
  bool killed_for_start_timeout = false;
  bool probe_in_flight = false;
  int probe_failures = 0;
  Steady::time_point started_steady{};
  TimePoint started_at{};
  Steady::time_point start_deadline{};
  Steady::time_point next_probe{};
  Steady::time_point restart_at{};
  Steady::time_point kill_at{};
  std::chrono::nanoseconds next_backoff{0};
  std::string last_exit, reason, health;
  ProcSample last_sample;
  double cpu_percent = 0;
  int64_t rss = 0;
  LogBuffer logs;
};

struct ServiceEntry {
  ServiceSpec spec;
  std::string executable;
  std::vector<std::unique_ptr<Instance>> instances;
};

struct Supervisor::Impl : std::enable_shared_from_this<Supervisor::Impl> {
  Impl(ProcessLauncher& l, HealthProber& p, SupervisorOptions o)
      : launcher(l), prober(p), options(std::move(o)), base_env(currentEnvironment()) {}

  ProcessLauncher& launcher;
  HealthProber& prober;
  const SupervisorOptions options;
  const std::map<std::string, std::string> base_env;

  mutable std::mutex mu;
  std::condition_variable wake;         // wakes the loop thread; waits on mu
  std::condition_variable changed;      // any state change; waits on mu
  uint64_t version = 0;                 // guarded by mu: bumps with every change

  void notifyChanged() {  // call with mu held
    ++version;
    changed.notify_all();
  }
  Manifest manifest;                    // guarded by mu
  std::vector<std::string> order;       // guarded by mu: start order
  std::map<std::string, ServiceEntry> services;  // guarded by mu
  bool quit = false;                    // guarded by mu
  bool shutting_down = false;           // guarded by mu
  Steady::time_point next_stats{};      // guarded by mu

  std::atomic<uint64_t> log_seq{0};

  std::mutex listeners_mu;
  int next_listener = 1;                                // guarded by listeners_mu
  std::map<int, LogListener> log_listeners;             // guarded by listeners_mu
  std::map<int, LifecycleListener> lifecycle_listeners; // guarded by listeners_mu

  // Probe workers.
  std::mutex probe_mu;
  std::condition_variable probe_cv;
  std::deque<std::function<void()>> probe_jobs;  // guarded by probe_mu
  bool probe_quit = false;                       // guarded by probe_mu
  std::vector<std::thread> probe_threads;
  std::thread loop_thread;


  // ---- helpers that run under mu ----

  // Delivers a lifecycle event at once, with mu held, so listeners see events in the
  // order they happened and before anyone can observe the new state.
  void event(const Instance& inst, std::string what, std::string detail) {
    dispatch({options.clock->now(), inst.service, inst.name, std::move(what), inst.pid, inst.port, std::move(detail),
              std::nullopt});
  }
  void event(const Instance& inst, int pid, std::string what, std::string detail) {
    dispatch({options.clock->now(), inst.service, inst.name, std::move(what), pid, inst.port, std::move(detail),
              std::nullopt});
  }
  // A process's end ("exited" or "stopped"), with how it ended.
  void exitEvent(const Instance& inst, int pid, std::string what, std::string detail, const ExitInfo& info) {
    dispatch({options.clock->now(), inst.service, inst.name, std::move(what), pid, inst.port, std::move(detail), info});
  }

  bool dependencySatisfied(const Dependency& dep) const {
    auto it = services.find(dep.service);
    if (it == services.end()) return false;
    for (const auto& inst : it->second.instances) {
      if (dep.condition == DependencyCondition::kStarted) {
        if (!isUp(inst->state) || inst->pid == 0) return false;
      } else if (inst->state != InstanceState::kHealthy && inst->state != InstanceState::kRunning) {
        return false;
      }
    }
    return true;
  }

  std::string waitingFor(const ServiceEntry& e) const {
    std::string out;
    for (const auto& d : e.spec.depends_on)
      if (!dependencySatisfied(d)) out += (out.empty() ? "" : ", ") + d.service;
    return out;
  }

  ProcessSpec processSpec(const ServiceEntry& e, const Instance& inst) const {
    ProcessSpec p;
    p.executable = e.executable;
    p.args = e.spec.args;
    p.working_dir = e.spec.working_dir;
    p.env = base_env;
    for (const auto& [k, v] : options.extra_env) p.env[k] = v;
    p.env["SANDBANK_SERVICE"] = e.spec.name;
    p.env["SANDBANK_INSTANCE"] = inst.name;
    p.env["SANDBANK_REPLICA"] = std::to_string(inst.index);
    for (const auto& d : e.spec.depends_on) {
      const auto& dep = services.at(d.service);
      for (const auto& di : dep.instances) {
        if (di->port > 0) {
          p.env[serviceAddressVariable(d.service)] = "127.0.0.1:" + std::to_string(di->port);
          break;
        }
      }
    }
    for (const auto& [k, v] : e.spec.env) p.env[k] = v;
    return p;
  }

  void setState(Instance& inst, InstanceState s, std::string reason) {
    inst.state = s;
    inst.reason = std::move(reason);
    notifyChanged();
    wake.notify_all();
  }

  // Decides what to do after an instance's process ended.
  void handleExit(Instance& inst, const ServiceEntry& e, const ExitInfo& info) {
    inst.handle.reset();
    int pid = inst.pid;
    inst.pid = 0;
    inst.port = 0;
    inst.http_port = 0;
    inst.probe_in_flight = false;
    inst.cpu_percent = 0;
    inst.rss = 0;
    inst.last_exit = info.describe();
    if (inst.state == InstanceState::kStopping || inst.stop_requested || shutting_down) {
      setState(inst, InstanceState::kStopped, "stopped (" + inst.last_exit + ")");
      exitEvent(inst, pid, "stopped", inst.last_exit, info);
      return;
    }
    bool failure = !info.success() || inst.killed_for_start_timeout;
    std::string why = inst.killed_for_start_timeout ? "not healthy within start_period" : inst.last_exit;
    exitEvent(inst, pid, "exited", why, info);
    const RestartPolicy& rp = e.spec.restart;
    bool restart = rp.kind == RestartPolicyKind::kAlways ||
                   (rp.kind == RestartPolicyKind::kOnFailure && failure);
    if (!restart) {
      setState(inst, failure ? InstanceState::kFailed : InstanceState::kExited, why);
      return;
    }
    if (inst.started_steady != Steady::time_point{} && Steady::now() - inst.started_steady >= rp.reset_after)
      inst.failures = 0;
    inst.failures++;
    if (rp.max_retries >= 0 && inst.failures > rp.max_retries) {
      std::string detail = why + "; gave up after " + std::to_string(rp.max_retries) + " restarts";
      setState(inst, InstanceState::kFailed, detail);
      event(inst, "gave-up", detail);
      return;
    }
    double factor = std::pow(rp.multiplier, inst.failures - 1);
    auto delay = std::chrono::nanoseconds(static_cast<int64_t>(
        std::min<double>(static_cast<double>(rp.backoff.count()) * factor, static_cast<double>(rp.max_backoff.count()))));
    inst.next_backoff = delay;
    inst.restart_at = Steady::now() + delay;
    std::string detail = why + "; restarting in " + formatDuration(delay) + " (attempt " +
                         std::to_string(inst.failures) +
                         (rp.max_retries >= 0 ? " of " + std::to_string(rp.max_retries) : "") + ")";
    setState(inst, InstanceState::kBackoff, detail);
    event(inst, "restarting", detail);
  }


  Instance* find(const std::string& instance_name, ServiceEntry** entry) {
    for (auto& [n, e] : services)
      for (auto& inst : e.instances)
        if (inst->name == instance_name) {
          *entry = &e;
          return inst.get();
        }
    return nullptr;
  }

  InstanceStatus statusOf(const Instance& inst) const {
    InstanceStatus s;
    s.service = inst.service;
    s.instance = inst.name;
    s.state = inst.state;
    s.pid = inst.pid;
    s.port = inst.port;
    s.http_port = inst.http_port;
    s.restarts = inst.restarts;
    s.consecutive_failures = inst.failures;
    s.started_at = inst.started_at;
    if (inst.pid > 0) s.uptime = Steady::now() - inst.started_steady;
    s.next_backoff = inst.state == InstanceState::kBackoff ? inst.next_backoff : std::chrono::nanoseconds(0);
    s.last_exit = inst.last_exit;
    s.reason = inst.reason;
    s.cpu_percent = inst.cpu_percent;
    s.rss_bytes = inst.rss;
    s.health = inst.health;
    return s;
  }

  std::vector<InstanceStatus> snapshotLocked() const {
    std::vector<InstanceStatus> out;
    for (const auto& name : order)
      for (const auto& inst : services.at(name).instances) out.push_back(statusOf(*inst));
    return out;
  }

  // ---- event delivery (called with mu held) ----

  void dispatch(const LifecycleEvent& e) {
    std::vector<LifecycleListener> ls;
    {
      std::lock_guard lock(listeners_mu);
      for (const auto& [id, l] : lifecycle_listeners) ls.push_back(l);
    }
    for (const auto& l : ls) l(e);
    if (options.flow) {
      flow::FlowEvent f;
      f.kind = flow::FlowKind::kProcess;
      f.start_sim_us = f.end_sim_us = toMicros(e.time);
      f.start_real_us = f.end_real_us = toMicros(std::chrono::system_clock::now());
      f.source = "supervisor";
      f.destination = e.instance;
      f.method = e.what;
      f.status = e.what == "exited" || e.what == "gave-up" ? "ERROR" : "OK";
      f.detail = e.detail.empty() ? "pid " + std::to_string(e.pid) : e.detail + " (pid " + std::to_string(e.pid) + ")";
      options.flow->emit(std::move(f));
    }
  }

  // ---- callbacks from the launcher's I/O thread ----

  void onLine(Instance* inst, uint64_t gen, OutputStream stream, std::string raw) {
    LogLine line;
    line.time = options.clock->now();
    line.service = inst->service;
    line.instance = inst->name;
    line.is_stderr = stream == OutputStream::kStderr;
    line.level = line.is_stderr ? LogLevel::kWarn : LogLevel::kInfo;
    int port = 0;
    int http_port = 0;
    if (auto rec = parseLogLine(raw); rec.ok()) {
      line.level = rec->level;
      line.trace = rec->trace;
      line.message = rec->message;
      if (rec->message == "listening") {
        for (const auto& [k, v] : rec->fields)
          if (k == "port") port = std::atoi(v.c_str());
          else if (k == "http_port") http_port = std::atoi(v.c_str());
      }
    } else {
      line.message = raw;
    }
    line.raw = std::move(raw);
    line.seq = ++log_seq;
    inst->logs.append(line);
    if (port > 0) {
      std::lock_guard lock(mu);
      if (inst->generation == gen && inst->state == InstanceState::kStarting) {
        inst->port = port;
        inst->http_port = http_port;
        inst->next_probe = Steady::now();
        notifyChanged();
        wake.notify_all();
      }
    }
    std::vector<LogListener> ls;
    {
      std::lock_guard lock(listeners_mu);
      for (const auto& [id, l] : log_listeners) ls.push_back(l);
    }
    for (const auto& l : ls) l(line);
    if (options.flow && line.level >= LogLevel::kWarn) {
      flow::FlowEvent f;
      f.kind = flow::FlowKind::kLog;
      f.trace_id = line.trace;
      f.start_sim_us = f.end_sim_us = toMicros(line.time);
      f.start_real_us = f.end_real_us = toMicros(std::chrono::system_clock::now());
      f.source = line.instance;
      f.method = std::string(logLevelName(line.level));
      f.status = line.level == LogLevel::kError ? "ERROR" : "OK";
      f.detail = line.message;
      options.flow->emit(std::move(f));
    }
  }

  void onExit(Instance* inst, uint64_t gen, ExitInfo info) {
    {
      std::lock_guard lock(mu);
      if (inst->generation != gen) return;
      handleExit(*inst, services.at(inst->service), info);
    }
  }

  // ---- probes ----

  void submitProbe(std::function<void()> job) {
    {
      std::lock_guard lock(probe_mu);
      probe_jobs.push_back(std::move(job));
    }
    probe_cv.notify_one();
  }

  void probeWorker() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(probe_mu);
        probe_cv.wait(lock, [&] { return probe_quit || !probe_jobs.empty(); });
        if (probe_quit) return;
        job = std::move(probe_jobs.front());
        probe_jobs.pop_front();
      }
      job();
    }
  }

  void runProbe(Instance* inst, uint64_t gen, HealthSpec spec, int port) {
    Status s = prober.probe(spec.type, port, spec.timeout);
    {
      std::lock_guard lock(mu);
      inst->probe_in_flight = false;
      if (inst->generation != gen || !isUp(inst->state)) return;
      inst->health = s.ok() ? "SERVING" : s.message();
      notifyChanged();
      auto now = Steady::now();
      if (s.ok()) {
        inst->probe_failures = 0;
        if (inst->state == InstanceState::kStarting || inst->state == InstanceState::kUnhealthy) {
          bool first = inst->state == InstanceState::kStarting;
          setState(*inst, InstanceState::kHealthy, "");
          event(*inst, first ? "ready" : "healthy", "port " + std::to_string(inst->port));
        }
        inst->next_probe = now + spec.interval;
      } else if (inst->state == InstanceState::kStarting) {
        inst->next_probe = now + spec.start_interval;
      } else {
        inst->probe_failures++;
        if (inst->state == InstanceState::kHealthy && inst->probe_failures >= spec.retries) {
          setState(*inst, InstanceState::kUnhealthy, s.message());
          event(*inst, "unhealthy", s.message());
        }
        inst->next_probe = now + spec.interval;
      }
      wake.notify_all();
    }
  }

  // ---- the loop ----

  struct SpawnJob {
    Instance* inst;
    uint64_t gen;
    ProcessSpec spec;
    bool no_health;
  };

  void loop() {
    std::unique_lock lock(mu);
    while (!quit) {
      auto now = Steady::now();
      auto next = now + std::chrono::seconds(1);
      std::vector<SpawnJob> spawns;
      for (const auto& name : order) {
        ServiceEntry& e = services.at(name);
        for (auto& up : e.instances) {
          Instance& inst = *up;
          switch (inst.state) {
            case InstanceState::kPending: {
              if (shutting_down || inst.stop_requested) break;
              std::string wait = waitingFor(e);
              if (!wait.empty()) {
                inst.reason = "waiting for " + wait;
                break;
              }
              inst.generation++;
              inst.killed_for_start_timeout = false;
              inst.probe_failures = 0;
              inst.health.clear();
              setState(inst, InstanceState::kStarting, "");
              inst.start_deadline = now + e.spec.health.start_period;
              inst.next_probe = Steady::time_point::max();
              spawns.push_back({&inst, inst.generation, processSpec(e, inst),
                                e.spec.health.type == HealthType::kNone});
              break;
            }
            case InstanceState::kBackoff:
              if (shutting_down || inst.stop_requested) {
                setState(inst, InstanceState::kStopped, "stopped");
              } else if (now >= inst.restart_at) {
                inst.restarts++;
                setState(inst, InstanceState::kPending, "restarting");
                next = now;  // start it on the next pass
              } else {
                next = std::min(next, inst.restart_at);
              }
              break;
            case InstanceState::kStarting:
              if (inst.pid > 0 && now >= inst.start_deadline && !inst.killed_for_start_timeout) {
                inst.killed_for_start_timeout = true;
                inst.reason = "not healthy within " + formatDuration(e.spec.health.start_period) + "; killing";
                if (inst.handle) (void)inst.handle->signal(SIGKILL);
              } else if (!inst.killed_for_start_timeout) {
                next = std::min(next, inst.start_deadline);
              }
              [[fallthrough]];
            case InstanceState::kHealthy:
            case InstanceState::kUnhealthy:
              if (inst.port > 0 && !inst.probe_in_flight && e.spec.health.type != HealthType::kNone) {
                if (now >= inst.next_probe) {
                  inst.probe_in_flight = true;
                  Instance* ip = &inst;
                  uint64_t gen = inst.generation;
                  HealthSpec hs = e.spec.health;
                  int port = inst.port;
                  submitProbe([this, ip, gen, hs, port] { runProbe(ip, gen, hs, port); });
                } else {
                  next = std::min(next, inst.next_probe);
                }
              }
              break;
            case InstanceState::kStopping:
              if (now >= inst.kill_at) {
                if (inst.handle) (void)inst.handle->signal(SIGKILL);
                inst.kill_at = now + std::chrono::seconds(1);
              }
              next = std::min(next, inst.kill_at);
              break;
            default:
              break;
          }
        }
      }
      if (now >= next_stats) {
        sampleStats();
        next_stats = now + std::chrono::seconds(1);
      }
      next = std::min(next, next_stats);
      if (!spawns.empty()) {
        lock.unlock();
        doSpawns(spawns);
        lock.lock();
        continue;
      }
      wake.wait_until(lock, next);
    }
  }

  void doSpawns(std::vector<SpawnJob>& jobs) {
    for (auto& job : jobs) {
      Instance* inst = job.inst;
      uint64_t gen = job.gen;
      ProcessCallbacks cb;
      std::weak_ptr<Impl> weak = weak_from_this();
      cb.on_line = [weak, inst, gen](OutputStream s, std::string line) {
        if (auto self = weak.lock()) self->onLine(inst, gen, s, std::move(line));
      };
      cb.on_exit = [weak, inst, gen](ExitInfo info) {
        if (auto self = weak.lock()) self->onExit(inst, gen, info);
      };
      auto handle = launcher.spawn(job.spec, std::move(cb));
      {
        std::lock_guard lock(mu);
        if (!handle.ok()) {
          if (inst->generation == gen) {
            setState(*inst, InstanceState::kFailed, handle.status().message());
            event(*inst, "gave-up", "cannot start: " + handle.status().message());
          }
        } else if (inst->generation == gen && inst->state == InstanceState::kStarting) {
          inst->pid = (*handle)->pid();
          inst->handle = std::move(*handle);
          inst->started_steady = Steady::now();
          inst->started_at = options.clock->now();
          inst->last_sample = ProcSample{};
          event(*inst, "started", "pid " + std::to_string(inst->pid));
          if (job.no_health) {
            setState(*inst, InstanceState::kRunning, "");
            event(*inst, "ready", "no health check");
          }
          notifyChanged();
        } else if (inst->generation == gen && inst->state == InstanceState::kStopping) {
          // stop() arrived while we were spawning.
          inst->pid = (*handle)->pid();
          inst->handle = std::move(*handle);
          (void)inst->handle->signal(SIGTERM);
        }
      }
    }
  }

  void sampleStats() {
    for (auto& [n, e] : services)
      for (auto& inst : e.instances) {
        if (inst->pid <= 0) {
          inst->cpu_percent = 0;
          inst->rss = 0;
          continue;
        }
        ProcSample s = readProcSample(inst->pid);
        if (!s.valid) continue;
        if (inst->last_sample.valid && s.at > inst->last_sample.at) {
          double cpu = static_cast<double>(s.cpu_ns - inst->last_sample.cpu_ns);
          double wall = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(s.at - inst->last_sample.at).count());
          inst->cpu_percent = wall > 0 ? 100.0 * cpu / wall : 0;
        }
        inst->rss = s.rss_bytes;
        inst->last_sample = s;
      }
  }

  Status stopLocked(const std::string& service) {
    auto it = services.find(service);
    if (it == services.end()) return NotFound("no service '" + service + "'");
    for (auto& inst : it->second.instances) {
      inst->stop_requested = true;
      if (inst->pid > 0 && isUp(inst->state)) {
        inst->kill_at = Steady::now() + it->second.spec.stop_grace;
        setState(*inst, InstanceState::kStopping, "SIGTERM sent");
        if (inst->handle) (void)inst->handle->signal(SIGTERM);
        event(*inst, "stopping", "SIGTERM");
      } else if (inst->state == InstanceState::kStarting) {
        // Spawn in flight: doSpawns sends SIGTERM once it has a handle.
        inst->kill_at = Steady::now() + it->second.spec.stop_grace;
        setState(*inst, InstanceState::kStopping, "stopping while starting");
      } else if (!isTerminal(inst->state) && inst->state != InstanceState::kStopping) {
        setState(*inst, InstanceState::kStopped, "stopped");
      }
    }
    return OkStatus();
  }

  bool serviceQuiet(const std::string& service) const {
    for (const auto& inst : services.at(service).instances)
      if (inst->pid > 0 || inst->state == InstanceState::kStopping || inst->state == InstanceState::kStarting)
        return false;
    return true;
  }
};

Supervisor::Supervisor(ProcessLauncher& launcher, HealthProber& prober, SupervisorOptions options)
    : impl_(std::make_shared<Impl>(launcher, prober, std::move(options))) {
  for (int i = 0; i < 4; ++i) impl_->probe_threads.emplace_back([this] { impl_->probeWorker(); });
  impl_->loop_thread = std::thread([this] { impl_->loop(); });
}

Supervisor::~Supervisor() {
  stopAll();
  // Anything that outlived its stop_grace (or ignored SIGKILL's group) is killed now,
  // and we wait for the exit so no process is left behind.
  {
    std::unique_lock lock(impl_->mu);
    for (auto& [name, e] : impl_->services)
      for (auto& inst : e.instances)
        if (inst->pid > 0 && inst->handle) (void)inst->handle->signal(SIGKILL);
    impl_->changed.wait_for(lock, std::chrono::seconds(5), [&] {
      for (auto& [name, e] : impl_->services)
        for (auto& inst : e.instances)
          if (inst->pid > 0) return false;
      return true;
    });
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->quit = true;
  }
  impl_->wake.notify_all();
  impl_->loop_thread.join();
  {
    std::lock_guard lock(impl_->probe_mu);
    impl_->probe_quit = true;
  }
  impl_->probe_cv.notify_all();
  for (auto& t : impl_->probe_threads) t.join();
}

Status Supervisor::up(const Manifest& manifest) {
  std::map<std::string, ServiceEntry> entries;
  for (const auto& spec : manifest.services) {
    auto exe = resolveCommand(spec.command, manifest.dir, impl_->options.search_dirs);
    if (!exe.ok())
      return exe.status().withContext(manifest.path + ":" + std::to_string(spec.line) + ": service '" + spec.name + "'");
    ServiceEntry e;
    e.spec = spec;
    e.executable = *exe;
    for (int i = 1; i <= spec.replicas; ++i)
      e.instances.push_back(std::make_unique<Instance>(spec.name, i, impl_->options.log_lines_per_instance));
    entries.emplace(spec.name, std::move(e));
  }
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->services.empty()) return FailedPrecondition("a manifest is already running; stop it first");
    impl_->manifest = manifest;
    impl_->order = manifest.startOrder();
    impl_->services = std::move(entries);
    impl_->shutting_down = false;
  }
  impl_->wake.notify_all();
  return OkStatus();
}

bool Supervisor::waitFor(const std::function<bool(const std::vector<InstanceStatus>&)>& pred,
                         std::chrono::nanoseconds timeout) {
  // The predicate runs without the lock, so it may call back into the supervisor.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<InstanceStatus> snap;
    uint64_t seen;
    {
      std::lock_guard lock(impl_->mu);
      snap = impl_->snapshotLocked();
      seen = impl_->version;
    }
    if (pred(snap)) return true;
    std::unique_lock lock(impl_->mu);
    if (!impl_->changed.wait_until(lock, deadline, [&] { return impl_->version != seen; })) return false;
  }
}

Status Supervisor::waitUntilReady(std::chrono::nanoseconds timeout) {
  std::string failed;
  bool done = waitFor(
      [&](const std::vector<InstanceStatus>& all) {
        for (const auto& s : all) {
          if (s.state == InstanceState::kFailed || s.state == InstanceState::kExited) {
            failed = s.instance + " " + std::string(instanceStateName(s.state)) + ": " + s.reason;
            return true;
          }
        }
        return std::all_of(all.begin(), all.end(), [](const InstanceStatus& s) {
          return s.state == InstanceState::kHealthy || s.state == InstanceState::kRunning;
        });
      },
      timeout);
  if (!failed.empty()) return Unavailable(failed);
  if (!done) {
    std::string slow;
    for (const auto& s : snapshot())
      if (s.state != InstanceState::kHealthy && s.state != InstanceState::kRunning)
        slow += (slow.empty() ? "" : "; ") + s.instance + " " + std::string(instanceStateName(s.state)) +
                (s.reason.empty() ? "" : " (" + s.reason + ")");
    return DeadlineExceeded("not ready in time: " + slow);
  }
  return OkStatus();
}

Status Supervisor::startService(const std::string& service) {
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->services.find(service);
    if (it == impl_->services.end()) return NotFound("no service '" + service + "'");
    for (auto& inst : it->second.instances) {
      if (inst->state == InstanceState::kStopping)
        return FailedPrecondition(inst->name + " is still stopping; try again");
      if (isTerminal(inst->state) || inst->state == InstanceState::kBackoff) {
        inst->stop_requested = false;
        inst->failures = 0;
        impl_->setState(*inst, InstanceState::kPending, "start requested");
      }
    }
  }
  impl_->wake.notify_all();
  return OkStatus();
}

Status Supervisor::stopService(const std::string& service) {
  Status s;
  {
    std::lock_guard lock(impl_->mu);
    s = impl_->stopLocked(service);
  }
  return s;
}

Status Supervisor::restartService(const std::string& service) {
  SANDBANK_RETURN_IF_ERROR(stopService(service));
  std::chrono::nanoseconds grace{0};
  {
    std::lock_guard lock(impl_->mu);
    grace = impl_->services.at(service).spec.stop_grace;
  }
  {
    std::unique_lock lock(impl_->mu);
    if (!impl_->changed.wait_for(lock, grace + std::chrono::seconds(3), [&] { return impl_->serviceQuiet(service); }))
      return DeadlineExceeded(service + " did not stop");
  }
  return startService(service);
}

Status Supervisor::killService(const std::string& service, int sig) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->services.find(service);
  if (it == impl_->services.end()) return NotFound("no service '" + service + "'");
  int sent = 0;
  for (auto& inst : it->second.instances) {
    if (inst->handle && inst->pid > 0) {
      SANDBANK_RETURN_IF_ERROR(inst->handle->signal(sig));
      ++sent;
    }
  }
  if (sent == 0) return FailedPrecondition(service + " has no running instance");
  return OkStatus();
}

void Supervisor::stopAll() {
  std::vector<std::string> order;
  {
    std::lock_guard lock(impl_->mu);
    impl_->shutting_down = true;
    order = impl_->order;
  }
  impl_->wake.notify_all();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    (void)stopService(*it);
    std::unique_lock lock(impl_->mu);
    auto grace = impl_->services.at(*it).spec.stop_grace;
    impl_->changed.wait_for(lock, grace + std::chrono::seconds(3), [&] { return impl_->serviceQuiet(*it); });
  }
}

std::vector<InstanceStatus> Supervisor::snapshot() const {
  std::lock_guard lock(impl_->mu);
  return impl_->snapshotLocked();
}

std::vector<std::string> Supervisor::serviceNames() const {
  std::lock_guard lock(impl_->mu);
  return impl_->order;
}

const Manifest& Supervisor::manifest() const {
  std::lock_guard lock(impl_->mu);
  return impl_->manifest;
}

std::vector<LogLine> Supervisor::logs(const std::string& service, uint64_t after_seq) const {
  std::vector<LogLine> out;
  std::lock_guard lock(impl_->mu);
  for (const auto& [name, e] : impl_->services) {
    if (!service.empty() && name != service) continue;
    for (const auto& inst : e.instances) {
      auto lines = inst->logs.since(after_seq);
      out.insert(out.end(), std::make_move_iterator(lines.begin()), std::make_move_iterator(lines.end()));
    }
  }
  std::sort(out.begin(), out.end(), [](const LogLine& a, const LogLine& b) { return a.seq < b.seq; });
  return out;
}

int Supervisor::subscribeLogs(LogListener listener) {
  std::lock_guard lock(impl_->listeners_mu);
  int id = impl_->next_listener++;
  impl_->log_listeners[id] = std::move(listener);
  return id;
}

int Supervisor::subscribeLifecycle(LifecycleListener listener) {
  std::lock_guard lock(impl_->listeners_mu);
  int id = impl_->next_listener++;
  impl_->lifecycle_listeners[id] = std::move(listener);
  return id;
}

void Supervisor::unsubscribe(int id) {
  std::lock_guard lock(impl_->listeners_mu);
  impl_->log_listeners.erase(id);
  impl_->lifecycle_listeners.erase(id);
}

}  // namespace sandbank::supervisor
