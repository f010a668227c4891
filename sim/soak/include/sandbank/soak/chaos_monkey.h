// ChaosMonkey: every `interval` it injects one seeded fault into a running Simulator -
// SIGKILL a service, SIGSTOP one (SIGCONT later), take a store node down (up later),
// partition two services (rule removed later), stall a consumer group (resumed later) -
// and heals each temporary fault after a seeded hold. Every fault and heal is logged as
// it happens and kept for the report.
// Thread-safety: start(), stop() and healAll() from one thread; faults() from any. The
// monkey's own thread is the only one that injects while it runs.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sandbank/core/status.h"

namespace sandbank::control {
class Simulator;
}  // namespace sandbank::control

namespace sandbank::soak {

enum class FaultKind : int { kKill = 0, kPause = 1, kStoreNodeDown = 2, kPartition = 3, kStallGroup = 4 };
inline constexpr int kFaultKindCount = 5;
// "kill", "pause", "store_node_down", "partition", "stall_group".
std::string_view faultKindName(FaultKind kind);

struct InjectedFault {
  int64_t seq = 0;                      // 1, 2, ... in injection order
  FaultKind kind = FaultKind::kKill;
  std::string target;                   // "ledger", "node-2", "p2p|fraud", a group name
  std::chrono::milliseconds at{0};      // since start()
  std::chrono::milliseconds hold{0};    // planned time until healed; 0 for a kill
  bool injected = false;                // false: the action was refused (error says why)
  bool healed = false;                  // a temporary fault that was undone
  std::string error;
};

struct ChaosOptions {
  uint64_t seed = 1;
  std::chrono::milliseconds interval{3000};
  // A temporary fault is healed after a hold drawn uniformly from this fraction of the
  // interval, so at most about one of each is in force at a time.
  double min_hold = 0.3;
  double max_hold = 0.8;
};

class ChaosMonkey {
 public:
  using LogSink = std::function<void(const std::string& line)>;
  // `sim` must be up and must outlive the monkey. `log` receives one line per fault and
  // heal, from the monkey's thread.
  ChaosMonkey(control::Simulator& sim, ChaosOptions options, LogSink log);
  ~ChaosMonkey();  // stop()s; does not heal
  ChaosMonkey(const ChaosMonkey&) = delete;
  ChaosMonkey& operator=(const ChaosMonkey&) = delete;

  // Starts the monkey's thread; the first fault comes one interval later.
  void start();
  // No further faults; returns once the thread has ended. Pending heals stay pending.
  void stop();
  // Runs every pending heal now, then makes sure nothing the monkey can do is left in
  // force: every store node up, every group resumed, every soak fault rule removed,
  // SIGCONT to every service. Call after stop(). Returns the problems it met (empty when
  // everything healed).
  std::vector<std::string> healAll();

  std::vector<InjectedFault> faults() const;
  std::array<int64_t, kFaultKindCount> injectedByKind() const;

 private:
  struct Heal {
    std::chrono::steady_clock::time_point due;
    int64_t seq = 0;
    std::string what;
    std::function<Status()> run;
  };

  void loop();
  void injectOne();
  uint64_t draw();
  std::chrono::milliseconds drawHold();
  bool tryInject(FaultKind kind, InjectedFault* fault, Heal* heal);
  void runHeal(Heal& heal);
  std::string stamp() const;

  control::Simulator& sim_;
  ChaosOptions options_;
  LogSink log_;
  uint64_t rng_state_;  // only the monkey's thread (or healAll after stop) touches it
  std::chrono::steady_clock::time_point started_at_;

  mutable std::mutex mu_;
  std::condition_variable cv_;     // waits on mu_; woken by stop()
  bool stopping_ = false;          // guarded by mu_
  std::vector<InjectedFault> faults_;  // guarded by mu_
  std::vector<Heal> pending_;          // guarded by mu_
  std::thread thread_;
};

}  // namespace sandbank::soak
