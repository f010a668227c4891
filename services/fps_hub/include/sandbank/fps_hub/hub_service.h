// The gRPC face of the scheme hub (sandbank.bank.fps.FpsHub), free of gRPC headers.
// Thread-safety: as SchemeHub (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::fps_hub {

class SchemeHub;

// `hub` must outlive the service. Submit holds TIMEOUT / ACK_LATE answers until the
// caller's deadline passes (the caller sees DEADLINE_EXCEEDED).
std::unique_ptr<grpc::Service> makeFpsHubGrpcService(SchemeHub& hub);

}  // namespace sandbank::fps_hub
