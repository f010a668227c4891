// BankLink: everything a scenario script can reach and change in a running bank, as one
// operation table ("rpc", "http", "bus.produce", "store.cql", "faults.add", ...; the
// list and each operation's arguments are in scenarios/README.md). The engine turns
// script calls into invoke() calls with JSON arguments and hands the JSON answer back to
// the script. makeSimulatorLink gives one over a control::Simulator in this process,
// makeRemoteLink one over the control port of a bank started elsewhere (`sandbank up`);
// both answer every operation with the same JSON and error codes.
// Thread-safety: called from the one thread that runs scripts.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandbank/core/result.h"
#include "sandbank/flow/flow_event.h"

namespace sandbank::control {
class Simulator;
}  // namespace sandbank::control

namespace sandbank::scenario {

struct InvariantReport {
  bool clean = true;
  std::string text;  // the checker's report for people
};

class BankLink {
 public:
  virtual ~BankLink() = default;

  // Runs one operation. The answer is JSON for the script. Errors carry what the script
  // sees as `e.code`: a gRPC code name (UNAVAILABLE), or a Kafka or Cassandra error name
  // when the message starts with one ("Unavailable: ...", "UnknownTopicOrPartition: ...").
  virtual Result<nlohmann::json> invoke(const std::string& op, const nlohmann::json& args) = 0;

  // The events of one trace, oldest first (empty when none are kept).
  virtual std::vector<flow::FlowEvent> traceEvents(const std::string& trace_id) = 0;

  // Runs the bank invariant checker. nullopt when the run has none.
  virtual Result<std::optional<InvariantReport>> check() = 0;

  // Puts the bank back to a clean state before a scenario (faults cleared, nodes up,
  // tables truncated, topics emptied, stopped services started). Errors say what could
  // not be reset.
  virtual Status reset() = 0;
};

struct LinkOptions {
  std::string state_file;       // the run-state file the simulator wrote (control address, token)
  std::string descriptor_path;  // build/bin/sandbank.desc
  // Extra tables to truncate on reset, "keyspace.table"; tables seen in the flow are
  // truncated anyway.
  std::vector<std::string> reset_tables;
  // Restart every service on reset, so in-memory caches do not outlive truncated tables.
  bool restart_services_on_reset = true;
  std::chrono::milliseconds ready_timeout{60000};
};
using SimulatorLinkOptions = LinkOptions;

// The link over a running in-process simulator (which must outlive it). Errors:
// NotFound/InvalidArgument when the descriptor set cannot be read, or the run-state file
// is missing.
Result<std::unique_ptr<BankLink>> makeSimulatorLink(control::Simulator& sim, SimulatorLinkOptions options);

// The link over the control port of a running bank whose run-state file is
// options.state_file (the bus and the store are served on the same port, behind the same
// token). The mesh's address, which the run-state file does not carry, is read from the
// environment of a running service process (SANDBANK_MESH), so the bank must run on this
// machine as the same user. Operations the control port cannot reach fail with
// UNIMPLEMENTED "... needs the in-process bank" (store.rebuild). Errors: as
// makeSimulatorLink, and UNAVAILABLE when the bank does not answer.
Result<std::unique_ptr<BankLink>> makeRemoteLink(LinkOptions options);

}  // namespace sandbank::scenario
