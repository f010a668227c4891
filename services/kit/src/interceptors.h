// The kit's gRPC interceptors: the server side takes `traceparent` from incoming
// metadata into the thread's current trace (a new trace when absent); the client side
// writes a child context and the caller's name into outgoing metadata.
// Thread-safety: factories are stateless; interceptors live for one call.
#pragma once

#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

namespace sandbank::kit {

class TraceServerInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;
};

class TraceClientInterceptorFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo* info) override;
};

}  // namespace sandbank::kit
