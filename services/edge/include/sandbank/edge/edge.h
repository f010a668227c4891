// The edge: the bank's HTTP/1.1 JSON API for the app and the scheme ingress (contract in
// services/edge/README.md). EdgeApi turns one HTTP request into calls to the bank
// services over gRPC (channels from kit::channelTo, a deadline per call) and renders
// their answers; Edge wires Auth, EdgeApi and the HttpServer together as main() runs
// them and tests drive them. Free of gRPC and Boost headers.
// Thread-safety: EdgeApi::handle may be called from many threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/edge/auth.h"
#include "sandbank/edge/http_server.h"
#include "sandbank/kit/config.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::edge {

struct EdgeOptions {
  HttpServerOptions http;  // EDGE_HTTP_PORT, EDGE_THREADS, EDGE_READ_TIMEOUT, EDGE_MAX_CONNECTIONS
  std::chrono::milliseconds upstream_timeout{5000};  // EDGE_UPSTREAM_TIMEOUT: deadline of each upstream call
  std::string scheme_key = "sandbank-scheme";        // EDGE_SCHEME_KEY: what X-Scheme-Key must carry
  AuthOptions auth;                                  // EDGE_CONSISTENCY, EDGE_TOKEN_TTL

  // Reads the EDGE_* variables (and SANDBANK_SHUTDOWN_GRACE); errors name the variable.
  static Result<EdgeOptions> fromConfig(const kit::Config& config);
};

class EdgeApi {
 public:
  // `auth` must outlive this (Auth over the store in the service; an in-memory one in
  // the fuzz target). Upstream channels come from `config` (SANDBANK_MESH or
  // SANDBANK_ADDR_<NAME>); a service with no route answers 503 when a request needs it.
  EdgeApi(Credentials& auth, const kit::Config& config, EdgeOptions options);
  ~EdgeApi();

  // Routes, authenticates and answers one request; never throws for bad input. Sets the
  // kit's current trace (from the request's traceparent, or a new trace) around the
  // upstream calls and returns it in the traceparent response header.
  HttpResponse handle(const HttpRequest& request);

  // Every route the edge serves, e.g. {"POST", "/v1/pots/{}/deposit", kCustomer}, so
  // tests can prove that each one is covered (an ownership probe per customer route).
  enum class Access { kPublic, kCustomer, kScheme };
  struct RouteInfo {
    std::string method;
    std::string path;  // "{}" stands for one id segment
    Access access;
  };
  static std::vector<RouteInfo> routes();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

class Edge {
 public:
  // Opens the credential tables, builds the API and starts serving HTTP. `store` and
  // `clock` must outlive the Edge.
  static Result<std::unique_ptr<Edge>> start(const kit::Config& config, kit::StoreClient& store, const Clock& clock);
  ~Edge();

  int httpPort() const { return http_->port(); }
  // Graceful: see HttpServer::stop.
  void stop() { http_->stop(); }

 private:
  Edge() = default;
  std::unique_ptr<Auth> auth_;
  std::unique_ptr<EdgeApi> api_;
  std::unique_ptr<HttpServer> http_;  // last: stopped and destroyed first
};

}  // namespace sandbank::edge
