// kit::Server: gRPC server start-up, health, reflection, signals and graceful shutdown.
#include "sandbank/kit/server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>

#include "health_service.h"
#include "interceptors.h"
#include "sandbank/kit/log.h"

namespace sandbank::kit {
namespace {

sigset_t shutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

Server::Server(Config config)
    : config_(std::move(config)), name_(config_.serviceName()), health_(std::make_unique<HealthService>()) {
  sigset_t set = shutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto level = parseLogLevel(config_.getOr("SANDBANK_LOG_LEVEL", "info"));
  initLogging(name_, level.valueOr(LogLevel::kInfo));
  if (::pipe2(wake_fd_, O_CLOEXEC) != 0) wake_fd_[0] = wake_fd_[1] = -1;
}

Server::~Server() {
  if (server_) shutdown();
  for (int fd : wake_fd_)
    if (fd >= 0) ::close(fd);
}

void Server::addService(grpc::Service* service) { services_.push_back(service); }

Status Server::start() {
  auto port_env = config_.getInt("SANDBANK_PORT", 0);
  if (!port_env.ok()) return port_env.status();
  grpc::EnableDefaultHealthCheckService(false);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Loopback only: nothing sandbank runs is reachable from another machine.
  builder.AddListeningPort("127.0.0.1:" + std::to_string(*port_env), grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(health_.get());
  for (auto* s : services_) builder.RegisterService(s);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<TraceServerInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0)
    return Unavailable("cannot listen on 127.0.0.1:" + std::to_string(*port_env));
  health_->setServing(serving_on_start_);
  LogFields fields = {{"port", std::to_string(port_)}, {"instance", config_.instanceName()}};
  fields.insert(fields.end(), listening_fields_.begin(), listening_fields_.end());
  logInfo("listening", std::move(fields));
  return OkStatus();
}

void Server::setListeningField(std::string key, std::string value) {
  listening_fields_.emplace_back(std::move(key), std::move(value));
}

void Server::setServing(bool serving) {
  if (!server_) serving_on_start_ = serving;
  health_->setServing(serving);
}

int Server::wait() {
  sigset_t set = shutdownSignals();
  int sfd = ::signalfd(-1, &set, SFD_CLOEXEC);
  pollfd fds[2] = {{sfd, POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  std::string why = "shutdown requested";
  if (fds[0].revents & POLLIN) {
    signalfd_siginfo info{};
    if (::read(sfd, &info, sizeof info) == sizeof info)
      why = info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT";
  }
  ::close(sfd);
  logInfo("shutting down", {{"reason", why}});
  shutdown();
  return 0;
}

void Server::shutdown() {
  if (!server_) return;
  auto grace = config_.getDuration("SANDBANK_SHUTDOWN_GRACE", std::chrono::seconds(5))
                   .valueOr(std::chrono::seconds(5));
  health_->shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
  if (wake_fd_[1] >= 0) {
    char b = 1;
    (void)!::write(wake_fd_[1], &b, 1);
  }
}

}  // namespace sandbank::kit
