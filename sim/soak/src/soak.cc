// runSoak: wires the simulator, the load generator, the chaos monkey and the audits in
// the order soak.h draws; formatSoakReport / soakReportJson render the result.
// Thread-safety: runSoak() runs on its caller's thread; `log` is written under log_mu
// because the monkey and the supervisor's listeners write to it from their threads.
#include "sandbank/soak/soak.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "sandbank/bus/broker.h"
#include "sandbank/control/simulator.h"
#include "sandbank/kit/store_client.h"
#include "sandbank/load/load_generator.h"
#include "sandbank/supervisor/supervisor.h"

namespace sandbank::soak {
namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A loopback port free right now, for the edge to keep across restarts (a SIGKILLed edge
// comes back on the same port, so the load generator can reach it again).
Result<int> freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable("socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  if (port == 0) return Unavailable("no free loopback port for the edge");
  return port;
}

// Sets an environment variable for the lifetime of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

int64_t totalLag(const bus::Broker& broker) {
  int64_t total = 0;
  for (const auto& g : broker.listGroups()) {
    auto lags = broker.lag(g);
    if (!lags.ok()) continue;
    for (const auto& l : *lags)
      if (l.tp.topic.find(".dlq.") == std::string::npos) total += l.lag;
  }
  return total;
}

std::string seconds(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace

Status validateSoakOptions(const SoakOptions& o) {
  if (o.duration <= 0ms) return InvalidArgument("--duration must be > 0");
  if (o.interval <= 0ms) return InvalidArgument("--interval must be > 0");
  if (o.rate <= 0) return InvalidArgument("--rate must be > 0, got " + std::to_string(o.rate));
  if (o.customers < 1) return InvalidArgument("--customers must be >= 1, got " + std::to_string(o.customers));
  if (o.rate * std::chrono::duration<double>(o.duration).count() < o.customers)
    return InvalidArgument("--duration is too short to sign up " + std::to_string(o.customers) + " customers at --rate " +
                           std::to_string(o.rate));
  if (o.manifest.empty()) return InvalidArgument("--bank must name a manifest");
  return OkStatus();
}

int64_t SoakReport::violations() const {
  int64_t v = invariant_violations + ledger.violations() + bus.violations() + processes.violations();
  if (!check_error.empty()) ++v;
  if (!ledger_error.empty()) ++v;
  if (!bus_error.empty()) ++v;
  if (!recovered) ++v;
  return v;
}

Result<SoakReport> runSoak(const SoakOptions& o, const CheckerFactory& make_checker, std::ostream& log) {
  SANDBANK_RETURN_IF_ERROR(validateSoakOptions(o));
  std::mutex log_mu;
  auto say = [&](const std::string& line) {
    std::lock_guard lock(log_mu);
    log << line << std::endl;
  };

  // A fresh run folder unless told otherwise, so a soak never collides with `sandbank up`.
  std::string temp_dir;
  std::string state_file = o.state_file;
  if (state_file.empty()) {
    temp_dir = (fs::temp_directory_path() / ("sandbank-soak-" + std::to_string(::getpid()) + "-" + std::to_string(o.seed)))
                   .string();
    std::error_code ec;
    fs::remove_all(temp_dir, ec);
    fs::create_directories(temp_dir, ec);
    if (ec) return Unavailable("cannot create " + temp_dir + ": " + ec.message());
    state_file = temp_dir + "/run.json";
  }
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  } cleanup{temp_dir};

  SoakReport report;
  report.seed = o.seed;
  report.duration = o.duration;

  std::unique_ptr<control::Simulator> sim;
  {
    std::optional<ScopedEnv> edge_port;
    const char* given = std::getenv("EDGE_HTTP_PORT");
    if (!given || std::string(given).empty() || std::string(given) == "0") {
      SANDBANK_ASSIGN_OR_RETURN(int port, freeLoopbackPort());
      edge_port.emplace("EDGE_HTTP_PORT", std::to_string(port));
    }
    control::SimulatorOptions so;
    so.manifest_path = o.manifest;
    so.state_file = state_file;
    so.bin_dir = o.bin_dir;
    so.seed = o.seed;
    SANDBANK_ASSIGN_OR_RETURN(sim, control::Simulator::create(so));  // captures the environment
  }
  control::InvariantChecker checker = make_checker ? make_checker(*sim) : control::InvariantChecker();
  if (checker) sim->setChecker(checker);

  supervisor::Supervisor& sup = sim->supervisor();
  PidLog pids;
  int lifecycle = sup.subscribeLifecycle([&](const supervisor::LifecycleEvent& e) {
    pids.add(e.pid);
    if (e.what == "exited" || e.what == "gave-up" || e.what == "unhealthy")
      say("         proc   " + e.instance + " " + e.what + (e.detail.empty() ? "" : " (" + e.detail + ")"));
  });
  auto tracker = std::make_unique<DeliveryTracker>(sim->flow());
  const std::string marker = "SANDBANK_STORE=" + sim->dataAddress();

  // Whatever happens from here, stop the bank and look for survivors.
  auto shutdown = [&] {
    sup.unsubscribe(lifecycle);
    tracker.reset();  // unsubscribes from the hub, which dies with the simulator
    for (const auto& s : sup.snapshot()) pids.add(s.pid);
    sim->stop();
    sim.reset();
    report.processes = auditProcesses(pids.pids(), marker);
  };

  say("soak: starting " + std::to_string(sim->manifest().services.size()) + " services from " + o.manifest);
  if (Status s = sim->up(); !s.ok()) {
    shutdown();
    return s;
  }
  if (Status s = sup.waitUntilReady(o.ready_timeout); !s.ok()) {
    shutdown();
    return Unavailable("the bank did not become ready: " + s.message());
  }
  int edge_port = 0;
  for (const auto& s : sup.snapshot())
    if (s.service == "edge") edge_port = s.http_port;
  if (edge_port == 0) {
    shutdown();
    return FailedPrecondition(o.manifest + " has no edge announcing an HTTP port");
  }

  load::LoadOptions lo;
  lo.customers = o.customers;
  lo.rate = o.rate;
  lo.duration = o.duration;
  lo.seed = o.seed;
  lo.edge = "127.0.0.1:" + std::to_string(edge_port);
  lo.concurrency = o.concurrency;
  load::LoadGenerator gen(lo);
  if (Status s = gen.start(); !s.ok()) {
    shutdown();
    return s;
  }
  say("soak: load " + std::to_string(o.customers) + " customers at " + std::to_string(static_cast<int>(o.rate)) +
      "/s against " + lo.edge + "; a fault every " + seconds(o.interval) + " for " + seconds(o.duration) + ", seed " +
      std::to_string(o.seed));

  ChaosOptions co;
  co.seed = o.seed;
  co.interval = o.interval;
  ChaosMonkey monkey(*sim, co, say);
  monkey.start();

  const auto t0 = SteadyClock::now();
  auto next_progress = t0 + o.progress_every;
  while (SteadyClock::now() - t0 < o.duration) {
    auto until = t0 + o.duration;
    if (o.progress_every > 0ms) until = std::min(until, next_progress);
    gen.waitFor(std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now()) + 1ms);
    if (o.progress_every > 0ms && SteadyClock::now() >= next_progress) {
      std::ostringstream line;
      load::printProgress(gen.snapshot(), line, false);
      std::string text = line.str();
      if (!text.empty() && text.back() == '\n') text.pop_back();
      say("         load   " + text);
      next_progress += o.progress_every;
    }
  }

  // The end of the chaos: no new fault, the load finishes what is in flight, then heal.
  monkey.stop();
  gen.stop();
  gen.wait();
  load::LoadReport load_report = gen.report();
  report.load = load_report.stats;
  say("soak: chaos over; healing");
  report.heal_problems = monkey.healAll();
  report.faults = monkey.faults();
  report.faults_by_kind = monkey.injectedByKind();
  for (const auto& f : report.faults)
    if (!f.injected) ++report.faults_refused;

  // Recovery: every instance healthy again and every consumer group caught up.
  const auto healed_at = SteadyClock::now();
  const auto deadline = healed_at + o.recover_timeout;
  Status ready = DeadlineExceeded("not ready");
  for (;;) {
    auto left = deadline - SteadyClock::now();
    ready = sup.waitUntilReady(std::max<SteadyClock::duration>(left, 0ns));
    if (ready.ok() && totalLag(sim->bus()) == 0) {
      // Healthy and drained at the same moment: recovered.
      if (sup.waitUntilReady(0ns).ok()) {
        report.recovered = true;
        break;
      }
    }
    if (ready.code() == StatusCode::kUnavailable || SteadyClock::now() >= deadline) break;
    std::this_thread::sleep_for(50ms);  // polling the broker's lag: it has no change signal
  }
  report.recover_seconds = std::chrono::duration<double>(SteadyClock::now() - healed_at).count();
  if (!report.recovered) {
    report.recovery_problem = !ready.ok() ? ready.message()
                                          : "consumer lag " + std::to_string(totalLag(sim->bus())) + " left after " +
                                                seconds(o.recover_timeout);
  }
  say("soak: " + std::string(report.recovered ? "recovered" : "NOT recovered") + " in " +
      seconds(std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - healed_at)) +
      (report.recovery_problem.empty() ? "" : ": " + report.recovery_problem));

