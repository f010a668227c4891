// The gRPC face of the feed service (sandbank.bank.feed.Feed), free of gRPC headers.
// Thread-safety: as Feed (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::feed {

class Feed;

// `feed` must outlive the service.
std::unique_ptr<grpc::Service> makeFeedGrpcService(Feed& feed);

}  // namespace sandbank::feed
