// The HTTP/1.1 transport under the edge, on Boost.Beast: one I/O thread runs every
// connection's reads and writes (each connection on a strand of its own), and a worker
// pool runs the handler, so a slow upstream call never stalls reading or accepting.
// Thread-safety: a Session is touched only on its strand; Impl's session registry is
// guarded by Impl::mu_.
#include "sandbank/edge/http_server.h"

#include <atomic>
#include <cctype>
#include <cstdint>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "sandbank/kit/log.h"

namespace sandbank::edge {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0.
size_t utf8Length(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // a surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

// A JSON string body. Messages may quote what a client sent (a path, a JSON parser's
// "last read"), so bytes that are not UTF-8 become U+FFFD: the answer stays valid JSON.
std::string jsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    const size_t n = utf8Length(s.substr(i));
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Bytes a connection being closed after an error may still send before we stop reading.
constexpr size_t kLingerBytes = 1 << 20;

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return &v;
  return nullptr;
}

HttpResponse errorResponse(int status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = "{\"error\":{\"code\":\"" + jsonEscape(code) + "\",\"message\":\"" + jsonEscape(message) + "\"}}";
  return r;
}

namespace {

using RequestParser = http::request_parser<http::string_body>;

// The one parser configuration: connections and parseHttpRequest() both use it.
void configure(RequestParser& parser, const HttpServerOptions& options) {
  parser.header_limit(static_cast<std::uint32_t>(std::min<size_t>(options.header_limit, UINT32_MAX)));
  parser.body_limit(options.body_limit);
}

HttpRequest toHttpRequest(http::request<http::string_body>&& req) {
  HttpRequest request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  request.body = std::move(req.body());
  return request;
}

// The answer to a request the parser refused, or nullopt when the read failed for
// another reason (the client closed, timed out or reset: there is nobody to answer).
std::optional<HttpResponse> rejectionFor(beast::error_code ec, const HttpServerOptions& options) {
  if (ec == http::error::body_limit) {
    return errorResponse(413, "payload_too_large",
                         "the request body is larger than the " + std::to_string(options.body_limit) + "-byte limit");
  }
  if (ec == http::error::header_limit) {
    return errorResponse(431, "request_header_fields_too_large",
                         "the request headers are larger than the " + std::to_string(options.header_limit) +
                             "-byte limit");
  }
  const bool protocol_error = ec.category() == http::make_error_code(http::error::bad_method).category() &&
                              ec != http::error::end_of_stream && ec != http::error::partial_message &&
                              ec != http::error::need_more;
  if (protocol_error) return errorResponse(400, "invalid_argument", "malformed HTTP request: " + ec.message());
  return std::nullopt;
}

}  // namespace

HttpParse parseHttpRequest(std::string_view bytes, const HttpServerOptions& options) {
  HttpParse out;
  RequestParser parser;
  configure(parser, options);
  parser.eager(true);
  size_t used = 0;
  while (!parser.is_done()) {
    beast::error_code ec;
    const size_t n = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    // No progress and no error (nothing left to offer): a connection would wait.
    if (!ec && n == 0) ec = http::error::need_more;
    if (ec == http::error::need_more) {
      if (n == 0 || used == bytes.size()) {
        out.outcome = HttpParse::Outcome::kIncomplete;
        out.consumed = used;
        return out;
      }
      continue;
    }
    if (ec) {
      auto rejection = rejectionFor(ec, options);
      // Every parser error on received bytes is one of the three answers; anything else
      // would be a parser state this function does not expect.
      out.outcome = HttpParse::Outcome::kRejected;
      out.rejection = rejection ? std::move(*rejection)
                                : errorResponse(400, "invalid_argument", "malformed HTTP request: " + ec.message());
      out.consumed = used;
      return out;
    }
  }
  out.outcome = HttpParse::Outcome::kRequest;
  out.consumed = used;
  out.keep_alive = parser.get().keep_alive();
  out.request = toHttpRequest(parser.release());
  return out;
}

class Session;

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)), handler_(std::move(handler)), work_(asio::make_work_guard(ioc_)),
        acceptor_(ioc_), accept_retry_(ioc_), workers_(static_cast<size_t>(std::max(1, options_.threads))) {}

  ~Impl() { stop(); }

  Status listen() {
    beast::error_code ec;
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(options_.port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("cannot listen for HTTP on 127.0.0.1:" + std::to_string(options_.port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint(ec).port();
    doAccept();
    io_thread_ = std::thread([this] { runIo(); });
    return OkStatus();
  }

  void stop();
  int port() const { return port_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  const HttpServerOptions& options() const { return options_; }

  // Runs the handler on a worker; a throwing handler answers 500 instead of taking the
  // process down.
  template <class Done>
  void handle(HttpRequest request, Done done) {
    asio::post(workers_, [this, request = std::move(request), done = std::move(done)]() mutable {
      HttpResponse response;
      try {
        response = handler_(request);
      } catch (const std::exception& e) {
        response = errorResponse(500, "internal", std::string("the edge failed on this request: ") + e.what());
      } catch (...) {
        response = errorResponse(500, "internal", "the edge failed on this request");
      }
      done(std::move(response));
    });
  }

  // Connections being served (admitted) and being turned away (answered 503 and
  // drained); a connection over max_connections is turned away, and past twice that it
  // is closed without an answer.
  std::atomic<size_t> admitted_{0};
  std::atomic<size_t> turned_away_{0};

  void add(const std::shared_ptr<Session>& s);
  void remove(Session* s) {
    std::lock_guard lock(mu_);
    sessions_.erase(s);
    if (sessions_.empty()) cv_.notify_all();
  }

 private:
  void runIo() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        kit::logError("http i/o thread caught an exception; carrying on", {{"error", e.what()}});
      }
    }
  }

  void doAccept();

  HttpServerOptions options_;
  HttpHandler handler_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;  // guarded by mu_
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;  // only the thread calling start/stop touches it
  int port_ = 0;
  // Declared after the registry: destroying the io_context destroys the sessions still
  // queued in it, and they unregister themselves.
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  asio::thread_pool workers_;
  std::thread io_thread_;
};

