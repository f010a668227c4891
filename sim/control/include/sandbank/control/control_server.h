// ControlServer: the gRPC control API (sandbank.control.Control) over a Supervisor, on
// 127.0.0.1:0 with server reflection. Every Control call must carry the run's token as
// "authorization: Bearer <token>"; a missing or wrong token gets UNAUTHENTICATED.
// Other components (bus, store, flow) can add their services to the same server.
// Thread-safety: start()/stop() from one thread; handlers run on gRPC's threads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sandbank/control/check.h"
#include "sandbank/core/status.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace sandbank {
class SharedClockOffset;
class Clock;
}  // namespace sandbank
namespace sandbank::supervisor {
class Supervisor;
}  // namespace sandbank::supervisor
namespace sandbank::flow {
class FlowHub;
}  // namespace sandbank::flow
namespace sandbank::faults {
class FaultEngine;
}  // namespace sandbank::faults
namespace sandbank::mesh {
class PayloadDecoder;
}  // namespace sandbank::mesh

namespace sandbank::control {

struct ControlServerOptions {
  std::string token;                 // required for Control calls; empty disables the check
  int port = 0;                      // 0: any free port
  std::function<void()> on_shutdown;  // called (once) by the Shutdown RPC
  // The rest of the run. Each may be null; its RPCs then answer UNIMPLEMENTED with a
  // reason. None is owned; each must outlive the server.
  flow::FlowHub* flow = nullptr;
  faults::FaultEngine* faults = nullptr;
  SharedClockOffset* clock_offset = nullptr;
  const Clock* clock = nullptr;  // simulated time as services see it
  mesh::PayloadDecoder* decoder = nullptr;
};

class ControlServer {
 public:
  ControlServer(supervisor::Supervisor& supervisor, ControlServerOptions options);
  ~ControlServer();

  // Not owned; must outlive the server. Call before start().
  void addService(grpc::Service* service);
  Status start();
  int port() const;
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  // The invariant checker behind the Check RPC (none: FAILED_PRECONDITION). Any time.
  void setChecker(InvariantChecker checker);
  // Ends streaming calls and stops the server; idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sandbank::control
