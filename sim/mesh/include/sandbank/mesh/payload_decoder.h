// PayloadDecoder: turns payload bytes into JSON on demand. Types come from the build's
// descriptor set (build/bin/sandbank.desc) and, for a user's own services that the set
// does not know, from the service's gRPC server reflection; fetched descriptors are cached.
// Thread-safety: every method may be called from any thread (one mutex guards the
// descriptor database and the caches). Reflection fetches block the caller.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sandbank/core/result.h"
#include "sandbank/flow/flow_event.h"

namespace sandbank::mesh {

class ServiceDirectory;

// What the descriptors say about one gRPC method.
struct MethodShape {
  std::string request_type;   // "sandbank.testing.EchoRequest"
  std::string response_type;
  bool client_streaming = false;
  bool server_streaming = false;
};

class PayloadDecoder {
 public:
  // Loads a serialized google.protobuf.FileDescriptorSet. NotFound when the file is
  // missing, InvalidArgument when it does not parse or its files do not link.
  static Result<std::unique_ptr<PayloadDecoder>> fromDescriptorSetFile(const std::string& path);
  // A decoder with no descriptors of its own: everything comes from reflection.
  static std::unique_ptr<PayloadDecoder> empty();
  ~PayloadDecoder();

  // Where to find a service's endpoints for reflection (may be null: no reflection).
  // Must outlive the decoder.
  void setDirectory(const ServiceDirectory* directory);

  // "sandbank.testing.EchoRequest" for "/sandbank.testing.Echo/Echo" (leading '/' optional).
  // Only looks at descriptors already loaded: never goes to the network. NotFound otherwise.
  Result<std::string> requestTypeOf(std::string_view method) const;
  Result<std::string> responseTypeOf(std::string_view method) const;
  // Types and streaming kinds of `method`; same rules as requestTypeOf. Cached, so cheap
  // enough for the mesh to call once per call.
  Result<MethodShape> methodShape(std::string_view method) const;

  // Decodes `bytes` as the message `type` ("pkg.Message"). When the type is unknown and
  // `service` is non-empty, asks that service (through the directory) by reflection.
  // NotFound for unknown types, InvalidArgument for bytes that do not parse.
  Result<std::string> messageToJson(std::string_view type, std::string_view bytes,
                                    std::string_view service = {});
  // Decodes a request (or response) of `method`, using reflection on `service` when the
  // method is unknown.
  Result<std::string> requestToJson(std::string_view method, std::string_view bytes,
                                    std::string_view service = {});
  Result<std::string> responseToJson(std::string_view method, std::string_view bytes,
                                     std::string_view service = {});
  // Decodes a kRpc event's payload: its payload_type when set, else its method's request
  // type, asking event.destination by reflection when needed.
  Result<std::string> eventPayloadToJson(const flow::FlowEvent& event);

  // Fetches, by reflection from `address` ("127.0.0.1:port"), the file defining `symbol`
  // and its dependencies, and adds them. Unavailable when the server cannot be reached or
  // has no reflection; NotFound when it does not know the symbol.
  Status loadFromReflection(const std::string& address, const std::string& symbol);

  class Impl;

 private:
  explicit PayloadDecoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sandbank::mesh
