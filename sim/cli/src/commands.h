// The subcommands behind runCli(). Each returns the process exit code.
// Thread-safety: each is called once from main's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sandbank::cli {

struct UpOptions {
  std::string manifest = "bank.yaml";
  std::string state_file;  // run-state file to write
  bool until_healthy = false;  // stop everything and exit once all are ready
  bool follow_logs = false;    // print service logs once ready
  std::string record;          // SQLite recording of the run; empty: none
  std::chrono::nanoseconds timeout = std::chrono::seconds(60);
};
int runUp(const UpOptions& options);

struct ClientOptions {
  std::string state_file;
};
int runPs(const ClientOptions& c, const std::string& service, bool json);
int runLogs(const ClientOptions& c, const std::string& service, bool follow, int tail);
// action: start, stop, restart, kill
int runServiceAction(const ClientOptions& c, const std::string& action, const std::string& service,
                     const std::string& signal);
int runDown(const ClientOptions& c);

struct FlowDumpOptions {
  std::string recording;  // a recording file
  std::string trace;      // empty: the most recent trace
  bool all = false;       // every trace
  std::string format = "text";
};
// From a recording file, or from the running simulator when no file is given.
int runFlowDump(const ClientOptions& c, const FlowDumpOptions& o);

// `sandbank clock [--advance 7d]`
int runClock(const ClientOptions& c, const std::string& advance);

struct FaultOptions {
  std::string id, source, destination, method, topic, table, action, delay, jitter, code, message;
  std::vector<std::string> side_a, side_b;
  double probability = 0;
  std::string start_after, stop_after;
  int64_t max_hits = 0;
};
int runFaultAdd(const ClientOptions& c, const FaultOptions& f);
int runFaultList(const ClientOptions& c);
int runFaultRemove(const ClientOptions& c, const std::string& id);

// `sandbank check`: the bank invariant checker of the running simulator. Exit 0 when
// clean, 1 on violations.
struct CheckCommandOptions {
  std::string consistency = "ALL";
  std::chrono::milliseconds settle{5000};
  bool json = false;
};
int runCheck(const ClientOptions& c, const CheckCommandOptions& check);

// `sandbank load`: simulated customers against the edge of the running simulator (or
// the edge given as host:port).
struct LoadCommandOptions {
  int customers = 10;
  double rate = 50;
  std::string duration = "10s";
  uint64_t seed = 1;
  std::string edge;  // empty: ask the running simulator where the edge listens
  int concurrency = 8;
};
int runLoadCommand(const ClientOptions& c, const LoadCommandOptions& load);

// `sandbank soak`: the bank in this process under load and a seeded chaos monkey, then
// sim/soak's checks. Exit 0 when everything held, 1 on any violation, 2 on bad options
// or a bank that would not start.
struct SoakCommandOptions {
  std::string bank = "bank.yaml";
  std::string duration = "60s";
  std::string interval = "3s";
  uint64_t seed = 1;
  double rate = 20;
  int customers = 20;
  std::string json;  // also write the report here as JSON
};
int runSoakCommand(const SoakCommandOptions& options);

// `sandbank run`: scenarios against a bank brought up once (see scenarios/README.md).
struct RunCommandOptions {
  std::vector<std::string> paths;
  std::string junit, record, html, filter;
  std::string bank = "bank.yaml";
  uint64_t seed = 1;
  // --attach[=STATE_FILE]: run against a running `sandbank up` instead of bringing a bank
  // up. "" = not attached; kAttachDefault = the run-state file of --state, or the default.
  std::string attach;
  std::string state_file;  // the global --state
};
inline constexpr const char* kAttachDefault = "(default)";
// Only in builds with Qt (SANDBANK_HAVE_SCENARIOS); otherwise `run` says it is missing.
int runScenarioCommand(const RunCommandOptions& o);

// The folder holding the running executable (build/bin), where services are looked up.
std::string binDir();

}  // namespace sandbank::cli
