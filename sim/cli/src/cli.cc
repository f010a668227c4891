// Argument parsing for `sandbank` with CLI11, which gives every subcommand --help.
#include "sandbank/cli/cli.h"

#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "sandbank/core/duration.h"

namespace sandbank::cli {

int runCli(int argc, char** argv) {
  CLI::App app{"sandbank: run a whole microservice bank on this machine, watch it and break it"};
  app.require_subcommand(1);
  std::string state_file;
  app.add_option("--state", state_file, "run-state file of the simulator (default: $SANDBANK_STATE_DIR/run.json)");

  UpOptions up;
  std::string timeout = "60s";
  auto* up_cmd = app.add_subcommand("up", "Start every service in the manifest and supervise them (foreground)");
  up_cmd->add_option("-f,--file", up.manifest, "manifest to run")->capture_default_str();
  up_cmd->add_flag("--until-healthy", up.until_healthy,
                   "exit once every service is ready (0) or one failed (1), stopping everything");
  up_cmd->add_flag("--logs", up.follow_logs, "print service output once everything is up");
  up_cmd->add_option("--record", up.record, "record every event, process change and log line to this SQLite file");
  up_cmd->add_option("--timeout", timeout, "how long services may take to become ready")->capture_default_str();

  ClientOptions client;
  std::string service, signal = "KILL";
  bool json = false, follow = false;
  int tail = 0;
  auto* ps = app.add_subcommand("ps", "List services and instances of the running simulator");
  ps->add_option("service", service, "only this service");
  ps->add_flag("--json", json, "one JSON object per instance");

  auto* logs = app.add_subcommand("logs", "Print a service's captured output (all services when omitted)");
  logs->add_option("service", service, "service name");
  logs->add_flag("-f,--follow", follow, "keep printing new lines");
  logs->add_option("-n,--tail", tail, "only the last N lines");

  std::map<std::string, CLI::App*> actions;
  for (auto [name, help] : {std::pair{"start", "Start a stopped or failed service"},
                            std::pair{"stop", "Stop a service (SIGTERM, then SIGKILL after its stop_grace)"},
                            std::pair{"restart", "Stop then start a service"},
                            std::pair{"kill", "Send a signal to a service; its restart policy applies"}}) {
    auto* cmd = app.add_subcommand(name, help);
    cmd->add_option("service", service, "service name")->required();
    if (std::string(name) == "kill") cmd->add_option("-s,--signal", signal, "KILL, TERM, INT, STOP, CONT or HUP")->capture_default_str();
    actions[name] = cmd;
  }
  FlowDumpOptions flow_dump;
  bool dump = false;
  auto* flow_cmd = app.add_subcommand("flow", "Show recorded message flow as a sequence diagram");
  flow_cmd->add_flag("--dump", dump, "print the trace (the default action)");
  flow_cmd->add_option("--trace", flow_dump.trace, "trace id (default: the most recent trace)");
  flow_cmd->add_flag("--all", flow_dump.all, "every trace, oldest first");
  flow_cmd->add_option("--format", flow_dump.format, "text, json or mermaid")->capture_default_str();
  flow_cmd->add_option("recording", flow_dump.recording,
                       "recording file (from sandbank up --record); default: the running simulator");

  std::string advance;
  auto* clock_cmd = app.add_subcommand("clock", "Show or advance the simulated clock every service reads");
  clock_cmd->add_option("--advance", advance, "move simulated time forward, e.g. 7d or 90m");

  auto* fault_cmd = app.add_subcommand("fault", "Add, list and remove fault rules (mesh, bus and store)");
  fault_cmd->require_subcommand(1);
  FaultOptions fault;
  auto* fault_add = fault_cmd->add_subcommand("add", "Add a fault rule");
  fault_add->add_option("id", fault.id, "rule name")->required();
  fault_add->add_option("--action", fault.action, "delay, fail, drop or partition")->required();
  fault_add->add_option("--source", fault.source, "calling service");
  fault_add->add_option("--destination", fault.destination, "called service");
  fault_add->add_option("--method", fault.method, "method glob, e.g. 'sandbank.bank.ledger.Ledger/*'");
  fault_add->add_option("--topic", fault.topic, "bus topic");
  fault_add->add_option("--table", fault.table, "store table");
  fault_add->add_option("--delay", fault.delay, "delay: how long, e.g. 250ms");
  fault_add->add_option("--jitter", fault.jitter, "delay: +/- jitter");
  fault_add->add_option("--code", fault.code, "fail: gRPC code name (default UNAVAILABLE)");
  fault_add->add_option("--message", fault.message, "fail: status message");
  fault_add->add_option("--side-a", fault.side_a, "partition: services on one side");
  fault_add->add_option("--side-b", fault.side_b, "partition: services on the other side");
  fault_add->add_option("--probability", fault.probability, "0..1 (default 1)");
  fault_add->add_option("--start-after", fault.start_after, "inactive until this much simulated time passed");
  fault_add->add_option("--stop-after", fault.stop_after, "inactive after this much simulated time");
  fault_add->add_option("--times", fault.max_hits, "apply only this many times");
  auto* fault_ls = fault_cmd->add_subcommand("ls", "List fault rules with hit counts");
  std::string fault_id;
  auto* fault_rm = fault_cmd->add_subcommand("rm", "Remove a fault rule (every rule with --all)");
  fault_rm->add_option("id", fault_id, "rule name");
  bool fault_all = false;
  fault_rm->add_flag("--all", fault_all, "remove every rule");

  auto* down = app.add_subcommand("down", "Stop the running simulator and every service it started");

  LoadCommandOptions load_opts;
  auto* load_cmd = app.add_subcommand("load", "Run simulated customers against the bank's edge (deterministic per seed)");
  load_cmd->add_option("--customers", load_opts.customers, "customers to sign up")->capture_default_str();
  load_cmd->add_option("--rate", load_opts.rate, "operations per second")->capture_default_str();
  load_cmd->add_option("--duration", load_opts.duration, "how long, e.g. 30s or 5m")->capture_default_str();
  load_cmd->add_option("--seed", load_opts.seed, "the same seed plans the same run")->capture_default_str();
  load_cmd->add_option("--concurrency", load_opts.concurrency, "workers, one connection each")->capture_default_str();
  load_cmd->add_option("--edge", load_opts.edge, "host:port of the edge's HTTP API (default: ask the running simulator)");

  SoakCommandOptions soak_opts;
  auto* soak_cmd = app.add_subcommand("soak", "Run the bank under load and a seeded chaos monkey, then check nothing was lost");
  soak_cmd->add_option("--duration", soak_opts.duration, "how long the chaos lasts, e.g. 60s or 10m")->capture_default_str();
  soak_cmd->add_option("--seed", soak_opts.seed, "seeds the monkey and the load")->capture_default_str();
  soak_cmd->add_option("--interval", soak_opts.interval, "time between faults")->capture_default_str();
  soak_cmd->add_option("--rate", soak_opts.rate, "load operations per second")->capture_default_str();
  soak_cmd->add_option("--customers", soak_opts.customers, "simulated customers")->capture_default_str();
  soak_cmd->add_option("--bank", soak_opts.bank, "the manifest to bring up")->capture_default_str();
  soak_cmd->add_option("--json", soak_opts.json, "also write the report here as JSON");

  RunCommandOptions run_opts;
  auto* run_cmd = app.add_subcommand("run", "Run scenario files against the bank (CI's entry point)");
  run_cmd->add_option("paths", run_opts.paths, ".js files or folders of them")->required();
  run_cmd->add_option("--junit", run_opts.junit, "write JUnit XML here");
  run_cmd->add_option("--record", run_opts.record, "write the SQLite recording here");
  run_cmd->add_option("--html", run_opts.html, "write a standalone HTML report here");
  run_cmd->add_option("--seed", run_opts.seed, "seed for randomness, load and faults")->capture_default_str();
  run_cmd->add_option("--filter", run_opts.filter, "only scenarios whose <file>/<name> matches this regex");
  run_cmd->add_option("--bank", run_opts.bank, "the manifest to bring up")->capture_default_str();
  run_cmd
      ->add_flag(std::string("--attach{") + kAttachDefault + "}", run_opts.attach,
                 "run against a bank already running (`sandbank up`) instead of bringing one up; "
                 "--attach=STATE_FILE names its run-state file (default: --state, else $SANDBANK_STATE_DIR/run.json)");

  CheckCommandOptions check;
  std::string settle = "5s";
  auto* check_cmd = app.add_subcommand("check", "Check the bank invariants of the running simulator (exit 1 on violations)");
  check_cmd->add_option("--consistency", check.consistency, "CL of the checker's own reads")->capture_default_str();
  check_cmd->add_option("--settle", settle, "wait this long for consumers to catch up first")->capture_default_str();
  check_cmd->add_flag("--json", check.json, "print the report as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  client.state_file = state_file;
  up.state_file = state_file;
  run_opts.state_file = state_file;

  if (up_cmd->parsed()) {
    auto t = parseDuration(timeout);
    if (!t.ok()) {
      std::cerr << "sandbank up: --timeout: " << t.status().message() << "\n";
      return 2;
    }
    up.timeout = *t;
    return runUp(up);
  }
  if (ps->parsed()) return runPs(client, service, json);
  if (logs->parsed()) return runLogs(client, service, follow, tail);
  for (const auto& [name, cmd] : actions)
    if (cmd->parsed()) return runServiceAction(client, name, service, signal);
  if (down->parsed()) return runDown(client);
  if (load_cmd->parsed()) return runLoadCommand(client, load_opts);
  if (soak_cmd->parsed()) return runSoakCommand(soak_opts);
  if (run_cmd->parsed()) {
#ifdef SANDBANK_HAVE_SCENARIOS
    return runScenarioCommand(run_opts);
#else
    std::cerr << "sandbank run: this build has no scenario engine (configured with SANDBANK_ENGINE_ONLY)\n";
    return 2;
#endif
  }
  if (check_cmd->parsed()) {
    auto d = parseDuration(settle);
    if (!d.ok()) {
      std::cerr << "sandbank check: --settle: " << d.status().message() << "\n";
      return 2;
    }
    check.settle = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    return runCheck(client, check);
  }
  if (flow_cmd->parsed()) return runFlowDump(client, flow_dump);
  if (clock_cmd->parsed()) return runClock(client, advance);
  if (fault_add->parsed()) return runFaultAdd(client, fault);
  if (fault_ls->parsed()) return runFaultList(client);
  if (fault_rm->parsed()) {
    if (fault_id.empty() && !fault_all) {
      std::cerr << "sandbank fault rm: give a rule id, or --all\n";
      return 2;
    }
    return runFaultRemove(client, fault_all ? "" : fault_id);
  }
  return 2;
}

}  // namespace sandbank::cli
