// The service status table shared by `sandbank up` (live) and `sandbank ps`.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace sandbank::cli {

struct StatusRow {
  std::string instance, state, pid, port, restarts, uptime, cpu, rss, note;
};

// Column-aligned text with a header line; `color` adds ANSI colours to the state column.
std::string renderStatusTable(const std::vector<StatusRow>& rows, bool color);

std::string formatUptime(double seconds);
std::string formatBytes(long long bytes);

}  // namespace sandbank::cli
