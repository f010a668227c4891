// printProgress, printSummary and runLoad: what `sandbank load` shows. Pure formatting
// plus one LoadGenerator driven from the calling thread.
#include <cstdio>
#include <ostream>
#include <string>

#include "sandbank/core/duration.h"
#include "sandbank/load/load_generator.h"

namespace sandbank::load {
namespace {

std::string formatLatency(std::chrono::nanoseconds d) {
  double ms = static_cast<double>(d.count()) / 1e6;
  char buf[32];
  if (ms >= 1000) {
    std::snprintf(buf, sizeof buf, "%.2fs", ms / 1000);
  } else if (ms >= 1) {
    std::snprintf(buf, sizeof buf, "%.1fms", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%.2fms", ms);
  }
  return buf;
}

std::string progressLine(const LoadStats& s) {
  double secs = static_cast<double>(s.elapsed.count()) / 1e9;
  double pct = s.attempted ? 100.0 * static_cast<double>(s.failed) / static_cast<double>(s.attempted) : 0.0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%.1fs  ops %llu  rate %.1f/s  errors %llu (%.1f%%)  p50 %s  p99 %s", secs,
                static_cast<unsigned long long>(s.attempted), s.current_rate,
                static_cast<unsigned long long>(s.failed), pct, formatLatency(s.p50).c_str(),
                formatLatency(s.p99).c_str());
  return buf;
}

}  // namespace

void printProgress(const LoadStats& stats, std::ostream& out, bool tty) {
  if (tty) {
    out << '\r' << progressLine(stats) << "\033[K" << std::flush;
  } else {
    out << progressLine(stats) << '\n' << std::flush;
  }
}

void printSummary(const LoadReport& report, std::ostream& out) {
  const LoadStats& s = report.stats;
  double secs = static_cast<double>(s.elapsed.count()) / 1e9;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%llu operations in %.1fs (%.1f/s): ok %llu, declined %llu, failed %llu, skipped %llu\n",
                static_cast<unsigned long long>(s.attempted), secs,
                secs > 0 ? static_cast<double>(s.attempted) / secs : 0.0, static_cast<unsigned long long>(s.ok),
                static_cast<unsigned long long>(s.declined), static_cast<unsigned long long>(s.failed),
                static_cast<unsigned long long>(s.skipped));
  out << buf;
  std::snprintf(buf, sizeof buf, "  %-16s %9s %9s %9s %9s %9s\n", "kind", "attempted", "ok", "declined", "failed",
                "skipped");
  out << buf;
  for (int i = 0; i < kOpKindCount; ++i) {
    const KindCounts& k = s.by_kind[static_cast<size_t>(i)];
    if (k.attempted == 0 && k.skipped == 0) continue;
    std::snprintf(buf, sizeof buf, "  %-16s %9llu %9llu %9llu %9llu %9llu\n",
                  std::string(opKindName(static_cast<OpKind>(i))).c_str(),
                  static_cast<unsigned long long>(k.attempted), static_cast<unsigned long long>(k.ok),
                  static_cast<unsigned long long>(k.declined), static_cast<unsigned long long>(k.failed),
                  static_cast<unsigned long long>(k.skipped));
    out << buf;
  }
  if (!s.failures_by_code.empty()) {
    out << "failures by code:";
    for (const auto& [code, n] : s.failures_by_code) out << "  " << code << " " << n;
    out << "\nfailures by HTTP status:";
    for (const auto& [status, n] : s.failures_by_status) {
      out << "  " << (status == 0 ? std::string("none") : std::to_string(status)) << " " << n;
    }
    out << '\n';
  }
  if (!s.declines_by_reason.empty()) {
    out << "declines:";
    for (const auto& [reason, n] : s.declines_by_reason) out << "  " << reason << " " << n;
    out << '\n';
  }
  out << "latency: p50 " << formatLatency(s.p50) << "  p99 " << formatLatency(s.p99) << "  max "
      << formatLatency(s.max) << '\n';
  out << "money movements acknowledged: " << report.movements.size() << '\n';
  if (s.retries) out << "sign-ups retried: " << s.retries << '\n';
  if (s.retransmit_mismatches) {
    out << "WARNING: " << s.retransmit_mismatches
        << " retransmitted authorises got a different authorisation id than the original\n";
  }
}

int runLoad(const LoadOptions& options, std::ostream& out, bool tty, const std::atomic<bool>* cancel) {
  if (Status st = validateOptions(options); !st.ok()) {
    out << "sandbank load: " << st.message() << '\n';
    return 2;
  }
  LoadGenerator generator(options);
  if (Status st = generator.start(); !st.ok()) {
    out << "sandbank load: " << st.message() << '\n';
    return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  char buf[256];
  std::string span = options.duration.count() ? "for " + formatDuration(options.duration) : "until stopped";
  std::snprintf(buf, sizeof buf, "load: %d customers, %.1f ops/s %s, seed %llu, %d workers, edge %s\n",
                options.customers, options.rate, span.c_str(),
                static_cast<unsigned long long>(options.seed), options.concurrency, options.edge.c_str());
  out << buf << std::flush;
  std::chrono::nanoseconds last_print{0};
  bool cancelled = false;
  while (!generator.waitFor(cancel ? std::chrono::milliseconds(100) : std::chrono::milliseconds(1000))) {
    if (cancel && !cancelled && cancel->load()) {
      cancelled = true;
      generator.stop();
      continue;
    }
    auto elapsed = generator.snapshot().elapsed;
    // With a cancel flag the loop wakes every 100 ms; still print once a second.
    if (cancel && elapsed - last_print < std::chrono::milliseconds(950)) continue;
    last_print = elapsed;
    printProgress(generator.snapshot(), out, tty);
  }
  LoadReport report = generator.report();
  printProgress(report.stats, out, tty);
  if (tty) out << '\n';
  if (cancelled) out << "stopped early on request\n";
  printSummary(report, out);
  if (report.stats.ok == 0) {
    out << "sandbank load: no operation succeeded against " << options.edge << '\n';
    return 1;
  }
  return 0;
}

}  // namespace sandbank::load