// One connection: read a request (headers, then body) under one deadline, hand it to a
// worker, write the answer, and go round again while keep-alive holds.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl& server, tcp::socket socket, bool admitted)
      : server_(server), stream_(std::move(socket)),
        buffer_(server.options().header_limit + server.options().body_limit + 16 * 1024), admitted_(admitted) {
    ++(admitted_ ? server_.admitted_ : server_.turned_away_);
  }
  ~Session() {
    --(admitted_ ? server_.admitted_ : server_.turned_away_);
    server_.remove(this);
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->admitted_) return self->readHeader();
      // Over the limit: say so at once and close, without reading a request.
      self->busy_ = true;
      self->write(errorResponse(503, "unavailable",
                                "the edge is serving its limit of " +
                                    std::to_string(self->server_.options().max_connections) +
                                    " connections; retry shortly"),
                  11, false);
    });
  }

  // On the strand: closes the connection unless a request is being answered (which then
  // closes after its answer).
  void closeIfIdle() {
    if (!busy_) close();
  }

  auto executor() { return stream_.get_executor(); }

 private:
  void readHeader() {
    busy_ = false;
    if (server_.stopping()) return close();
    parser_.emplace();
    configure(*parser_, server_.options());
    // One deadline for the whole request: trickling bytes does not extend it.
    stream_.expires_after(server_.options().read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  void onHeader(beast::error_code ec) {
    if (ec) return onReadError(ec);
    const auto& req = parser_->get();
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && iequals(expect->value(), "100-continue") && !parser_->is_done()) {
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code e, size_t) {
                          if (e) return self->close();
                          self->readBody();
                        });
      return;
    }
    readBody();
  }

  void readBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->onRequest(ec); });
  }

  void onRequest(beast::error_code ec) {
    if (ec) return onReadError(ec);
    busy_ = true;
    stream_.expires_never();
    const unsigned version = parser_->get().version();
    const bool keep_alive = parser_->get().keep_alive();
    HttpRequest request = toHttpRequest(parser_->release());
    server_.handle(std::move(request), [self = shared_from_this(), version, keep_alive](HttpResponse response) {
      asio::post(self->executor(), [self, version, keep_alive, response = std::move(response)]() mutable {
        self->write(std::move(response), version, keep_alive);
      });
    });
  }

  void onReadError(beast::error_code ec) {
    // Too large or malformed: answer before the close. Closed, timed out (a slow
    // client), reset or stop(): just close.
    if (auto rejection = rejectionFor(ec, server_.options())) {
      busy_ = true;
      return write(std::move(*rejection), 11, false);
    }
    close();
  }

  void write(HttpResponse r, unsigned version, bool keep_alive) {
    const bool keep = keep_alive && !server_.stopping();
    response_ = {};
    response_.version(version);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(http::field::server, "sandbank-edge");
    response_.set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) response_.set(k, v);
    response_.body() = std::move(r.body);
    response_.keep_alive(keep);
    response_.prepare_payload();
    stream_.expires_after(server_.options().write_timeout);
    http::async_write(stream_, response_, [self = shared_from_this(), keep](beast::error_code ec, size_t) {
      if (ec) return self->close();
      if (keep) return self->readHeader();
      self->linger();
    });
  }

  // After answering with Connection: close, stop sending but keep reading (and dropping)
  // for a while, so a client still sending its body gets our answer instead of a reset.
  void linger() {
    busy_ = false;
    if (server_.stopping()) return close();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    // A turned-away connection holds a descriptor while it drains: briefly.
    stream_.expires_after(admitted_ ? server_.options().read_timeout
                                    : std::min<std::chrono::milliseconds>(server_.options().read_timeout,
                                                                          std::chrono::seconds(1)));
    discard();
  }

  void discard() {
    stream_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kLingerBytes) return self->close();
      self->discard();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;  // alive while async_write runs
  const bool admitted_;  // false: over max_connections, answered 503 and closed
  bool busy_ = false;  // a request is with the handler or its answer is being written
  size_t drained_ = 0;
  char drain_[4096];
};

