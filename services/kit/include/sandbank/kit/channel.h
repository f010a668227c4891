// Channels to other services by name. With SANDBANK_MESH set, every call goes to the
// mesh with the target's name as :authority, so the mesh can route, record and fault it.
// Otherwise the address comes from SANDBANK_ADDR_<NAME> (set by the supervisor for
// dependencies). Calls on these channels carry the current trace context and the
// caller's name.
// Thread-safety: channelTo() may be called from any thread; channels are cached.
#pragma once

#include <memory>
#include <string>

#include "sandbank/core/result.h"
#include "sandbank/kit/config.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace sandbank::kit {

// The channel for `service` ("ledger"), created on first use.
Result<std::shared_ptr<grpc::Channel>> channelTo(const std::string& service,
                                                 const Config& config = Config::fromEnvironment());

// A channel straight to host:port with the kit's interceptors and a short reconnect
// back-off (gRPC's default of ~1 s would stall start-up). `authority` may be empty.
std::shared_ptr<grpc::Channel> makeChannel(const std::string& target, const std::string& authority = "");

// The environment variable that holds a service's direct address: SANDBANK_ADDR_CARD_PROCESSOR.
std::string addressVariable(const std::string& service);

}  // namespace sandbank::kit