  // 1. The eight invariants.
  if (checker) {
    control::CheckSpec spec;
    spec.consistency = "ALL";
    spec.settle = o.check_settle;
    auto outcome = checker(spec);
    if (!outcome.ok()) {
      report.check_error = outcome.status().toString();
    } else {
      report.invariants_checked = outcome->invariants;
      report.invariant_violations = static_cast<int64_t>(outcome->violations.size());
      for (const auto& v : outcome->violations)
        report.invariant_details.push_back("invariant " + std::to_string(v.invariant) + ": " + v.subject + ": " +
                                           v.detail + (v.trace_id.empty() ? "" : " (trace " + v.trace_id + ")"));
    }
  } else {
    report.check_error = "no invariant checker was given";
  }

  // 2. Every acknowledged money movement exactly once in the ledger. A movement still
  // settling (e.g. a payment's recovery sweeper) gets a few more looks before it counts
  // as missing.
  auto store = kit::StoreClient::connect(sim->dataAddress(), "soak-audit");
  if (!store.ok()) {
    report.ledger_error = store.status().toString();
  } else {
    for (int attempt = 0;; ++attempt) {
      auto audit = auditLedger(**store, load_report);
      if (!audit.ok()) {
        report.ledger_error = audit.status().toString();
        break;
      }
      report.ledger = std::move(*audit);
      report.ledger_error.clear();
      if (report.ledger.missing == 0 || attempt >= 5) break;
      std::this_thread::sleep_for(2s);  // "eventually": look again
    }
  }

