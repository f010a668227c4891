// Reads a process's CPU time and resident memory from /proc. Thread-safety: pure.
#pragma once

#include <chrono>
#include <cstdint>

namespace sandbank::supervisor {

struct ProcSample {
  bool valid = false;
  int64_t cpu_ns = 0;     // user + system time
  int64_t rss_bytes = 0;
  std::chrono::steady_clock::time_point at{};
};

ProcSample readProcSample(int pid);

}  // namespace sandbank::supervisor
