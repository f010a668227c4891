// The real HealthProber: grpc.health.v1 over a fresh channel, or a TCP connect.
// Channels are created with a short reconnect back-off, because gRPC's default of ~1 s
// would be added to every service's start-up time.
#include "sandbank/supervisor/health_prober.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"

namespace sandbank::supervisor {
namespace {

Status tcpProbe(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Unavailable(std::string("connect: ") + std::strerror(err));
  return OkStatus();
}

class RealHealthProber final : public HealthProber {
 public:
  Status probe(HealthType type, int port, std::chrono::nanoseconds timeout) override {
    if (type == HealthType::kNone) return OkStatus();
    if (type == HealthType::kTcp) return tcpProbe(port);
    auto stub = grpc::health::v1::Health::NewStub(channelFor(port));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status s = stub->Check(&ctx, req, &resp);
    if (!s.ok()) return Unavailable("health check failed: " + s.error_message());
    if (resp.status() != grpc::health::v1::HealthCheckResponse::SERVING)
      return Unavailable(grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status()));
    return OkStatus();
  }

 private:
  // A fresh channel per probe: a cached, idle connection from the prober was seen to
  // hold a service's graceful shutdown until its deadline.
  static std::shared_ptr<grpc::Channel> channelFor(int port) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args);
  }
};

}  // namespace

std::unique_ptr<HealthProber> makeHealthProber() { return std::make_unique<RealHealthProber>(); }

}  // namespace sandbank::supervisor