  // 3. Every committed bus record delivered at least once.
  auto deliveries = auditDeliveries(sim->bus(), *tracker);
  if (!deliveries.ok()) report.bus_error = deliveries.status().toString();
  else report.bus = std::move(*deliveries);

  // 4. Shut down and look for orphans.
  say("soak: stopping the bank");
  shutdown();
  return report;
}

std::string formatSoakReport(const SoakReport& r) {
  std::ostringstream out;
  char line[256];
  auto row = [&](const char* what, const std::string& value) {
    std::snprintf(line, sizeof line, "  %-34s %s\n", what, value.c_str());
    out << line;
  };
  auto n = [](int64_t v) { return std::to_string(v); };
  out << "soak report (seed " << r.seed << ", " << seconds(r.duration) << ")\n";
  out << "load\n";
  row("operations attempted", n(static_cast<int64_t>(r.load.attempted)));
  row("acknowledged (2xx)", n(static_cast<int64_t>(r.load.ok)));
  row("declined (business refusal)", n(static_cast<int64_t>(r.load.declined)));
  row("failed", n(static_cast<int64_t>(r.load.failed)));
  for (const auto& [code, count] : r.load.failures_by_code) row(("  failed: " + code).c_str(), n(static_cast<int64_t>(count)));
  row("skipped (prerequisite failed)", n(static_cast<int64_t>(r.load.skipped)));
  out << "faults\n";
  for (int k = 0; k < kFaultKindCount; ++k)
    row(std::string(faultKindName(static_cast<FaultKind>(k))).c_str(), n(r.faults_by_kind[static_cast<size_t>(k)]));
  row("refused", n(r.faults_refused));
  out << "recovery\n";
  row("healthy + lag 0 after healing", r.recovered ? seconds(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                             std::chrono::duration<double>(r.recover_seconds)))
                                                   : "NOT RECOVERED: " + r.recovery_problem);
  out << "checks (violations must be 0)\n";
  std::string inv;
  for (int i : r.invariants_checked) inv += (inv.empty() ? "" : ",") + std::to_string(i);
  row(("invariants " + inv).c_str(), r.check_error.empty() ? n(r.invariant_violations) : "ERROR " + r.check_error);
  const LedgerAudit& l = r.ledger;
  row("acknowledged movements in ledger", r.ledger_error.empty()
                                              ? n(l.found_once) + " of " + n(l.acknowledged) + " exactly once"
                                              : "ERROR " + r.ledger_error);
  row("  missing / duplicated / mismatched", n(l.missing) + " / " + n(l.duplicated) + " / " + n(l.mismatched));
  row("  retransmissions, same authorisation", n(l.retransmissions));
  row("  duplicate postings, any request", n(l.duplicate_origins));
  row("  postings of unanswered requests", n(l.unacknowledged_postings) + " (not a violation)");
  const DeliveryAudit& b = r.bus;
  row("bus records delivered at least once", r.bus_error.empty()
                                                 ? n(b.delivered_records) + " of " + n(b.committed_records) + " (" +
                                                       n(b.groups) + " groups)"
                                                 : "ERROR " + r.bus_error);
  row("  undelivered / lag / dead-lettered", n(b.undelivered_records) + " / " + n(b.lag) + " / " + n(b.dead_lettered));
  row("  delivered more than once", n(b.redelivered_records) + " (idempotent consumers; not a violation)");
  row("processes left after shutdown", n(r.processes.violations()) + " of " + n(r.processes.started) + " started");
  row("VIOLATIONS", n(r.violations()));
  auto list = [&](const char* title, const std::vector<std::string>& items) {
    if (items.empty()) return;
    out << title << "\n";
    for (const auto& i : items) out << "  - " << i << "\n";
  };
  list("invariant violations", r.invariant_details);
  list("ledger audit", l.problems);
  list("bus audit", b.problems);
  list("orphaned processes", r.processes.orphans);
  list("heal problems", r.heal_problems);
  return out.str();
}

