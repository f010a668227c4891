// The factory for the bus's gRPC service (sandbank.bus.Bus), kept free of gRPC headers
// so the simulator can include it cheaply and register the service on its own server.
// Thread-safety: the returned service may be called from any gRPC thread; it only
// forwards to the thread-safe Broker.
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::bus {

class Broker;

// `broker` must outlive the service.
std::unique_ptr<grpc::Service> makeBusGrpcService(Broker& broker);

}  // namespace sandbank::bus
