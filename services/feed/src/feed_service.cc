// sandbank.bank.feed.Feed over gRPC: ListFeed forwards to Feed and turns its Status into
// a grpc::Status with the same code and reason. Thread-safety: as Feed.
#include "sandbank/feed/feed_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/feed.grpc.pb.h"
#include "sandbank/feed/feed.h"

namespace sandbank::feed {
namespace {

class FeedGrpcService final : public pb::Feed::Service {
 public:
  explicit FeedGrpcService(Feed& feed) : feed_(feed) {}
  grpc::Status ListFeed(grpc::ServerContext*, const pb::ListFeedRequest* r, pb::ListFeedResponse* out) override {
    auto listed = feed_.listFeed(*r);
    if (!listed.ok()) {
      return grpc::Status(static_cast<grpc::StatusCode>(listed.status().code()), listed.status().message());
    }
    *out = std::move(listed).value();
    return grpc::Status::OK;
  }

 private:
  Feed& feed_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeFeedGrpcService(Feed& feed) { return std::make_unique<FeedGrpcService>(feed); }

}  // namespace sandbank::feed