std::string soakReportJson(const SoakReport& r) {
  using json = nlohmann::json;
  json failures = json::object();
  for (const auto& [code, count] : r.load.failures_by_code) failures[code] = count;
  json by_kind = json::object();
  for (int k = 0; k < kFaultKindCount; ++k)
    by_kind[std::string(faultKindName(static_cast<FaultKind>(k)))] = r.faults_by_kind[static_cast<size_t>(k)];
  json faults = json::array();
  for (const auto& f : r.faults)
    faults.push_back({{"seq", f.seq}, {"kind", faultKindName(f.kind)}, {"target", f.target}, {"at_ms", f.at.count()},
                      {"hold_ms", f.hold.count()}, {"injected", f.injected}, {"healed", f.healed}, {"error", f.error}});
  json j = {
      {"seed", r.seed},
      {"duration_s", std::chrono::duration<double>(r.duration).count()},
      {"operations",
       {{"attempted", r.load.attempted}, {"acknowledged", r.load.ok}, {"declined", r.load.declined},
        {"failed", r.load.failed}, {"skipped", r.load.skipped}, {"failed_by_reason", failures}}},
      {"faults", {{"by_kind", by_kind}, {"refused", r.faults_refused}, {"log", faults}}},
      {"recovery", {{"recovered", r.recovered}, {"seconds", r.recover_seconds}, {"problem", r.recovery_problem}}},
      {"invariants",
       {{"checked", r.invariants_checked}, {"violations", r.invariant_violations}, {"details", r.invariant_details},
        {"error", r.check_error}}},
      {"ledger",
       {{"acknowledged", r.ledger.acknowledged}, {"found_once", r.ledger.found_once}, {"missing", r.ledger.missing},
        {"duplicated", r.ledger.duplicated}, {"mismatched", r.ledger.mismatched},
        {"retransmissions", r.ledger.retransmissions}, {"duplicate_origins", r.ledger.duplicate_origins},
        {"unacknowledged_postings", r.ledger.unacknowledged_postings}, {"entrysets", r.ledger.entrysets},
        {"problems", r.ledger.problems}, {"error", r.ledger_error}}},
      {"bus",
       {{"groups", r.bus.groups}, {"committed_records", r.bus.committed_records},
        {"delivered_records", r.bus.delivered_records}, {"redelivered_records", r.bus.redelivered_records},
        {"undelivered_records", r.bus.undelivered_records}, {"lag", r.bus.lag}, {"dead_lettered", r.bus.dead_lettered},
        {"deliveries_lost", r.bus.deliveries_lost}, {"problems", r.bus.problems}, {"error", r.bus_error}}},
      {"processes", {{"started", r.processes.started}, {"orphans", r.processes.orphans}}},
      {"violations", r.violations()},
      {"passed", r.passed()},
  };
  return j.dump(2);
}

}  // namespace sandbank::soak
