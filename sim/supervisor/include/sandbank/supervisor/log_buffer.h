// LogBuffer: the captured output of one service instance, bounded to the last N lines,
// plus LogLine, the unit the supervisor streams to the CLI, the control API and the GUI.
// Thread-safety: all methods are safe from any thread (one mutex per buffer).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "sandbank/core/clock.h"
#include "sandbank/core/log.h"

namespace sandbank::supervisor {

struct LogLine {
  uint64_t seq = 0;  // global order across all instances, starting at 1
  TimePoint time;
  std::string service;
  std::string instance;
  bool is_stderr = false;
  LogLevel level = LogLevel::kInfo;
  std::string trace;
  std::string message;  // the "msg" of a JSON line, or the whole line otherwise
  std::string raw;      // the line exactly as the process wrote it
};

class LogBuffer {
 public:
  explicit LogBuffer(size_t capacity) : capacity_(capacity) {}

  void append(LogLine line);
  // Lines with seq > after_seq, oldest first.
  std::vector<LogLine> since(uint64_t after_seq) const;
  // How many lines were pushed out because the buffer was full.
  uint64_t dropped() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<LogLine> lines_;  // guarded by mu_
  uint64_t dropped_ = 0;       // guarded by mu_
};

}  // namespace sandbank::supervisor
