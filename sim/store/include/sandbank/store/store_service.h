// The factory for the store's gRPC service (sandbank.store.Store), kept free of gRPC
// headers so the simulator can include it cheaply and register the service on its server.
// Thread-safety: the returned service handles concurrent calls; the Cluster must outlive it.
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::store {

class Cluster;

// Serves Execute/Prepare plus the admin and inspection calls over `cluster`.
std::unique_ptr<grpc::Service> makeStoreGrpcService(Cluster& cluster);

}  // namespace sandbank::store
