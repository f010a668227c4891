// bench-scenario: what the scenario runner costs, against the reference bank (bank.yaml)
// brought up once in this process:
//  - per step: N store CQL executes, N bus produces and N ledger.GetBalance calls through
//    the mesh, made from a scenario script (QJSEngine, JSON in and out, the SimulatorLink)
//    against the same N calls made directly from C++ on the same bank (store::Session on
//    the same cluster, Broker::produce, a typed gRPC stub through the same mesh), the two
//    interleaved rep by rep; ratio = scenario time per call / direct time per call;
//  - the whole scenario library: `sandbank run scenarios/` as a child process, timed from
//    start to exit (after this process's bank is stopped), with its pass/fail summary.
//    It takes minutes, so it runs SANDBANK_BENCH_LIBRARY_RUNS times (default 1; 0 skips).
// The bank's services, `sandbank` and sandbank.desc come from this binary's folder, or from
// SANDBANK_BANK_BIN_DIR when set.
// Prints one JSON line last (see bench/README.md). Usage: bench-scenario [source folder].
#include <sys/wait.h>
#include <unistd.h>

#include <QCoreApplication>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/bus/broker.h"
#include "sandbank/control/simulator.h"
#include "sandbank/scenario/bank_link.h"
#include "sandbank/scenario/scenario_engine.h"
#include "sandbank/store/session.h"

namespace {

using SteadyClock = std::chrono::steady_clock;
using json = nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kWarmups = 1;
constexpr int kReps = 5;
constexpr int kCalls = 300;  // per kind of call, per rep
constexpr const char* kTopic = "bench.scenario";
constexpr const char* kAddress = "account:bench:main";
constexpr const char* kInsert = "INSERT INTO bench_scenario.kv (k, v) VALUES (?, ?)";

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double usSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count();
}
double round3(double v) { return std::round(v * 1000) / 1000; }

// The script: three timed steps of kCalls calls each, the same calls the direct side makes.
std::string script() {
  const std::string n = std::to_string(kCalls);
  return "scenario('steps', () => {\n"
         "  step('cql', () => { for (let i = 0; i < " + n + "; i++) store.cql('" + kInsert + "', ['k' + (i % 100), i]); });\n"
         "  step('produce', () => { for (let i = 0; i < " + n + "; i++) bus.produce('" + kTopic + "', 'value-' + i, {key: 'k' + (i % 100)}); });\n"
         "  step('rpc', () => { for (let i = 0; i < " + n + "; i++) rpc('ledger.GetBalance', {address: '" + kAddress + "'}); });\n"
         "});\n";
}

struct PerCall {
  double cql = 0, produce = 0, rpc = 0;  // microseconds per call
};

// The direct side, as a C++ client of the same bank would make the calls.
class Direct {
 public:
  explicit Direct(sandbank::control::Simulator& sim) : sim_(sim), session_(sim.store()) {
    grpc::ChannelArguments args;
    args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, "ledger");
    stub_ = sandbank::bank::ledger::Ledger::NewStub(
        grpc::CreateCustomChannel(sim.meshAddress(), grpc::InsecureChannelCredentials(), args));
  }

  // Gives the address a balance row, so GetBalance reads it as it would a customer's.
  sandbank::Status fund() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    sandbank::bank::ledger::PostEntrySetRequest req;
    req.set_idempotency_key("bench-scenario-opening");
    req.set_description("opening balance");
    req.set_source("bench");
    for (auto [address, minor] : {std::pair<const char*, int64_t>{"scheme:fps:suspense", -100000}, {kAddress, 100000}}) {
      auto* e = req.add_entries();
      e->set_address(address);
      e->mutable_amount()->set_minor_units(minor);
      e->mutable_amount()->set_currency("GBP");
    }
    sandbank::bank::ledger::PostEntrySetResponse resp;
    grpc::Status s = stub_->PostEntrySet(&ctx, req, &resp);
    return s.ok() ? sandbank::OkStatus() : sandbank::Unavailable("opening PostEntrySet: " + s.error_message());
  }

  sandbank::Result<PerCall> run() {
    PerCall out;
    sandbank::store::QueryOptions qo;  // LOCAL_QUORUM, as store.cql's default
    auto t0 = SteadyClock::now();
    for (int i = 0; i < kCalls; ++i) {
      auto r = session_.execute(kInsert, {sandbank::store::Value::text("k" + std::to_string(i % 100)),
                                          sandbank::store::Value::integer(i)}, qo);
      if (!r.ok()) return r.status();
    }
    out.cql = usSince(t0) / kCalls;
    t0 = SteadyClock::now();
    for (int i = 0; i < kCalls; ++i) {
      sandbank::bus::Record r;
      r.key = "k" + std::to_string(i % 100);
      r.value = "value-" + std::to_string(i);
      r.headers.push_back({"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"});
      sandbank::bus::ProduceOptions po;
      po.client_id = "bench";
      std::vector<sandbank::bus::Record> records;
      records.push_back(std::move(r));
      auto ack = sim_.bus().produce(kTopic, std::move(records), po);
      if (!ack.ok()) return ack.status();
    }
    out.produce = usSince(t0) / kCalls;
    t0 = SteadyClock::now();
    for (int i = 0; i < kCalls; ++i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 5s);
      ctx.AddMetadata("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      ctx.AddMetadata("sandbank-source", "bench");
      sandbank::bank::ledger::GetBalanceRequest req;
      req.set_address(kAddress);
      sandbank::bank::ledger::Balance resp;
      grpc::Status s = stub_->GetBalance(&ctx, req, &resp);
      if (!s.ok()) return sandbank::Unavailable("direct GetBalance: " + s.error_message());
    }
    out.rpc = usSince(t0) / kCalls;
    return out;
  }

 private:
  sandbank::control::Simulator& sim_;
  sandbank::store::Session session_;
  std::unique_ptr<sandbank::bank::ledger::Ledger::Stub> stub_;
};

