// EdgeOptions from the environment and the Edge's wiring; see edge.h.
#include "sandbank/edge/edge.h"

#include <algorithm>
#include <iterator>

namespace sandbank::edge {
namespace {

Result<std::chrono::milliseconds> positiveDuration(const kit::Config& config, const char* name,
                                                   std::chrono::nanoseconds fallback) {
  SANDBANK_ASSIGN_OR_RETURN(std::chrono::nanoseconds d, config.getDuration(name, fallback));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  if (ms.count() <= 0) return InvalidArgument(std::string(name) + " must be at least 1ms");
  return ms;
}

}  // namespace

Result<EdgeOptions> EdgeOptions::fromConfig(const kit::Config& config) {
  EdgeOptions o;
  SANDBANK_ASSIGN_OR_RETURN(int64_t port, config.getInt("EDGE_HTTP_PORT", 0));
  if (port < 0 || port > 65535) return InvalidArgument("EDGE_HTTP_PORT must be a port from 0 to 65535");
  o.http.port = static_cast<int>(port);
  SANDBANK_ASSIGN_OR_RETURN(int64_t threads, config.getInt("EDGE_THREADS", 4));
  if (threads < 1 || threads > 256) return InvalidArgument("EDGE_THREADS must be from 1 to 256");
  o.http.threads = static_cast<int>(threads);
  SANDBANK_ASSIGN_OR_RETURN(int64_t connections, config.getInt("EDGE_MAX_CONNECTIONS", 512));
  if (connections < 1 || connections > 100000) return InvalidArgument("EDGE_MAX_CONNECTIONS must be from 1 to 100000");
  o.http.max_connections = static_cast<size_t>(connections);
  SANDBANK_ASSIGN_OR_RETURN(o.http.read_timeout, positiveDuration(config, "EDGE_READ_TIMEOUT", std::chrono::seconds(10)));
  SANDBANK_ASSIGN_OR_RETURN(o.http.shutdown_grace,
                            positiveDuration(config, "SANDBANK_SHUTDOWN_GRACE", std::chrono::seconds(5)));
  SANDBANK_ASSIGN_OR_RETURN(o.upstream_timeout,
                            positiveDuration(config, "EDGE_UPSTREAM_TIMEOUT", std::chrono::seconds(5)));
  SANDBANK_ASSIGN_OR_RETURN(auto ttl, positiveDuration(config, "EDGE_TOKEN_TTL", std::chrono::hours(24)));
  o.auth.token_ttl = ttl;
  o.auth.consistency = config.getOr("EDGE_CONSISTENCY", "LOCAL_QUORUM");
  static const char* const kLevels[] = {"ANY", "ONE", "TWO", "THREE", "QUORUM", "LOCAL_QUORUM",
                                        "EACH_QUORUM", "ALL", "LOCAL_ONE"};
  if (std::find(std::begin(kLevels), std::end(kLevels), o.auth.consistency) == std::end(kLevels)) {
    return InvalidArgument("EDGE_CONSISTENCY must be a consistency level such as LOCAL_QUORUM or ONE, not '" +
                           o.auth.consistency + "'");
  }
  o.scheme_key = config.getOr("EDGE_SCHEME_KEY", "sandbank-scheme");
  if (o.scheme_key.empty()) return InvalidArgument("EDGE_SCHEME_KEY must not be empty");
  return o;
}

Edge::~Edge() {
  if (http_) http_->stop();
}

Result<std::unique_ptr<Edge>> Edge::start(const kit::Config& config, kit::StoreClient& store, const Clock& clock) {
  SANDBANK_ASSIGN_OR_RETURN(EdgeOptions options, EdgeOptions::fromConfig(config));
  std::unique_ptr<Edge> edge(new Edge());
  SANDBANK_ASSIGN_OR_RETURN(edge->auth_, Auth::open(store, clock, options.auth));
  HttpServerOptions http = options.http;
  edge->api_ = std::make_unique<EdgeApi>(*edge->auth_, config, std::move(options));
  EdgeApi* api = edge->api_.get();
  SANDBANK_ASSIGN_OR_RETURN(edge->http_,
                            HttpServer::start(http, [api](const HttpRequest& r) { return api->handle(r); }));
  return edge;
}

}  // namespace sandbank::edge
