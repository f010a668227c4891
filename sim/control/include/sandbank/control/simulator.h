// Simulator: the composition root of one run - the shared simulated clock, the flow hub
// and its recording, the supervisor and the control API - started and stopped as one.
// `sandbank up` and the desktop app both run one of these.
//
//   Simulator ──owns──> SharedClockOffset (mapped file every service reads)
//             ├──────> FlowHub ──> Recorder (SQLite file, optional)
//             ├──────> FaultEngine (seeded) <── consulted by the mesh
//             ├──────> Broker (bus) + Cluster (store) ──> data server (SANDBANK_BUS/STORE)
//             ├──────> Mesh (SANDBANK_MESH) ──routes by──> SupervisorDirectory
//             ├──────> Supervisor ──(process and log events)──> FlowHub / Recorder
//             └──────> ControlServer (gRPC, token) + run-state file
//
// Every engine emits into the one FlowHub, so a trace joins RPC, bus and store events.
//
// Thread-safety: start() and stop() from one thread; accessors from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "sandbank/control/check.h"
#include "sandbank/core/clock_file.h"
#include "sandbank/core/result.h"
#include "sandbank/flow/flow_hub.h"
#include "sandbank/flow/recorder.h"
#include "sandbank/supervisor/supervisor.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace sandbank::bus {
class Broker;
}  // namespace sandbank::bus
namespace sandbank::store {
class Cluster;
}  // namespace sandbank::store
namespace sandbank::faults {
class FaultEngine;
}  // namespace sandbank::faults
namespace sandbank::mesh {
class Mesh;
class PayloadDecoder;
}  // namespace sandbank::mesh

namespace sandbank::control {

class ControlServer;
class ServiceNameSink;
class SupervisorDirectory;

struct SimulatorOptions {
  std::string manifest_path;
  std::string state_file;   // run-state file; empty: defaultRunStatePath()
  std::string record_path;  // SQLite recording; empty: no recording
  std::string bin_dir;      // where services are looked up (build/bin)
  uint64_t seed = 1;
  int store_nodes = 3;      // replica nodes of the store, all in dc1
};

class Simulator {
 public:
  // Loads the manifest, creates the run folder and clock, opens the recording, starts
  // the control API and writes the run-state file. Services are not started yet.
  // Errors: InvalidArgument for a bad manifest (file:line), FailedPrecondition when
  // another simulator already owns the state file.
  static Result<std::unique_ptr<Simulator>> create(SimulatorOptions options);
  ~Simulator();  // stop()s

  // Starts every service (dependency order; returns at once).
  Status up();
  // Stops every service, closes the recording, removes the run-state file. Idempotent.
  void stop();

  supervisor::Supervisor& supervisor() { return *supervisor_; }
  flow::FlowHub& flow() { return *hub_; }
  bus::Broker& bus() { return *bus_; }
  store::Cluster& store() { return *store_; }
  faults::FaultEngine& faults() { return *faults_; }
  // The run's recording, or null when it records nothing. Hosts add their own rows to it
  // (the scenario runner's results) while the run goes on; it is closed by stop().
  flow::Recorder* recorder() { return recorder_.get(); }
  std::string meshAddress() const;
  std::string dataAddress() const;  // the bus and store gRPC services
  SharedClockOffset& clockOffset() { return *clock_offset_; }
  const Clock& clock() const { return *clock_; }
  const supervisor::Manifest& manifest() const { return manifest_; }
  std::string controlAddress() const;
  // The invariant checker behind the control API's Check (plugged in by the host, which
  // knows the bank; see services/invariants).
  void setChecker(InvariantChecker checker);
  // Called when a client asks the simulator to shut down (sandbank down).
  void setShutdownHandler(std::function<void()> handler);

 private:
  Simulator();

  SimulatorOptions options_;
  supervisor::Manifest manifest_;
  std::string state_file_;
  std::string run_dir_;
  std::shared_ptr<SharedClockOffset> clock_offset_;
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<flow::FlowHub> hub_;
  std::unique_ptr<ServiceNameSink> name_sink_;  // in front of hub_ for the bus and the supervisor
  std::shared_ptr<flow::Recorder> recorder_;
  std::unique_ptr<faults::FaultEngine> faults_;
  std::unique_ptr<bus::Broker> bus_;
  std::unique_ptr<store::Cluster> store_;
  std::vector<std::unique_ptr<grpc::Service>> data_services_;
  std::unique_ptr<grpc::Server> data_server_;
  int data_port_ = 0;
  std::unique_ptr<mesh::PayloadDecoder> decoder_;
  std::unique_ptr<SupervisorDirectory> directory_;
  std::unique_ptr<mesh::Mesh> mesh_;
  std::unique_ptr<supervisor::ProcessLauncher> launcher_;
  std::unique_ptr<supervisor::HealthProber> prober_;
  std::unique_ptr<supervisor::Supervisor> supervisor_;
  std::vector<std::unique_ptr<grpc::Service>> control_services_;  // must outlive control_
  std::unique_ptr<ControlServer> control_;
  std::function<void()> on_shutdown_;
  std::mutex shutdown_mu_;  // guards on_shutdown_
  // Housekeeping the engines need from their host: bus session expiry and retention
  // (Broker::tick) and the store's hint dispatcher (Cluster::deliverHints).
  std::thread housekeeping_;
  std::mutex housekeeping_mu_;
  std::condition_variable housekeeping_cv_;  // waits on housekeeping_mu_
  bool housekeeping_stop_ = false;           // guarded by housekeeping_mu_
  bool stopped_ = false;
  bool wrote_state_ = false;  // the run-state file is ours to remove
};

}  // namespace sandbank::control
