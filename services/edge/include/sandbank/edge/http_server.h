// HttpServer: a small HTTP/1.1 server on 127.0.0.1 with keep-alive, a body limit, a
// header limit, a whole-request read timeout (a client that trickles its headers or body
// is dropped) and a bound on open connections, handing each complete request to a
// handler on a worker pool. parseHttpRequest() runs the same parser with the same limits
// on a byte string, for the fuzzer. The transport lives in http_server.cc; this header
// stays free of Boost so any file may include it.
// Thread-safety: the handler runs on worker threads, several at once; start() and stop()
// are called from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::edge {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // path and query, e.g. "/v1/accounts/acc_1/feed?limit=5"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // The first header named `name` (lower case), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;  // JSON unless content_type says otherwise
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  int port = 0;  // on 127.0.0.1; 0 = any free port
  int threads = 4;  // workers that run the handler (I/O has a thread of its own)
  size_t body_limit = 64 * 1024;    // larger bodies get 413 payload_too_large
  size_t header_limit = 16 * 1024;  // larger headers get 431
  // Time a client has to deliver one whole request (headers and body), and the time an
  // idle keep-alive connection is kept; past it the connection is closed.
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  // Open connections served at once. One more is answered 503 unavailable and closed,
  // so clients that hold connections open (slowloris) cannot exhaust descriptors; each
  // of theirs is dropped at read_timeout.
  size_t max_connections = 512;
  // How long stop() lets requests in progress finish.
  std::chrono::milliseconds shutdown_grace{5000};
};

class HttpServer {
 public:
  // Binds 127.0.0.1:options.port and starts serving. Unavailable when the port cannot be
  // bound. `handler` must be safe to call from several threads; it is kept until stop().
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, HttpHandler handler);
  // Stops as stop() does.
  ~HttpServer();

  int port() const;
  // Graceful stop: accepts no more connections, closes idle ones, lets requests in
  // progress answer (with Connection: close) for up to shutdown_grace, then closes the
  // rest. Returns once no thread of the server runs any more. Idempotent.
  void stop();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `{"error":{"code":...,"message":...}}` with the given HTTP status.
HttpResponse errorResponse(int status, std::string_view code, std::string_view message);

// What a connection makes of the bytes at the start of `bytes`: the same Beast parser,
// with the same header and body limits from `options`, and the same answers to a request
// it rejects, as HttpServer uses on a socket. Pure; for the fuzz target and tests.
struct HttpParse {
  enum class Outcome {
    kRequest,     // a whole request: `request`, made of the first `consumed` bytes
    kIncomplete,  // a valid start; a connection would wait for more (until read_timeout)
    kRejected,    // `rejection` (400, 413 or 431) is sent and the connection closed
  };
  Outcome outcome = Outcome::kIncomplete;
  HttpRequest request;
  HttpResponse rejection;
  size_t consumed = 0;
  bool keep_alive = false;  // the connection would read another request after this one
};
HttpParse parseHttpRequest(std::string_view bytes, const HttpServerOptions& options);

}  // namespace sandbank::edge
