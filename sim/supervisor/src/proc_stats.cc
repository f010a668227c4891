// /proc/<pid>/stat (fields 14 and 15: utime, stime in clock ticks) and /proc/<pid>/statm.
#include "proc_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace sandbank::supervisor {

ProcSample readProcSample(int pid) {
  ProcSample s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return s;
  // The command name (field 2) may contain spaces; fields resume after the last ')'.
  auto close = content.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(content.substr(close + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  static const long page = ::sysconf(_SC_PAGESIZE);
  s.cpu_ns = (utime + stime) * (1'000'000'000 / ticks);
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  int64_t size = 0, resident = 0;
  if (statm >> size >> resident) s.rss_bytes = resident * page;
  s.at = std::chrono::steady_clock::now();
  s.valid = true;
  return s;
}

}  // namespace sandbank::supervisor
