// auditProcesses: /proc lookups for survivors of a run.
// Thread-safety: stateless; PidLog's set is guarded by its mutex.
#include "sandbank/soak/process_audit.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace sandbank::soak {
namespace {

// "name state" from /proc/<pid>/stat, or empty when the process is gone.
std::string describePid(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  auto open = line.find('(');
  auto close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= line.size()) return line;
  return line.substr(open + 1, close - open - 1) + " state " + line.substr(close + 2, 1);
}

bool environmentHas(int pid, const std::string& marker) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  if (!in) return false;
  std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t start = 0;
  while (start < env.size()) {
    size_t end = env.find('\0', start);
    if (end == std::string::npos) end = env.size();
    if (env.compare(start, end - start, marker) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

void PidLog::add(int pid) {
  if (pid <= 0) return;
  std::lock_guard lock(mu_);
  pids_.insert(pid);
}

std::set<int> PidLog::pids() const {
  std::lock_guard lock(mu_);
  return pids_;
}

ProcessAudit auditProcesses(const std::set<int>& started, const std::string& environment_marker) {
  ProcessAudit out;
  out.started = static_cast<int64_t>(started.size());
  const int self = static_cast<int>(::getpid());
  std::set<int> reported;
  for (int pid : started) {
    if (pid == self) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) continue;
    std::string what = describePid(pid);
    if (what.empty()) continue;
    out.orphans.push_back("pid " + std::to_string(pid) + " (" + what + ") outlived the run");
    reported.insert(pid);
  }
  if (!environment_marker.empty()) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      int pid = std::stoi(name);
      if (pid == self || reported.count(pid)) continue;
      if (!environmentHas(pid, environment_marker)) continue;
      std::string what = describePid(pid);
      if (what.empty()) continue;
      out.orphans.push_back("pid " + std::to_string(pid) + " (" + what + ") still has " + environment_marker);
    }
  }
  return out;
}

}  // namespace sandbank::soak
