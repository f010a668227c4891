// LogBuffer: a bounded deque.
#include "sandbank/supervisor/log_buffer.h"

#include <algorithm>

namespace sandbank::supervisor {

void LogBuffer::append(LogLine line) {
  std::lock_guard lock(mu_);
  lines_.push_back(std::move(line));
  while (lines_.size() > capacity_) {
    lines_.pop_front();
    ++dropped_;
  }
}

std::vector<LogLine> LogBuffer::since(uint64_t after_seq) const {
  std::lock_guard lock(mu_);
  auto first = std::upper_bound(lines_.begin(), lines_.end(), after_seq,
                                [](uint64_t s, const LogLine& l) { return s < l.seq; });
  return std::vector<LogLine>(first, lines_.end());
}

uint64_t LogBuffer::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace sandbank::supervisor
