// The gRPC face of the scheme hub (sandbank.bank.fps.FpsHub), free of gRPC headers.
// Thread-safety: as SchemeHub (fully).
#pragma once

#include <functional>
#include <memory>

namespace grpc {
class Channel;
class Service;
}

namespace sandbank::fps_hub {

class SchemeHub;

// The channel SendInbound calls fps on, asked for on first use (fps itself calls the
// hub, so neither can wait for the other at start-up). Empty: SendInbound is refused.
using FpsChannelSource = std::function<std::shared_ptr<grpc::Channel>()>;

// `hub` must outlive the service. Submit holds TIMEOUT / ACK_LATE answers until the
// caller's deadline passes (the caller sees DEADLINE_EXCEEDED).
std::unique_ptr<grpc::Service> makeFpsHubGrpcService(SchemeHub& hub, FpsChannelSource fps = {});

}  // namespace sandbank::fps_hub
