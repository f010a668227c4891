// ChaosMonkey: the seeded draw of faults, their injection through the simulator's own
// handles (supervisor, store cluster, bus broker, fault engine) and their heals.
// Thread-safety: see chaos_monkey.h; mu_ guards faults_, pending_ and stopping_.
#include "sandbank/soak/chaos_monkey.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "sandbank/bus/broker.h"
#include "sandbank/control/simulator.h"
#include "sandbank/faults/fault_engine.h"
#include "sandbank/store/cluster.h"
#include "sandbank/supervisor/supervisor.h"

namespace sandbank::soak {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr const char* kRulePrefix = "soak-partition-";

bool isRunning(supervisor::InstanceState s) {
  return s == supervisor::InstanceState::kHealthy || s == supervisor::InstanceState::kRunning ||
         s == supervisor::InstanceState::kUnhealthy || s == supervisor::InstanceState::kStarting;
}

}  // namespace

std::string_view faultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kKill: return "kill";
    case FaultKind::kPause: return "pause";
    case FaultKind::kStoreNodeDown: return "store_node_down";
    case FaultKind::kPartition: return "partition";
    case FaultKind::kStallGroup: return "stall_group";
  }
  return "unknown";
}

ChaosMonkey::ChaosMonkey(control::Simulator& sim, ChaosOptions options, LogSink log)
    : sim_(sim), options_(options), log_(std::move(log)), rng_state_(options.seed ^ 0x5eed'c4a0'5000'0001ULL) {}

ChaosMonkey::~ChaosMonkey() { stop(); }

void ChaosMonkey::start() {
  started_at_ = SteadyClock::now();
  thread_ = std::thread([this] { loop(); });
}

void ChaosMonkey::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// SplitMix64: the same sequence with any standard library.
uint64_t ChaosMonkey::draw() {
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::chrono::milliseconds ChaosMonkey::drawHold() {
  double u = static_cast<double>(draw() >> 11) / static_cast<double>(1ULL << 53);
  double fraction = options_.min_hold + u * (options_.max_hold - options_.min_hold);
  auto ms = static_cast<int64_t>(fraction * static_cast<double>(options_.interval.count()));
  return std::chrono::milliseconds(std::max<int64_t>(ms, 100));
}

std::string ChaosMonkey::stamp() const {
  char buf[32];
  double s = std::chrono::duration<double>(SteadyClock::now() - started_at_).count();
  std::snprintf(buf, sizeof buf, "%7.1fs", s);
  return buf;
}

void ChaosMonkey::loop() {
  int64_t next_index = 1;
  for (;;) {
    SteadyClock::time_point next_fault = started_at_ + next_index * options_.interval;
    std::vector<Heal> due;
    bool inject = false;
    {
      std::unique_lock lock(mu_);
      SteadyClock::time_point wake = next_fault;
      for (const auto& h : pending_) wake = std::min(wake, h.due);
      cv_.wait_until(lock, wake, [&] { return stopping_; });
      if (stopping_) return;
      auto now = SteadyClock::now();
      auto split = std::partition(pending_.begin(), pending_.end(), [&](const Heal& h) { return h.due > now; });
      due.assign(std::make_move_iterator(split), std::make_move_iterator(pending_.end()));
      pending_.erase(split, pending_.end());
      inject = now >= next_fault;
    }
    for (auto& h : due) runHeal(h);
    if (inject) {
      injectOne();
      ++next_index;
    }
  }
}

void ChaosMonkey::runHeal(Heal& heal) {
  Status s = heal.run();
  {
    std::lock_guard lock(mu_);
    for (auto& f : faults_)
      if (f.seq == heal.seq) f.healed = s.ok();
  }
  if (log_) log_(stamp() + "  heal   " + heal.what + (s.ok() ? "" : "  FAILED: " + s.message()));
}

bool ChaosMonkey::tryInject(FaultKind kind, InjectedFault* f, Heal* heal) {
  supervisor::Supervisor& sup = sim_.supervisor();
  f->kind = kind;
  switch (kind) {
    case FaultKind::kKill:
    case FaultKind::kPause: {
      std::vector<std::string> running;
      for (const auto& s : sup.snapshot())
        if (s.pid > 0 && isRunning(s.state) &&
            std::find(running.begin(), running.end(), s.service) == running.end())
          running.push_back(s.service);
      if (running.empty()) return false;
      std::sort(running.begin(), running.end());
      f->target = running[draw() % running.size()];
      if (kind == FaultKind::kKill) {
        Status s = sup.killService(f->target, SIGKILL);
        f->injected = s.ok();
        f->error = s.ok() ? "" : s.message();
        return true;
      }
      Status s = sup.killService(f->target, SIGSTOP);
      f->injected = s.ok();
      f->error = s.ok() ? "" : s.message();
      if (s.ok()) {
        std::string service = f->target;
        heal->what = "pause " + service + " (SIGCONT)";
        heal->run = [this, service] {
          Status r = sim_.supervisor().killService(service, SIGCONT);
          // Restarted meanwhile (the health check gave up on it): nothing is stopped.
          if (!r.ok() && r.code() == StatusCode::kFailedPrecondition) return OkStatus();
          return r;
        };
      }
      return true;
    }
    case FaultKind::kStoreNodeDown: {
      std::vector<store::NodeInfo> nodes = sim_.store().nodes();
      std::vector<store::NodeInfo> up;
      for (const auto& n : nodes) {
        if (n.state == store::NodeState::kDown) return false;  // one at a time keeps quorum
        up.push_back(n);
      }
      if (up.empty()) return false;
      const store::NodeInfo& n = up[draw() % up.size()];
      f->target = n.name;
      Status s = sim_.store().nodeDown(n.id);
      f->injected = s.ok();
      f->error = s.ok() ? "" : s.message();
      if (s.ok()) {
        store::NodeId id = n.id;
        heal->what = "store " + n.name + " up";
        heal->run = [this, id] { return sim_.store().nodeUp(id); };
      }
      return true;
    }
    case FaultKind::kPartition: {
      std::vector<std::string> services = sup.serviceNames();
      std::sort(services.begin(), services.end());
      if (services.size() < 2) return false;
      size_t a = draw() % services.size();
      size_t b = draw() % (services.size() - 1);
      if (b >= a) ++b;
      faults::FaultRule rule;
      rule.id = kRulePrefix + std::to_string(f->seq);
      rule.action.kind = faults::FaultActionKind::kPartition;
      rule.action.side_a = {services[a]};
      rule.action.side_b = {services[b]};
      f->target = services[a] + "|" + services[b];
      Status s = sim_.faults().addRule(rule);
      f->injected = s.ok();
      f->error = s.ok() ? "" : s.message();
      if (s.ok()) {
        std::string id = rule.id;
        heal->what = "partition " + f->target + " removed";
        heal->run = [this, id] { return sim_.faults().removeRule(id); };
      }
      return true;
    }
    case FaultKind::kStallGroup: {
      std::vector<std::string> groups = sim_.bus().listGroups();
      std::sort(groups.begin(), groups.end());
      if (groups.empty()) return false;
      f->target = groups[draw() % groups.size()];
      Status s = sim_.bus().stallGroup(f->target, true);
      f->injected = s.ok();
      f->error = s.ok() ? "" : s.message();
      if (s.ok()) {
        std::string group = f->target;
        heal->what = "group " + group + " resumed";
        heal->run = [this, group] { return sim_.bus().stallGroup(group, false); };
      }
      return true;
    }
  }
  return false;
}

void ChaosMonkey::injectOne() {
  InjectedFault f;
  {
    std::lock_guard lock(mu_);
    f.seq = static_cast<int64_t>(faults_.size()) + 1;
  }
  f.at = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started_at_);
  // The drawn kind, or the next one that applies (e.g. a node is already down).
  int first = static_cast<int>(draw() % kFaultKindCount);
  Heal heal;
  bool tried = false;
  for (int i = 0; i < kFaultKindCount && !tried; ++i) {
    heal = Heal{};
    tried = tryInject(static_cast<FaultKind>((first + i) % kFaultKindCount), &f, &heal);
  }
  if (!tried) {
    if (log_) log_(stamp() + "  fault  none applicable");
    return;
  }
  if (heal.run) {
    f.hold = drawHold();
    heal.due = SteadyClock::now() + f.hold;
    heal.seq = f.seq;
  }
  std::string line = stamp() + "  fault  #" + std::to_string(f.seq) + " " + std::string(faultKindName(f.kind)) +
                     " " + f.target;
  if (heal.run) line += "  (for " + std::to_string(f.hold.count()) + "ms)";
  if (!f.injected) line += "  REFUSED: " + f.error;
  {
    std::lock_guard lock(mu_);
    faults_.push_back(f);
    if (heal.run) pending_.push_back(std::move(heal));
  }
  if (log_) log_(line);
}

std::vector<std::string> ChaosMonkey::healAll() {
  std::vector<Heal> pending;
  {
    std::lock_guard lock(mu_);
    pending.swap(pending_);
  }
  std::vector<std::string> problems;
  for (auto& h : pending) {
    Status s = h.run();
    {
      std::lock_guard lock(mu_);
      for (auto& f : faults_)
        if (f.seq == h.seq) f.healed = s.ok();
    }
    if (log_) log_(stamp() + "  heal   " + h.what + (s.ok() ? "" : "  FAILED: " + s.message()));
    if (!s.ok()) problems.push_back(h.what + ": " + s.message());
  }
  // Belt and braces: nothing the monkey does may outlive the soak.
  for (const auto& n : sim_.store().nodes())
    if (n.state == store::NodeState::kDown)
      if (Status s = sim_.store().nodeUp(n.id); !s.ok()) problems.push_back("bring " + n.name + " up: " + s.message());
  for (const auto& g : sim_.bus().listGroups()) (void)sim_.bus().stallGroup(g, false);
  for (const auto& r : sim_.faults().listRules())
    if (r.rule.id.rfind(kRulePrefix, 0) == 0) (void)sim_.faults().removeRule(r.rule.id);
  for (const auto& s : sim_.supervisor().serviceNames()) (void)sim_.supervisor().killService(s, SIGCONT);
  return problems;
}

std::vector<InjectedFault> ChaosMonkey::faults() const {
  std::lock_guard lock(mu_);
  return faults_;
}

std::array<int64_t, kFaultKindCount> ChaosMonkey::injectedByKind() const {
  std::array<int64_t, kFaultKindCount> out{};
  std::lock_guard lock(mu_);
  for (const auto& f : faults_)
    if (f.injected) ++out[static_cast<int>(f.kind)];
  return out;
}

}  // namespace sandbank::soak
