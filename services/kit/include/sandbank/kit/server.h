// Server: the gRPC server every service runs. start() binds 127.0.0.1:0 (or
// SANDBANK_PORT), enables grpc.health.v1 and server reflection, installs the trace
// interceptor, and prints the line the supervisor waits for:
//   {"ts":..,"level":"info","service":"ledger","msg":"listening","port":"40123"}
// wait() returns on SIGTERM or SIGINT and shuts down gracefully within
// SANDBANK_SHUTDOWN_GRACE (default 5s).
// Thread-safety: construct and call start()/wait() from main(); setServing() and
// shutdown() from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sandbank/core/status.h"
#include "sandbank/kit/config.h"

namespace grpc {
class Service;
class Server;
}  // namespace grpc

namespace sandbank::kit {

class HealthService;

class Server {
 public:
  // Blocks SIGTERM/SIGINT in the calling thread so every thread created afterwards
  // (gRPC's included) inherits the mask and wait() can take them with sigwait. Construct
  // it first thing in main().
  explicit Server(Config config = Config::fromEnvironment());
  ~Server();

  // Not owned; must outlive the server.
  void addService(grpc::Service* service);

  Status start();
  int port() const { return port_; }
  const Config& config() const { return config_; }
  const std::string& name() const { return name_; }

  // Adds `"key":"value"` to the "listening" line, e.g. ("http_port", "8080") from a
  // service that also serves HTTP, so the supervisor can show it. Call before start().
  void setListeningField(std::string key, std::string value);

  // Health as reported by grpc.health.v1 for the whole server. Called before start(), it
  // sets the status the server starts with (SERVING by default).
  void setServing(bool serving);

  // Blocks until SIGTERM/SIGINT (returning 0) or shutdown() from another thread.
  int wait();
  // Graceful stop: in-flight calls get until the grace deadline, then are cancelled.
  void shutdown();

 private:
  Config config_;
  std::string name_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool serving_on_start_ = true;
  std::vector<std::pair<std::string, std::string>> listening_fields_;
  int wake_fd_[2] = {-1, -1};  // shutdown() writes here to end wait()
};

}  // namespace sandbank::kit