sandbank::Result<PerCall> viaScenario(sandbank::scenario::ScenarioEngine& engine, const sandbank::scenario::ScenarioInfo& s) {
  auto outcome = engine.run(s);
  if (outcome.verdict != sandbank::scenario::Verdict::kPassed) return sandbank::Internal("the bench scenario failed: " + outcome.message);
  PerCall out;
  for (const auto& st : outcome.steps) {
    if (st.name == "cql") out.cql = st.ms * 1000 / kCalls;
    if (st.name == "produce") out.produce = st.ms * 1000 / kCalls;
    if (st.name == "rpc") out.rpc = st.ms * 1000 / kCalls;
  }
  if (out.cql == 0 || out.produce == 0 || out.rpc == 0) return sandbank::Internal("the bench scenario did not time its three steps");
  return out;
}

struct LibraryRun {
  double seconds = 0;
  int passed = -1, failed = -1;
  int exit_code = -1;
};

// `sandbank run --bank <root>/bank.yaml <root>/scenarios`, output to a file in `dir`.
LibraryRun runLibrary(const std::string& bin, const std::string& root, const fs::path& dir, int i) {
  LibraryRun r;
  const fs::path log = dir / ("library-" + std::to_string(i) + ".log");
  const std::string cmd = "'" + bin + "/sandbank' run --bank '" + root + "/bank.yaml' '" + root + "/scenarios' > '" +
                          log.string() + "' 2>&1";
  const auto t0 = SteadyClock::now();
  const int status = std::system(cmd.c_str());
  r.seconds = usSince(t0) / 1e6;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  std::smatch m;
  const std::string s = text.str();
  static const std::regex summary(R"((\d+) passed, (\d+) failed)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), summary); it != std::sregex_iterator(); ++it) {
    r.passed = std::stoi((*it)[1]);
    r.failed = std::stoi((*it)[2]);
  }
  if (r.exit_code != 0) std::fprintf(stderr, "library run %d exited %d; its output is in %s\n", i, r.exit_code, log.c_str());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  QCoreApplication app(argc, argv);
  const std::string own_bin = fs::canonical("/proc/self/exe").parent_path().string();
  const char* bank_bin = std::getenv("SANDBANK_BANK_BIN_DIR");  // the services, sandbank and sandbank.desc
  const std::string bin = bank_bin != nullptr ? fs::canonical(bank_bin).string() : own_bin;
  const std::string root = argc > 1 ? argv[1] : fs::canonical(fs::path(own_bin) / "../..").string();
  const fs::path dir = fs::temp_directory_path() / ("sandbank-bench-scenario-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  if (!fs::exists(fs::path(root) / "bank.yaml")) {
    std::fprintf(stderr, "no %s/bank.yaml (pass the source folder as the first argument)\n", root.c_str());
    return 1;
  }

  json metrics = json::object(), baseline = json::object(), ratios = json::object(), goal = json::object();
  {
    sandbank::control::SimulatorOptions o;
    o.manifest_path = root + "/bank.yaml";
    o.state_file = (dir / "state/run.json").string();
    o.bin_dir = bin;
    auto created = sandbank::control::Simulator::create(o);
    if (!created.ok()) {
      std::fprintf(stderr, "%s\n", created.status().toString().c_str());
      return 1;
    }
    auto sim = std::move(*created);
    sandbank::Status up = sim->up();
    if (up.ok()) up = sim->supervisor().waitUntilReady(60s);
    if (!up.ok()) {
      std::fprintf(stderr, "the bank did not come up: %s\n", up.toString().c_str());
      return 1;
    }
    sandbank::store::Session session(sim->store());
    for (const char* ddl : {"CREATE KEYSPACE IF NOT EXISTS bench_scenario WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
                            "CREATE TABLE IF NOT EXISTS bench_scenario.kv (k text PRIMARY KEY, v bigint)"}) {
      if (auto r = session.execute(ddl); !r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().toString().c_str());
        return 1;
      }
    }
    sandbank::bus::TopicConfig tc;
    tc.partitions = 8;
    if (auto s = sim->bus().createTopic(kTopic, tc); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.toString().c_str());
      return 1;
    }
    sandbank::scenario::SimulatorLinkOptions lo;
    lo.state_file = o.state_file;
    lo.descriptor_path = bin + "/sandbank.desc";
    lo.restart_services_on_reset = false;
    auto link = sandbank::scenario::makeSimulatorLink(*sim, lo);
    if (!link.ok()) {
      std::fprintf(stderr, "%s\n", link.status().toString().c_str());
      return 1;
    }
    const fs::path js = dir / "steps.js";
    std::ofstream(js) << script();
    sandbank::scenario::EngineOptions eo;
    eo.link = link->get();
    sandbank::scenario::ScenarioEngine engine(eo);
    auto list = engine.load(js.string());
    if (!list.ok() || list->size() != 1) {
      std::fprintf(stderr, "the bench script did not load: %s\n", list.status().toString().c_str());
      return 1;
    }
    Direct direct(*sim);
    if (auto s = direct.fund(); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.toString().c_str());
      return 1;
    }
    std::vector<double> s_cql, s_produce, s_rpc, d_cql, d_produce, d_rpc, r_cql, r_produce, r_rpc;
    for (int rep = 0; rep < kWarmups + kReps; ++rep) {
      // Alternate which side goes first, so neither always runs on a warmer cache.
      sandbank::Result<PerCall> a = sandbank::Internal("not run"), b = sandbank::Internal("not run");
      if (rep % 2 == 0) {
        a = viaScenario(engine, list->front());
        b = direct.run();
      } else {
        b = direct.run();
        a = viaScenario(engine, list->front());
      }
      if (!a.ok() || !b.ok()) {
        std::fprintf(stderr, "%s\n", (!a.ok() ? a.status() : b.status()).toString().c_str());
        return 1;
      }
      if (rep < kWarmups) continue;
      s_cql.push_back(a->cql), s_produce.push_back(a->produce), s_rpc.push_back(a->rpc);
      d_cql.push_back(b->cql), d_produce.push_back(b->produce), d_rpc.push_back(b->rpc);
      r_cql.push_back(a->cql / b->cql), r_produce.push_back(a->produce / b->produce), r_rpc.push_back(a->rpc / b->rpc);
      std::fprintf(stderr, "rep %d: cql %.1f/%.1f us, produce %.1f/%.1f us, rpc %.1f/%.1f us (scenario/direct)\n",
                   rep - kWarmups + 1, a->cql, b->cql, a->produce, b->produce, a->rpc, b->rpc);
    }
    metrics["scenario_cql_us_per_call"] = round3(median(s_cql));
    metrics["scenario_produce_us_per_call"] = round3(median(s_produce));
    metrics["scenario_rpc_us_per_call"] = round3(median(s_rpc));
    baseline["direct_cql_us_per_call"] = round3(median(d_cql));
    baseline["direct_produce_us_per_call"] = round3(median(d_produce));
    baseline["direct_rpc_us_per_call"] = round3(median(d_rpc));
    metrics["scenario_overhead_us_per_step_cql"] = round3(median(s_cql) - median(d_cql));
    metrics["scenario_overhead_us_per_step_produce"] = round3(median(s_produce) - median(d_produce));
    metrics["scenario_overhead_us_per_step_rpc"] = round3(median(s_rpc) - median(d_rpc));
    ratios["cql_step_vs_direct"] = round3(median(r_cql));
    ratios["produce_step_vs_direct"] = round3(median(r_produce));
    ratios["rpc_step_vs_direct"] = round3(median(r_rpc));
    goal["cql_step_vs_direct"] = "<=2.0";
    goal["produce_step_vs_direct"] = "<=2.0";
    goal["rpc_step_vs_direct"] = "<=1.5";
    metrics["calls_per_step"] = kCalls;
    metrics["reps"] = kReps;
    link->reset();  // the link goes before the simulator it talks to
    sim->stop();
  }

  int runs = 1;
  if (const char* e = std::getenv("SANDBANK_BENCH_LIBRARY_RUNS")) runs = std::atoi(e);
  if (runs > 0) {
    std::vector<double> secs;
    LibraryRun last;
    for (int i = 0; i < runs; ++i) {
      last = runLibrary(bin, root, dir, i);
      secs.push_back(last.seconds);
      std::fprintf(stderr, "library run %d: %.1f s, %d passed, %d failed\n", i + 1, last.seconds, last.passed, last.failed);
    }
    metrics["library_seconds"] = round3(median(secs));
    metrics["library_runs"] = runs;
    metrics["library_scenarios_passed"] = last.passed;
    metrics["library_scenarios_failed"] = last.failed;
    if (last.passed + last.failed > 0)
      metrics["library_seconds_per_scenario"] = round3(median(secs) / (last.passed + last.failed));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  json out = {{"bench", "scenario"}, {"metrics", metrics}, {"baseline", baseline}, {"ratios", ratios}, {"goal", goal}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
