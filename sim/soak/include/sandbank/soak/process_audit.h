// After a soak's shutdown, is any process of the run left? Two independent looks:
// every pid the supervisor ever started must be gone (a zombie counts as left: nobody
// reaped it), and no process may still carry the run's SANDBANK_STORE address in its
// environment (which also finds a service's own children, re-parented after it died).
// Thread-safety: stateless functions; PidLog may be fed from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace sandbank::soak {

// The pids a run's supervisor started, fed from its lifecycle events.
class PidLog {
 public:
  void add(int pid);
  std::set<int> pids() const;

 private:
  mutable std::mutex mu_;
  std::set<int> pids_;  // guarded by mu_
};

struct ProcessAudit {
  int64_t started = 0;             // processes the supervisor started during the run
  std::vector<std::string> orphans;  // "pid 123 (ledger) state S", one per survivor

  int64_t violations() const { return static_cast<int64_t>(orphans.size()); }
};

// `environment_marker` is a "NAME=value" every child of the run had (the run's
// SANDBANK_STORE); empty skips the environment scan. This process is never reported.
ProcessAudit auditProcesses(const std::set<int>& started, const std::string& environment_marker);

}  // namespace sandbank::soak
