// Mesh: the layer-7 gRPC proxy every service call goes through. It routes on the
// :authority (the target service name), spreads calls round-robin over the healthy
// endpoints a ServiceDirectory lists, forwards payloads as raw bytes, injects a W3C
// traceparent when a call has none, consults the FaultEngine per call and reports each
// call as a FlowEvent of kind kRpc.
// Thread-safety: start() and shutdown() from one owning thread; port()/address() from any.
// The proxy itself runs on a small fixed pool of completion-queue threads.
//
//   client --(authority "ledger")--> Mesh --round robin--> ledger endpoint 1
//                                      |                  ledger endpoint 2
//                                      +-- FaultEngine::decide, FlowSink::emit
#pragma once

#include <memory>
#include <string>

#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/faults/fault_engine.h"
#include "sandbank/flow/flow_event.h"
#include "sandbank/mesh/service_directory.h"

namespace sandbank::mesh {

class PayloadDecoder;

struct MeshOptions {
  // Required. Must outlive the mesh.
  const ServiceDirectory* directory = nullptr;
  // Optional; when set, consulted for every call. Must outlive the mesh.
  faults::FaultEngine* faults = nullptr;
  // Optional; receives one kRpc event per finished call. Must outlive the mesh.
  flow::FlowSink* sink = nullptr;
  // Simulated time for event timestamps; SystemClock when null.
  const Clock* clock = nullptr;
  // Optional; names the request message type (payload_type) of known methods.
  const PayloadDecoder* decoder = nullptr;
  // Threads, each with its own completion queue; a call stays on the queue that
  // accepted it. One is the default: on a 2-core machine a second thread costs more in
  // wake-ups handed between threads than it gains (bench-mesh: unary p50 ratio ~1.65x
  // with one thread, ~1.85-2.0x with two). Raise it for many concurrent callers.
  int threads = 1;
  std::string listen_address = "127.0.0.1:0";
  // Copy the first request message of each call into its FlowEvent.
  bool record_payloads = true;
};

class Mesh {
 public:
  // Binds and starts serving. InvalidArgument without a directory; Unavailable when the
  // address cannot be bound.
  static Result<std::unique_ptr<Mesh>> start(MeshOptions options);
  ~Mesh();  // shuts down
  Mesh(const Mesh&) = delete;
  Mesh& operator=(const Mesh&) = delete;

  int port() const;
  std::string address() const;  // "127.0.0.1:<port>"

  // Cancels calls in flight (callers see CANCELLED or UNAVAILABLE), stops the threads.
  // Idempotent.
  void shutdown();

  class Impl;

 private:
  explicit Mesh(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sandbank::mesh
