// The kit logger: one process-wide Logger writing JSON lines to stdout, flushed per line
// so the supervisor sees them at once.
#include "sandbank/kit/log.h"

#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include "sandbank/kit/clock.h"
#include "sandbank/kit/trace.h"

namespace sandbank::kit {
namespace {

void writeLine(const LogRecord& r) {
  std::string line = formatLogLine(r);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

std::mutex g_mu;
std::unique_ptr<Logger> g_logger;  // guarded by g_mu (creation only)

Logger& logger() {
  std::lock_guard lock(g_mu);
  if (!g_logger) {
    g_logger = std::make_unique<Logger>("service", clock());
    g_logger->setSink(writeLine);
  }
  return *g_logger;
}

}  // namespace

void initLogging(std::string_view service, LogLevel min_level) {
  auto next = std::make_unique<Logger>(std::string(service), clock());
  next->setMinLevel(min_level);
  next->setSink(writeLine);
  std::lock_guard lock(g_mu);
  // The old logger is kept alive: other threads may hold a reference to it.
  static std::vector<std::unique_ptr<Logger>> retired;
  if (g_logger) retired.push_back(std::move(g_logger));
  g_logger = std::move(next);
}

void log(LogLevel level, std::string_view message, LogFields fields) {
  logger().log(level, message, std::move(fields), currentTrace().trace_id);
}

}  // namespace sandbank::kit
