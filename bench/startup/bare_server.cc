// bare-grpc-server: the startup baseline. A plain gRPC server (one echo method) with gRPC's own health
// service on 127.0.0.1:0 that prints its port and waits for SIGTERM. No kit, no logging.
#include <signal.h>

#include <cstdio>

#include <grpcpp/grpcpp.h>

#include "sandbank/testing/echo.grpc.pb.h"

// One synchronous service, as any real server has (gRPC's health service alone would
// leave the server without a polled completion queue).
class EchoService final : public sandbank::testing::Echo::Service {
  grpc::Status Echo(grpc::ServerContext*, const sandbank::testing::EchoRequest* req,
                    sandbank::testing::EchoReply* reply) override {
    reply->set_text(req->text());
    return grpc::Status::OK;
  }
};

int main() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  EchoService echo;
  builder.RegisterService(&echo);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  auto server = builder.BuildAndStart();
  if (!server) return 1;
  std::printf("%d\n", port);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  server->Shutdown(std::chrono::system_clock::now());
  return 0;
}