void HttpServer::Impl::add(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(mu_);
  sessions_.emplace(s.get(), s);
}

void HttpServer::Impl::doAccept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open() || stopping()) return;
    if (ec) {
      // Out of descriptors and the like: back off briefly instead of spinning.
      kit::logWarn("http accept failed", {{"error", ec.message()}});
      accept_retry_.expires_after(std::chrono::milliseconds(50));
      accept_retry_.async_wait([this](beast::error_code) {
        if (!stopping()) doAccept();
      });
      return;
    }
    beast::error_code ignored;
    const size_t limit = std::max<size_t>(1, options_.max_connections);
    const bool admit = admitted_.load() < limit;
    if (!admit && turned_away_.load() >= limit) {
      // A flood: even the 503 would cost a descriptor per connection for a while.
      socket.close(ignored);
      return doAccept();
    }
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(*this, std::move(socket), admit);
    add(session);
    session->start();
    doAccept();
  });
}

void HttpServer::Impl::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_release);
  asio::post(ioc_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
  });
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& [raw, weak] : sessions_)
      if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) asio::post(s->executor(), [s] { s->closeIfIdle(); });
  live.clear();
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.shutdown_grace, [this] { return sessions_.empty(); });
  }
  work_.reset();
  ioc_.stop();
  if (io_thread_.joinable()) io_thread_.join();
  workers_.join();
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, HttpHandler handler) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  if (Status s = impl->listen(); !s.ok()) return s;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port(); }

void HttpServer::stop() {
  if (impl_) impl_->stop();
}

}  // namespace sandbank::edge
