// EdgeConnection over Boost.Beast. Each exchange runs Beast's async operations on a
// private io_context until they finish, which gives blocking calls with a deadline
// (tcp_stream::expires_after) that plain synchronous Asio calls cannot have.
// Thread-safety: one thread per EdgeConnection.
#include "edge_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sandbank::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct EdgeConnection::Impl {
  Impl(std::string h, std::string p, std::chrono::milliseconds t)
      : host(std::move(h)), port(std::move(p)), timeout(t), stream(ioc) {}

  // Runs the io_context until the started operation completes.
  void drive() {
    ioc.restart();
    ioc.run();
  }

  Status connect() {
    if (!resolved) {
      error_code ec;
      tcp::resolver resolver(ioc);
      endpoints = resolver.resolve(host, port, ec);
      if (ec) return Unavailable("cannot resolve edge host '" + host + "': " + ec.message());
      resolved = true;
    }
    error_code ec;
    stream.expires_after(timeout);
    stream.async_connect(endpoints, [&](error_code e, const tcp::endpoint&) { ec = e; });
    drive();
    if (ec) {
      stream.close();
      if (ec == beast::error::timeout) {
        return DeadlineExceeded("connecting to the edge at " + host + ":" + port + " timed out");
      }
      return Unavailable("cannot connect to the edge at " + host + ":" + port + ": " + ec.message());
    }
    error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    connected = true;
    return OkStatus();
  }

  void drop() {
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    connected = false;
  }

  std::string host;
  std::string port;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  tcp::resolver::results_type endpoints;
  bool resolved = false;
  bool connected = false;
};

EdgeConnection::EdgeConnection(std::string host, std::string port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(std::move(host), std::move(port), timeout)) {}

EdgeConnection::~EdgeConnection() { close(); }

void EdgeConnection::close() {
  if (impl_->connected) impl_->drop();
}

Result<HttpResponse> EdgeConnection::exchange(std::string_view method, std::string_view target,
                                              std::string_view body, const HttpHeaders& headers) {
  Impl& c = *impl_;
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) return InvalidArgument("unknown HTTP method " + std::string(method));

  http::request<http::string_body> req{verb, std::string(target), 11};
  req.set(http::field::host, c.host + ":" + c.port);
  req.set(http::field::user_agent, "sandbank-load");
  req.keep_alive(true);
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.prepare_payload();

  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = c.connected;
    if (!c.connected) SANDBANK_RETURN_IF_ERROR(c.connect());

    error_code ec;
    c.stream.expires_after(c.timeout);
    http::async_write(c.stream, req, [&](error_code e, size_t) { ec = e; });
    c.drive();
    if (ec) {
      c.drop();
      if (ec == beast::error::timeout) return DeadlineExceeded("sending " + std::string(target) + " timed out");
      if (reused) continue;  // the server closed an idle connection; nothing was read
      return Unavailable("sending " + std::string(target) + " to the edge failed: " + ec.message());
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    c.stream.expires_after(c.timeout);
    http::async_read(c.stream, c.buffer, parser, [&](error_code e, size_t) { ec = e; });
    c.drive();
    if (ec) {
      bool nothing_read = !parser.got_some();
      c.drop();
      if (ec == beast::error::timeout) {
        return DeadlineExceeded("no answer to " + std::string(target) + " within the request timeout");
      }
      if (reused && nothing_read && attempt == 0) continue;
      return Unavailable("reading the answer to " + std::string(target) + " failed: " + ec.message());
    }
    http::response<http::string_body> res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    if (auto it = res.find("traceparent"); it != res.end()) out.traceparent = std::string(it->value());
    if (!res.keep_alive()) c.drop();
    return out;
  }
  return Unavailable("the edge closed the connection twice before answering " + std::string(target));
}

}  // namespace sandbank::load
