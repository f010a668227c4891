// FakeEdge: a synchronous Beast server, one thread per connection, with the bank's
// state in maps under one mutex. Only what the load generator's tests need.
#include "fake_edge.h"

#include <sys/socket.h>

#include <atomic>
#include <set>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace sandbank::load::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

struct Answer {
  int status = 200;
  json body;
  bool declined = false;
};

Answer error(int status, const std::string& code, const std::string& message) {
  return {status, json{{"error", {{"code", code}, {"message", message}}}}, false};
}

std::vector<std::string> splitPath(const std::string& target) {
  std::string path = target.substr(0, target.find('?'));
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// minor_units as the edge accepts them: a number or a string.
bool minorUnits(const json& body, int64_t* out) {
  if (!body.contains("amount") || !body["amount"].is_object()) return false;
  const json& m = body["amount"]["minor_units"];
  if (m.is_number_integer()) {
    *out = m.get<int64_t>();
    return true;
  }
  if (m.is_string()) {
    *out = std::stoll(m.get<std::string>());
    return true;
  }
  return false;
}

json moneyOut(int64_t minor) { return json{{"minor_units", std::to_string(minor)}, {"currency", "GBP"}}; }

}  // namespace

struct FakeEdge::Impl {
  struct User {
    std::string email, password, user_id, account_id, card_id, card_token, token;
  };

