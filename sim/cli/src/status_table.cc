// Status table rendering.
#include "status_table.h"

#include <algorithm>
#include <cstdio>

namespace sandbank::cli {
namespace {

const char* colorFor(const std::string& state) {
  if (state == "healthy" || state == "running") return "\033[32m";
  if (state == "starting" || state == "pending" || state == "stopping" || state == "backoff") return "\033[33m";
  if (state == "failed" || state == "unhealthy" || state == "exited") return "\033[31m";
  return "\033[2m";
}

}  // namespace

std::string formatUptime(double s) {
  if (s <= 0) return "-";
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) / 60) % 60);
  return buf;
}

std::string formatBytes(long long b) {
  if (b <= 0) return "-";
  char buf[32];
  if (b < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.0fK", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.1fM", b / (1024.0 * 1024.0));
  return buf;
}

std::string renderStatusTable(const std::vector<StatusRow>& rows, bool color) {
  std::vector<StatusRow> all;
  all.push_back({"INSTANCE", "STATE", "PID", "PORT", "RESTARTS", "UPTIME", "CPU", "RSS", "HEALTH / REASON"});
  all.insert(all.end(), rows.begin(), rows.end());
  auto fields = [](const StatusRow& r) {
    return std::vector<const std::string*>{&r.instance, &r.state, &r.pid, &r.port, &r.restarts, &r.uptime, &r.cpu, &r.rss, &r.note};
  };
  std::vector<size_t> width(9, 0);
  for (const auto& r : all) {
    auto f = fields(r);
    for (size_t i = 0; i < f.size(); ++i) width[i] = std::max(width[i], f[i]->size());
  }
  std::string out;
  for (size_t row = 0; row < all.size(); ++row) {
    auto f = fields(all[row]);
    for (size_t i = 0; i < f.size(); ++i) {
      bool paint = color && row > 0 && i == 1;
      if (paint) out += colorFor(*f[i]);
      out += *f[i];
      if (paint) out += "\033[0m";
      if (i + 1 < f.size()) out += std::string(width[i] - f[i]->size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace sandbank::cli