  explicit Impl(Options o) : options(std::move(o)), acceptor(ioc) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    accept_thread = std::thread([this] { acceptLoop(); });
  }

  ~Impl() {
    stopping = true;
    {
      // Wake the blocking accept() with a connection of our own.
      asio::io_context wake_ioc;
      tcp::socket wake(wake_ioc);
      boost::system::error_code ec;
      wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    }
    accept_thread.join();
    {
      std::lock_guard lock(mu);
      for (int fd : open_fds) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : connection_threads) t.join();
  }

  void acceptLoop() {
    while (true) {
      tcp::socket socket(ioc);
      boost::system::error_code ec;
      acceptor.accept(socket, ec);
      if (stopping || ec) return;
      std::lock_guard lock(mu);
      open_fds.insert(socket.native_handle());
      connection_threads.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }

  void serve(tcp::socket socket) {
    beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(socket, buffer, req, ec);
      if (ec) break;
      Answer a = handle(req);
      http::response<http::string_body> res{static_cast<http::status>(a.status), req.version()};
      res.set(http::field::content_type, "application/json");
      res.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      res.keep_alive(req.keep_alive());
      res.body() = a.body.dump();
      res.prepare_payload();
      http::write(socket, res, ec);
      if (ec || !req.keep_alive()) break;
    }
    std::lock_guard lock(mu);
    open_fds.erase(socket.native_handle());
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  Answer handle(const http::request<http::string_body>& req) {
    std::string method(req.method_string());
    std::string target(req.target());
    if (method == "GET" && target == "/healthz") return {200, json{{"status", "ok"}}, false};

    std::lock_guard lock(mu);
    RecordedRequest rec;
    rec.method = method;
    rec.target = target;
    rec.body = req.body();
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      rec.headers[name] = std::string(field.value());
    }
    Answer a;
    if ((target != "/v1/signup" || options.fail_signups) && options.fail_every > 0 && ++counted % options.fail_every == 0) {
      a = error(503, "unavailable", "the fake edge refuses every " + std::to_string(options.fail_every) + "th request");
    } else {
      a = route(method, target, rec);
    }
    rec.status = a.status;
    rec.declined = a.declined;
    recorded.push_back(std::move(rec));
    arrived_cv.notify_all();
    return a;
  }

  // Called with mu held.
  Answer route(const std::string& method, const std::string& target, const RecordedRequest& rec) {
    json body = json::parse(rec.body.empty() ? "{}" : rec.body, nullptr, false);
    if (body.is_discarded()) return error(400, "invalid_argument", "malformed JSON");
    auto parts = splitPath(target);

    if (parts.size() >= 1 && parts[0] == "scheme") {
      auto key = rec.headers.find("x-scheme-key");
      if (key == rec.headers.end() || key->second != options.scheme_key) {
        return error(401, "unauthenticated", "bad scheme key");
      }
      return schemeRoute(target, body);
    }
    if (method == "POST" && target == "/v1/signup") return signup(body);
    if (method == "POST" && target == "/v1/login") {
      auto it = by_email.find(body.value("email", ""));
      if (it == by_email.end() || users[it->second].password != body.value("password", "")) {
        return error(401, "unauthenticated", "bad credentials");
      }
      return {200, json{{"token", users[it->second].token}, {"user_id", users[it->second].user_id}}, false};
    }
    auto auth = rec.headers.find("authorization");
    const User* me = nullptr;
    if (auth != rec.headers.end()) {
      for (const User& u : users) {
        if (auth->second == "Bearer " + u.token) me = &u;
      }
    }
    if (!me) return error(401, "unauthenticated", "no or unknown token");

    if (method == "GET" && target == "/v1/accounts") {
      return {200, json{{"accounts", json::array({{{"account_id", me->account_id}, {"user_id", me->user_id}}})}},
              false};
    }
    if (parts.size() >= 3 && parts[0] == "v1" && parts[1] == "accounts") {
      if (parts[2] != me->account_id) return error(404, "not_found", "no such account");
      std::string what = parts.size() > 3 ? parts[3] : "";
      if (method == "GET" && what == "balance") {
        return {200, json{{"address", "account:" + me->account_id + ":main"}, {"known", true}}, false};
      }
      if (method == "GET" && what == "feed") return {200, json{{"items", json::array()}}, false};
      if (method == "GET" && what == "cards") {
        return {200, json{{"cards", json::array({{{"card_id", me->card_id}, {"token", me->card_token}}})}}, false};
      }
      if (method == "POST" && what == "pots") {
        if (!body.contains("idempotency_key") || !body.contains("name")) {
          return error(400, "invalid_argument", "idempotency_key and name are required");
        }
        std::string& pot = pots_by_key[body["idempotency_key"].get<std::string>()];
        if (pot.empty()) {
          pot = "pot-" + std::to_string(pot_owner.size());
          pot_owner[pot] = me->account_id;
        }
        return {200, json{{"pot_id", pot}, {"account_id", me->account_id}, {"name", body["name"]}}, false};
      }
      return error(404, "not_found", "no such route");
    }
    if (method == "POST" && parts.size() == 4 && parts[0] == "v1" && parts[1] == "pots") {
      auto owner = pot_owner.find(parts[2]);
      if (owner == pot_owner.end() || owner->second != me->account_id) return error(404, "not_found", "no such pot");
      int64_t minor = 0;
      if (!body.contains("idempotency_key") || !minorUnits(body, &minor) || minor <= 0) {
        return error(400, "invalid_argument", "idempotency_key and a positive amount are required");
      }
      return {200, json{{"pot_id", parts[2]}, {"entryset_id", "es-" + body["idempotency_key"].get<std::string>()}},
              false};
    }
    if (method == "POST" && target == "/v1/transfers") {
      int64_t minor = 0;
      if (body.value("from_account_id", "") != me->account_id) return error(404, "not_found", "no such account");
      bool to_known = false;
      for (const User& u : users) to_known |= u.account_id == body.value("to_account_id", "");
      if (!to_known) return error(404, "not_found", "no such payee account");
      if (!body.contains("idempotency_key") || !minorUnits(body, &minor)) {
        return error(400, "invalid_argument", "idempotency_key and amount are required");
      }
      bool declined = minor > 100'000;
      return {200,
              json{{"transfer_id", "tr-" + body["idempotency_key"].get<std::string>()},
                   {"amount", moneyOut(minor)},
                   {"state", declined ? "TRANSFER_DECLINED" : "TRANSFER_COMPLETED"},
                   {"decline_reason", declined ? "insufficient_funds" : ""},
                   {"entryset_id", declined ? "" : "es-p2p"}},
              declined};
    }
    if (method == "POST" && target == "/v1/payments") {
      int64_t minor = 0;
      if (body.value("account_id", "") != me->account_id) return error(404, "not_found", "no such account");
      if (!minorUnits(body, &minor) || body.value("sort_code", "").size() != 6 ||
          body.value("account_number", "").size() != 8) {
        return error(400, "invalid_argument", "amount, sort_code and account_number are required");
      }
      if (minor > 100'000) return error(422, "declined", "insufficient funds");
      return {200,
              json{{"payment_id", "pay-" + body.value("idempotency_key", "")},
                   {"state", "PAYMENT_PENDING"},
                   {"debit_entryset_id", "es-fps"},
                   {"created_at_us", "1700000000000000"}},
              false};
    }
    return error(404, "not_found", "no such route");
  }

  Answer signup(const json& body) {
    for (const char* field : {"name", "email", "password"}) {
      if (!body.contains(field) || !body[field].is_string() || body[field].get<std::string>().empty()) {
        return error(400, "invalid_argument", std::string(field) + " is required");
      }
    }
    std::string email = body["email"];
    if (by_email.count(email)) return error(409, "conflict", "email already registered");
    std::string n = std::to_string(users.size());
    User u{email, body["password"], "user-" + n, "acc-" + n, "card-" + n, "ctok-" + n, "tok-" + n};
    by_email[email] = users.size();
    users.push_back(u);
    return {201,
            json{{"user_id", u.user_id}, {"account_id", u.account_id}, {"card_id", u.card_id},
                 {"card_token", u.card_token}, {"token", u.token}},
            false};
  }

  Answer schemeRoute(const std::string& target, const json& body) {
    int64_t minor = 0;
    if (target == "/scheme/fps/inbound") {
      bool known = false;
      for (const User& u : users) known |= u.account_id == body.value("account_id", "");
      if (!known) return error(404, "not_found", "no such account");
      if (!minorUnits(body, &minor) || !body.contains("payment_id")) {
        return error(400, "invalid_argument", "payment_id and amount are required");
      }
      return {200,
              json{{"payment_id", body["payment_id"]}, {"account_id", body["account_id"]}, {"direction", "in"},
                   {"amount", moneyOut(minor)}, {"state", "PAYMENT_COMPLETED"}, {"replayed", false}},
              false};
    }
    std::string message_id = body.value("scheme_message_id", "");
    if (message_id.empty()) return error(400, "invalid_argument", "scheme_message_id is required");
    if (target == "/scheme/card/authorise") {
      bool known = false;
      for (const User& u : users) known |= u.card_token == body.value("card_token", "");
      if (!known) return error(404, "not_found", "unknown card token");
      if (!minorUnits(body, &minor) || !body.contains("merchant")) {
        return error(400, "invalid_argument", "amount and merchant are required");
      }
      auto [it, fresh] = authorisations.emplace(message_id, "auth-" + std::to_string(authorisations.size()));
      bool declined = minor > 100'000;
      return {200,
              json{{"authorisation_id", it->second},
                   {"decision", declined ? "DECLINED" : "APPROVED"},
                   {"decline_reason", declined ? "insufficient_funds" : ""},
                   {"hold_id", declined ? "" : "hold-" + it->second},
                   {"replayed", !fresh}},
              declined};
    }
    std::string auth = body.value("authorisation_id", "");
    bool known = false;
    for (const auto& [_, id] : authorisations) known |= id == auth;
    if (!known) return error(404, "not_found", "unknown authorisation");
    if (target == "/scheme/card/clear") {
      if (!minorUnits(body, &minor)) return error(400, "invalid_argument", "amount is required");
      return {200, json{{"authorisation_id", auth}, {"entryset_id", "es-" + message_id}, {"replayed", false}}, false};
    }
    if (target == "/scheme/card/reverse") return {200, json{{"authorisation_id", auth}, {"replayed", false}}, false};
    return error(404, "not_found", "no such scheme route");
  }

  Options options;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::thread accept_thread;

  mutable std::mutex mu;
  mutable std::condition_variable arrived_cv;             // signalled under mu per request
  std::vector<std::thread> connection_threads;            // guarded by mu (joined after accept ends)
  std::set<int> open_fds;                                 // guarded by mu
  std::vector<RecordedRequest> recorded;                  // guarded by mu
  uint64_t counted = 0;                                   // guarded by mu
  std::vector<User> users;                                // guarded by mu
  std::map<std::string, size_t> by_email;                 // guarded by mu
  std::map<std::string, std::string> authorisations;      // scheme_message_id -> id; guarded by mu
  std::map<std::string, std::string> pots_by_key;         // guarded by mu
  std::map<std::string, std::string> pot_owner;           // pot id -> account id; guarded by mu
};

FakeEdge::FakeEdge(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
FakeEdge::~FakeEdge() = default;

std::string FakeEdge::address() const { return "127.0.0.1:" + std::to_string(impl_->port); }

std::vector<RecordedRequest> FakeEdge::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->recorded;
}

bool FakeEdge::waitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->arrived_cv.wait_for(lock, timeout, [&] { return impl_->recorded.size() >= n; });
}

std::string FakeEdge::cardTokenFor(const std::string& email) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->by_email.find(email);
  return it == impl_->by_email.end() ? std::string() : impl_->users[it->second].card_token;
}

}  // namespace sandbank::load::testing
