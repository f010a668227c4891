// The edge driven over real sockets: sign-up and log-in, tokens, ownership on every
// route that names an id, JSON errors, body/header limits, slow clients, routing, upstream
// failures mapped to HTTP, the scheme key and trace propagation. The bank services are
// fakes over real gRPC (fake_bank.h); the store runs in-process (BankTestEnv).
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "../bankcore/bank_test_env.h"
#include "fake_bank.h"
#include "sandbank/edge/edge.h"
#include "sandbank/kit/channel.h"
#include "sandbank/kit/trace.h"

namespace sandbank::edge {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool closed = false;  // the server closed the connection before a full answer

  json parsed() const { return json::parse(body, nullptr, false); }
  std::string errorCode() const {
    json j = parsed();
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }
  std::string errorMessage() const {
    json j = parsed();
    return j.is_object() && j.contains("error") ? j["error"].value("message", "") : "";
  }
};

// A blocking client connection with bounded waits.
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response (Content-Length framed) within `timeout`.
  Reply read(std::chrono::milliseconds timeout = 10s) {
    Reply r;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) {
        r.closed = true;
        return r;
      }
    }
    std::string head = buf_.substr(0, header_end);
    buf_.erase(0, header_end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    r.status = std::atoi(status_line.substr(9, 3).c_str());
    for (size_t b = line_end == std::string::npos ? head.size() : line_end + 2; b < head.size();) {
      size_t e = head.find("\r\n", b);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(b, e - b);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[name] = value;
      }
      b = e + 2;
    }
    size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buf_.size() < length) {
      if (!fill(deadline)) {
        r.closed = true;
        return r;
      }
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True once the server has closed the connection (EOF or reset), polling up to `timeout`.
  bool closedWithin(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
      char c[512];
      ssize_t n = ::recv(fd_, c, sizeof c, 0);
      if (n <= 0) return true;
    }
    return false;
  }

  int fd() const { return fd_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) return false;
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string rawRequest(const std::string& method, const std::string& path, const std::string& body,
                       const std::map<std::string, std::string>& headers, bool close = true) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) r += "Connection: close\r\n";
  return r + "\r\n" + body;
}

class EdgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    serve("ACCOUNT", &account_);
    serve("CARD", &card_);
    serve("CARD_PROCESSOR", &card_processor_);
    serve("LEDGER", &ledger_);
    serve("TRANSACTION", &transaction_);
    serve("FEED", &feed_);
    serve("P2P", &p2p_);
    serve("POTS", &pots_);
    serve("FPS", &fps_);
  }

  void TearDown() override {
    edge_.reset();
    for (auto& s : servers_) s->Shutdown(std::chrono::system_clock::now());
    env_.stop();
  }

  void serve(const std::string& name, grpc::Service* service) {
    std::string address;
    servers_.push_back(bank::testing::BankTestEnv::serve(service, &address));
    ASSERT_NE(servers_.back(), nullptr);
    vars_["SANDBANK_ADDR_" + name] = address;
  }

  // Starts the edge with the test's variables plus `extra`.
  void startEdge(const std::map<std::string, std::string>& extra = {}) {
    auto vars = vars_;
    vars["SANDBANK_SERVICE"] = "edge";
    for (const auto& [k, v] : extra) vars[k] = v;
    auto edge = Edge::start(kit::Config(vars), *env_.store_, env_.clock_);
    ASSERT_TRUE(edge.ok()) << edge.status().toString();
    edge_ = std::move(edge).value();
    port_ = edge_->httpPort();
    ASSERT_GT(port_, 0);
  }

  Reply request(const std::string& method, const std::string& path, const std::string& body = "",
                std::map<std::string, std::string> headers = {}) {
    Conn c(port_);
    EXPECT_TRUE(c.connected());
    EXPECT_TRUE(c.send(rawRequest(method, path, body, headers)));
    return c.read();
  }
  Reply get(const std::string& path, const std::string& token) {
    return request("GET", path, "", {{"Authorization", "Bearer " + token}});
  }
  Reply post(const std::string& path, const json& body, const std::string& token) {
    return request("POST", path, body.dump(), {{"Authorization", "Bearer " + token}});
  }
  Reply scheme(const std::string& path, const json& body, const std::string& key = "sandbank-scheme") {
    return request("POST", path, body.dump(), {{"X-Scheme-Key", key}});
  }

  struct Customer {
    std::string user_id, account_id, card_id, card_token, token;
  };
  Customer signUp(const std::string& name) {
    Reply r = request("POST", "/v1/signup",
                      json{{"name", name}, {"email", name + "@example.com"}, {"password", "pw-" + name}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    json j = r.parsed();
    if (!j.is_object()) return {};
    return {j.value("user_id", ""), j.value("account_id", ""), j.value("card_id", ""), j.value("card_token", ""),
            j.value("token", "")};
  }

  static json gbp(int64_t minor) { return {{"minor_units", minor}, {"currency", "GBP"}}; }

  bank::testing::BankTestEnv env_;
  testing::FakeAccount account_;
  testing::FakeCard card_;
  testing::FakeCardProcessor card_processor_;
  testing::FakeLedger ledger_;
  testing::FakeTransaction transaction_;
  testing::FakeFeed feed_;
  testing::FakeP2p p2p_;
  testing::FakePots pots_;
  testing::FakeFps fps_;
  std::vector<std::unique_ptr<grpc::Server>> servers_;
  std::map<std::string, std::string> vars_;
  std::unique_ptr<Edge> edge_;
  int port_ = 0;
};

TEST_F(EdgeTest, HealthzAnswersWithoutAuthAndStartsATrace) {
  startEdge();
  Reply r = request("GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.parsed(), json({{"status", "ok"}}));
  EXPECT_EQ(r.headers["content-type"], "application/json");
  ASSERT_TRUE(r.headers.count("traceparent"));
  EXPECT_TRUE(kit::parseTraceparent(r.headers["traceparent"]).has_value()) << r.headers["traceparent"];
}

TEST_F(EdgeTest, SignUpCreatesUserAccountAndCardAndLogInChecksThePassword) {
  startEdge();
  Customer alice = signUp("alice");
  EXPECT_FALSE(alice.user_id.empty());
  EXPECT_FALSE(alice.account_id.empty());
  EXPECT_EQ(alice.card_token, "tok_" + alice.card_id);
  EXPECT_EQ(alice.token.size(), 64u);

  Reply me = get("/v1/me", alice.token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.parsed(), json({{"user_id", alice.user_id}, {"name", "alice"}, {"email", "alice@example.com"}}));

  Reply login = request("POST", "/v1/login", json{{"email", "Alice@Example.com"}, {"password", "pw-alice"}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(login.parsed()["user_id"], alice.user_id);
  std::string second = login.parsed()["token"];
  EXPECT_NE(second, alice.token);
  EXPECT_EQ(get("/v1/me", second).status, 200);

  Reply wrong = request("POST", "/v1/login", json{{"email", "alice@example.com"}, {"password", "nope"}}.dump());
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.errorCode(), "unauthenticated");
  Reply unknown = request("POST", "/v1/login", json{{"email", "carol@example.com"}, {"password", "x"}}.dump());
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.errorMessage(), wrong.errorMessage()) << "an unknown email must look like a wrong password";
}

TEST_F(EdgeTest, RetriedSignUpCreatesNothingTwiceAndAnotherPasswordConflicts) {
  startEdge();
  Customer first = signUp("bob");
  Customer again = signUp("bob");
  EXPECT_EQ(again.user_id, first.user_id);
  EXPECT_EQ(again.account_id, first.account_id);
  EXPECT_EQ(again.card_id, first.card_id);
  EXPECT_EQ(account_.users(), 1u);
  Reply other = request("POST", "/v1/signup",
                        json{{"name", "bob"}, {"email", "bob@example.com"}, {"password", "different"}}.dump());
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(other.errorCode(), "conflict");
}

TEST_F(EdgeTest, SignUpInterruptedUpstreamIsFinishedByTheRetryWithTheSameKeys) {
  startEdge();
  card_.failNext("Issue", grpc::StatusCode::UNAVAILABLE);
  json body = {{"name", "dan"}, {"email", "dan@example.com"}, {"password", "pw"}};
  Reply failed = request("POST", "/v1/signup", body.dump());
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.errorCode(), "unavailable");
  EXPECT_NE(failed.errorMessage().find("card.Issue"), std::string::npos) << failed.errorMessage();

  Reply early = request("POST", "/v1/login", json{{"email", "dan@example.com"}, {"password", "pw"}}.dump());
  EXPECT_EQ(early.status, 409) << early.body;

  Reply retried = request("POST", "/v1/signup", body.dump());
  ASSERT_EQ(retried.status, 201) << retried.body;
  EXPECT_EQ(account_.users(), 1u);
  auto keys = account_.keys();
  ASSERT_EQ(keys.size(), 4u);  // CreateUser + Create, twice
  EXPECT_EQ(keys[0], keys[2]);
  EXPECT_EQ(keys[1], keys[3]);
  EXPECT_EQ(request("POST", "/v1/login", json{{"email", "dan@example.com"}, {"password", "pw"}}.dump()).status, 200);
}

TEST_F(EdgeTest, MissingMalformedUnknownAndExpiredTokensAre401) {
  startEdge({{"EDGE_TOKEN_TTL", "24h"}});
  Customer alice = signUp("alice");
  Reply none = request("GET", "/v1/accounts");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.errorCode(), "unauthenticated");
  EXPECT_NE(none.errorMessage().find("Bearer"), std::string::npos);
  EXPECT_EQ(request("GET", "/v1/accounts", "", {{"Authorization", "Basic YWxpY2U6cHc="}}).status, 401);
  EXPECT_EQ(get("/v1/accounts", "not-a-token").status, 401);
  EXPECT_EQ(get("/v1/accounts", std::string(64, 'a')).status, 401);
  EXPECT_EQ(get("/v1/accounts", alice.token).status, 200);

  env_.clock_.advance(25h);
  Reply expired = get("/v1/accounts", alice.token);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.errorCode(), "unauthenticated");
}

TEST_F(EdgeTest, TheOwnerReachesEveryRouteAndRequestsCarryTheirFields) {
  startEdge();
  Customer a = signUp("alice");
  Customer b = signUp("bob");
  const std::string acc = "/v1/accounts/" + a.account_id;

  Reply list = get("/v1/accounts", a.token);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.parsed()["accounts"].size(), 1u);
  EXPECT_EQ(list.parsed()["accounts"][0]["account_id"], a.account_id);

  Reply one = get(acc, a.token);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.parsed()["user_id"], a.user_id);
  EXPECT_EQ(one.parsed()["overdraft_limit_minor_units"], "0") << "proto3 JSON renders int64 as a string";

  Reply balance = get(acc + "/balance", a.token);
  ASSERT_EQ(balance.status, 200);
  EXPECT_EQ(balance.parsed()["address"], "account:" + a.account_id + ":main");
  EXPECT_EQ(balance.parsed()["currencies"][0]["settled_minor_units"], "1250");

  Reply txns = get(acc + "/transactions?limit=7", a.token);
  ASSERT_EQ(txns.status, 200);
  EXPECT_EQ(txns.parsed()["transactions"][0]["account_id"], a.account_id);
  EXPECT_EQ(transaction_.lastLimit(), 7);
  EXPECT_EQ(get(acc + "/transactions?limit=lots", a.token).status, 400);

  Reply items = get(acc + "/feed?limit=3", a.token);
  ASSERT_EQ(items.status, 200);
  EXPECT_EQ(items.parsed()["items"][0]["title"], "Coffee");
  EXPECT_EQ(feed_.lastLimit(), 3);

  Reply cards = get(acc + "/cards", a.token);
  ASSERT_EQ(cards.status, 200);
  EXPECT_EQ(cards.parsed()["cards"][0]["card_id"], a.card_id);

  Reply frozen = post("/v1/cards/" + a.card_id + "/freeze", {{"idempotency_key", "f1"}}, a.token);
  ASSERT_EQ(frozen.status, 200) << frozen.body;
  EXPECT_EQ(frozen.parsed()["status"], "CARD_FROZEN");
  EXPECT_EQ(card_.lastKey(), "edge:" + a.user_id + ":f1") << "customer keys are scoped to the customer";
  Reply thawed = post("/v1/cards/" + a.card_id + "/unfreeze", json::object(), a.token);
  ASSERT_EQ(thawed.status, 200) << thawed.body;
  EXPECT_EQ(thawed.parsed()["status"], "CARD_ACTIVE");

  Reply transfer = post("/v1/transfers",
                        {{"idempotency_key", "t1"},
                         {"from_account_id", a.account_id},
                         {"to_account_id", b.account_id},
                         {"amount", {{"minor_units", "500"}, {"currency", "GBP"}}},
                         {"reference", "lunch"}},
                        a.token);
  ASSERT_EQ(transfer.status, 200) << transfer.body;
  EXPECT_EQ(transfer.parsed()["state"], "TRANSFER_COMPLETED");
  EXPECT_EQ(p2p_.last().amount().minor_units(), 500) << "int64 accepted as a string";
  EXPECT_EQ(p2p_.last().to_account_id(), b.account_id);

  Reply pot = post(acc + "/pots", {{"idempotency_key", "p1"}, {"name", "Holiday"}}, a.token);
  ASSERT_EQ(pot.status, 200) << pot.body;
  std::string pot_id = pot.parsed()["pot_id"];
  EXPECT_EQ(pot.parsed()["currency"], "GBP");
  Reply pots = get(acc + "/pots", a.token);
  ASSERT_EQ(pots.status, 200);
  EXPECT_EQ(pots.parsed()["pots"][0]["pot_id"], pot_id);
  Reply dep = post("/v1/pots/" + pot_id + "/deposit", {{"idempotency_key", "d1"}, {"amount", gbp(300)}}, a.token);
  ASSERT_EQ(dep.status, 200) << dep.body;
  EXPECT_EQ(pots_.lastMove().amount().minor_units(), 300);
  Reply wd = post("/v1/pots/" + pot_id + "/withdraw", {{"idempotency_key", "w1"}, {"amount", gbp(100)}}, a.token);
  ASSERT_EQ(wd.status, 200) << wd.body;
  EXPECT_EQ(pots_.calls("Withdraw"), 1);

  Reply pay = post("/v1/payments",
                   {{"idempotency_key", "pay1"},
                    {"account_id", a.account_id},
                    {"amount", gbp(700)},
                    {"sort_code", "040004"},
                    {"account_number", "12345678"},
                    {"reference", "rent"}},
                   a.token);
  ASSERT_EQ(pay.status, 200) << pay.body;
  std::string payment_id = pay.parsed()["payment_id"];
  Reply fetched = get("/v1/payments/" + payment_id, a.token);
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.parsed()["state"], "PAYMENT_PENDING");
  EXPECT_EQ(fetched.parsed()["counterparty_sort_code"], "040004");
}

TEST_F(EdgeTest, EveryCustomerRouteRefusesAnotherCustomersResourcesWithoutSideEffects) {
  startEdge();
  Customer a = signUp("alice");
  Customer b = signUp("bob");
  const std::string acc = "/v1/accounts/" + a.account_id;
  std::string pot_id = post(acc + "/pots", {{"idempotency_key", "p1"}, {"name", "Holiday"}}, a.token).parsed()["pot_id"];
  std::string payment_id = post("/v1/payments",
                                {{"idempotency_key", "pay1"},
                                 {"account_id", a.account_id},
                                 {"amount", gbp(700)},
                                 {"sort_code", "040004"},
                                 {"account_number", "12345678"}},
                                a.token)
                               .parsed()["payment_id"];
  ASSERT_FALSE(pot_id.empty());
  ASSERT_FALSE(payment_id.empty());
  // Everything the upstreams did for alice so far; bob's probes must add nothing to it.
  auto counts = [&] {
    return std::map<std::string, int>{
        {"card.Freeze", card_.calls("Freeze")},          {"card.Unfreeze", card_.calls("Unfreeze")},
        {"card.ListByAccount", card_.calls("ListByAccount")}, {"pots.Create", pots_.calls("Create")},
        {"pots.Deposit", pots_.calls("Deposit")},        {"pots.Withdraw", pots_.calls("Withdraw")},
        {"pots.ListByAccount", pots_.calls("ListByAccount")}, {"p2p.CreateTransfer", p2p_.calls("CreateTransfer")},
        {"fps.Send", fps_.calls("Send")},                {"ledger.GetBalance", ledger_.calls("GetBalance")},
        {"transaction.ListByAccount", transaction_.calls("ListByAccount")},
        {"feed.ListFeed", feed_.calls("ListFeed")},
    };
  };
  const auto before = counts();

  // One probe per customer route that names a resource: bob's token on alice's ids.
  // Routes that name none are scoped to the caller by construction and are checked to
  // answer with bob's own data only.
  struct Probe {
    std::string path;
    json body;
  };
  const std::map<std::string, Probe> probes = {
      {"GET /v1/accounts/{}", {acc, {}}},
      {"GET /v1/accounts/{}/balance", {acc + "/balance", {}}},
      {"GET /v1/accounts/{}/transactions", {acc + "/transactions?limit=5", {}}},
      {"GET /v1/accounts/{}/feed", {acc + "/feed?limit=5", {}}},
      {"GET /v1/accounts/{}/cards", {acc + "/cards", {}}},
      {"GET /v1/accounts/{}/pots", {acc + "/pots", {}}},
      {"POST /v1/accounts/{}/pots", {acc + "/pots", {{"idempotency_key", "x"}, {"name", "Mine now"}}}},
      {"POST /v1/cards/{}/freeze", {"/v1/cards/" + a.card_id + "/freeze", {{"idempotency_key", "x"}}}},
      {"POST /v1/cards/{}/unfreeze", {"/v1/cards/" + a.card_id + "/unfreeze", {{"idempotency_key", "x"}}}},
      {"POST /v1/pots/{}/deposit", {"/v1/pots/" + pot_id + "/deposit", {{"idempotency_key", "x"}, {"amount", gbp(1)}}}},
      {"POST /v1/pots/{}/withdraw",
       {"/v1/pots/" + pot_id + "/withdraw", {{"idempotency_key", "x"}, {"amount", gbp(1)}}}},
      {"GET /v1/payments/{}", {"/v1/payments/" + payment_id, {}}},
      {"POST /v1/transfers",
       {"/v1/transfers",
        {{"idempotency_key", "x"}, {"from_account_id", a.account_id}, {"to_account_id", b.account_id},
         {"amount", gbp(1)}}}},
      {"POST /v1/payments",
       {"/v1/payments",
        {{"idempotency_key", "x"}, {"account_id", a.account_id}, {"amount", gbp(1)}, {"sort_code", "040004"},
         {"account_number", "12345678"}}}},
  };
  int probed = 0;
  for (const EdgeApi::RouteInfo& route : EdgeApi::routes()) {
    if (route.access != EdgeApi::Access::kCustomer) continue;
    const std::string name = route.method + " " + route.path;
    SCOPED_TRACE(name);
    if (name == "GET /v1/me") {
      Reply me = get("/v1/me", b.token);
      ASSERT_EQ(me.status, 200) << me.body;
      EXPECT_EQ(me.parsed()["user_id"], b.user_id);
      continue;
    }
    if (name == "GET /v1/accounts") {
      Reply list = get("/v1/accounts", b.token);
      ASSERT_EQ(list.status, 200) << list.body;
      EXPECT_EQ(list.body.find(a.account_id), std::string::npos) << "bob's list shows alice's account";
      EXPECT_NE(list.body.find(b.account_id), std::string::npos);
      continue;
    }
    auto it = probes.find(name);
    // A new customer route must get a probe here before it ships.
    ASSERT_NE(it, probes.end()) << "no ownership probe for the customer route " << name;
    ++probed;
    Reply r = route.method == "GET" ? get(it->second.path, b.token) : post(it->second.path, it->second.body, b.token);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.errorCode(), "not_found");
    EXPECT_EQ(r.body.find(a.user_id), std::string::npos) << "must not reveal the owner";
    // The route still works for its owner, so the 404 is about ownership, not the probe.
    Reply own = route.method == "GET" ? get(it->second.path, a.token)
                                      : post(it->second.path, it->second.body, a.token);
    EXPECT_NE(own.status, 404) << "alice's own request: " << own.body;
    EXPECT_LT(own.status, 500) << own.body;
  }
  EXPECT_EQ(probed, static_cast<int>(probes.size())) << "a probe names a route the edge no longer has";

  // The same answer as an id that does not exist at all.
  Reply missing = get("/v1/accounts/acc_nope", b.token);
  Reply theirs = get(acc, b.token);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(theirs.errorMessage(), "account " + a.account_id + " not found");
  EXPECT_EQ(missing.errorMessage(), "account acc_nope not found");
  EXPECT_EQ(get("/v1/payments/pay_nope", b.token).status, 404);
  EXPECT_EQ(post("/v1/pots/pot_nope/deposit", {{"idempotency_key", "x"}, {"amount", gbp(1)}}, b.token).status, 404);
  EXPECT_EQ(post("/v1/cards/card_nope/freeze", json::object(), b.token).status, 404);

  // Bob's probes reached no upstream that reads or changes alice's data: every count
  // that moved, moved by exactly alice's own requests above (one per route).
  const auto after = counts();
  const std::map<std::string, int> alices = {
      {"card.Freeze", 1},        {"card.Unfreeze", 1},      {"card.ListByAccount", 1},
      {"pots.Create", 1},        {"pots.Deposit", 1},       {"pots.Withdraw", 1},
      {"pots.ListByAccount", 1}, {"p2p.CreateTransfer", 1}, {"fps.Send", 1},
      {"ledger.GetBalance", 1},  {"transaction.ListByAccount", 1}, {"feed.ListFeed", 1},
  };
  for (const auto& [call, n] : alices) EXPECT_EQ(after.at(call) - before.at(call), n) << call;
}

TEST_F(EdgeTest, MalformedJsonAndMissingFieldsAre400NamingTheProblem) {
  startEdge();
  Customer a = signUp("alice");
  Reply broken = request("POST", "/v1/login", "{\"email\": \"a@b\", ");
  EXPECT_EQ(broken.status, 400);
  EXPECT_EQ(broken.errorCode(), "invalid_argument");
  EXPECT_NE(broken.errorMessage().find("malformed JSON"), std::string::npos) << broken.errorMessage();
  EXPECT_NE(broken.errorMessage().find("line 1"), std::string::npos) << broken.errorMessage();

  Reply array = request("POST", "/v1/login", "[1,2]");
  EXPECT_EQ(array.status, 400);
  EXPECT_NE(array.errorMessage().find("must be an object"), std::string::npos) << array.errorMessage();

  Reply missing = request("POST", "/v1/login", json{{"email", "a@example.com"}}.dump());
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.errorMessage(), "password is required");

  Reply wrong_type = request("POST", "/v1/login", json{{"email", 5}, {"password", "x"}}.dump());
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_NE(wrong_type.errorMessage().find("email must be a string"), std::string::npos);

  Reply bad_amount = post("/v1/transfers",
                          {{"idempotency_key", "t"}, {"from_account_id", a.account_id}, {"to_account_id", "x"},
                           {"amount", {{"minor_units", "12.5"}, {"currency", "GBP"}}}},
                          a.token);
  EXPECT_EQ(bad_amount.status, 400);
  EXPECT_NE(bad_amount.errorMessage().find("amount.minor_units"), std::string::npos) << bad_amount.errorMessage();

  Reply deep = request("POST", "/v1/login", std::string(5000, '[') + std::string(5000, ']'));
  EXPECT_EQ(deep.status, 400);
  EXPECT_NE(deep.errorMessage().find("nested"), std::string::npos);

  Reply binary = request("POST", "/v1/login", std::string("\x00\xff\xfe{", 4));
  EXPECT_EQ(binary.status, 400);
  EXPECT_EQ(request("GET", "/healthz").status, 200) << "still serving after bad input";
}

TEST_F(EdgeTest, ErrorAnswersStayValidJsonWhenTheRequestIsNotUtf8) {
  startEdge();
  // The JSON parser's reason quotes what it last read: here, bytes that are not UTF-8.
  for (const std::string& body : {std::string("[\"\xff\xfe\"]"), std::string("{\"email\": \"\xc3\x28\"}"),
                                  std::string("{\"a\": \xed\xa0\x80}")}) {
    Reply r = request("POST", "/v1/login", body);
    EXPECT_EQ(r.status, 400) << r.body;
    json j = r.parsed();
    ASSERT_TRUE(j.is_object()) << "not valid JSON: " << r.body;
    EXPECT_EQ(j["error"]["code"], "invalid_argument");
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
  }
  // Valid UTF-8 in a message passes through unchanged.
  Reply accented = request("GET", "/v1/caf%C3%A9");
  EXPECT_EQ(accented.status, 404);
  EXPECT_TRUE(accented.parsed().is_object()) << accented.body;
  EXPECT_EQ(request("GET", "/healthz").status, 200);
}

TEST_F(EdgeTest, OversizedBodyIs413AndTheServerAnswersTheNextRequest) {
  startEdge();
  std::string big(70 * 1024, 'x');
  Reply r = request("POST", "/v1/login", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.errorCode(), "payload_too_large");
  EXPECT_EQ(r.headers["connection"], "close");

  // Chunked, so the size is only known while reading.
  Conn chunked(port_);
  std::string req = "POST /v1/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) req += "1000\r\n" + std::string(4096, 'y') + "\r\n";
  req += "0\r\n\r\n";
  ASSERT_TRUE(chunked.send(req));
  EXPECT_EQ(chunked.read().status, 413);

  Reply next = request("GET", "/healthz");
  EXPECT_EQ(next.status, 200);
}

TEST_F(EdgeTest, OversizedHeadersAre431) {
  startEdge();
  Reply r = request("GET", "/healthz", "", {{"X-Filler", std::string(20 * 1024, 'h')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(request("GET", "/healthz").status, 200);
}

TEST_F(EdgeTest, AClientThatNeverFinishesItsHeadersIsDroppedWhileOthersAreServed) {
  startEdge({{"EDGE_READ_TIMEOUT", "200ms"}});
  Conn slow(port_);
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  // Served while the slow client holds its connection open.
  EXPECT_EQ(request("GET", "/healthz").status, 200);
  EXPECT_TRUE(slow.closedWithin(5s));
  EXPECT_EQ(request("GET", "/healthz").status, 200);
}

TEST_F(EdgeTest, AClientTricklingHeaderBytesIsDroppedAtTheRequestDeadline) {
  startEdge({{"EDGE_READ_TIMEOUT", "200ms"}});
  Conn slow(port_);
  ASSERT_TRUE(slow.send("GET /healthz HTTP/1.1\r\n"));
  bool closed = false;
  // One header byte every 20 ms never finishes a request; the whole-request deadline ends it.
  for (int i = 0; i < 250 && !closed; ++i) {
    if (!slow.send("X")) closed = true;
    else closed = slow.closedWithin(20ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(request("GET", "/healthz").status, 200);
}

TEST_F(EdgeTest, AClientTricklingItsBodyIsDroppedAtTheRequestDeadlineWhileOthersAreServed) {
  startEdge({{"EDGE_READ_TIMEOUT", "300ms"}});
  Conn slow(port_);
  ASSERT_TRUE(slow.send("POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n{"));
  bool closed = false;
  // The headers are whole, the body comes a byte at a time and never ends: the deadline
  // that started with the first byte of the request still holds.
  for (int i = 0; i < 250 && !closed; ++i) {
    if (!slow.send(" ")) closed = true;
    else closed = slow.closedWithin(20ms);
    if (i == 3) {
      EXPECT_EQ(request("GET", "/healthz").status, 200) << "served while the slow body trickles";
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(request("GET", "/healthz").status, 200);
}

TEST_F(EdgeTest, ConnectionsOverTheLimitAre503AndTheEdgeServesAgainOnceSlowClientsAreDropped) {
  startEdge({{"EDGE_MAX_CONNECTIONS", "2"}, {"EDGE_READ_TIMEOUT", "2s"}});
  // Two slowloris clients take both places: headers that never end.
  Conn first(port_), second(port_);
  ASSERT_TRUE(first.send("GET /healthz HTTP/1.1\r\nX-Slow: "));
  ASSERT_TRUE(second.send("GET /healthz HTTP/1.1\r\nX-Slow: "));
  Conn third(port_);
  ASSERT_TRUE(third.connected());
  Reply turned_away = third.read(5s);
  EXPECT_EQ(turned_away.status, 503) << turned_away.body;
  EXPECT_EQ(turned_away.errorCode(), "unavailable");
  EXPECT_NE(turned_away.errorMessage().find("limit of 2 connections"), std::string::npos) << turned_away.errorMessage();
  EXPECT_EQ(turned_away.headers["connection"], "close");
  EXPECT_TRUE(third.closedWithin(5s));
  // The read deadline frees both places; then requests are served again.
  EXPECT_TRUE(first.closedWithin(10s));
  EXPECT_TRUE(second.closedWithin(10s));
  Reply next = request("GET", "/healthz");
  EXPECT_EQ(next.status, 200) << next.body;
}

TEST_F(EdgeTest, ABadMaxConnectionsStopsTheEdgeAtStartUp) {
  auto vars = vars_;
  vars["SANDBANK_SERVICE"] = "edge";
  vars["EDGE_MAX_CONNECTIONS"] = "0";
  auto edge = Edge::start(kit::Config(vars), *env_.store_, env_.clock_);
  ASSERT_FALSE(edge.ok());
  EXPECT_NE(edge.status().message().find("EDGE_MAX_CONNECTIONS"), std::string::npos) << edge.status().toString();
}

TEST_F(EdgeTest, ADeclaredLengthOverTheLimitIs413BeforeAnyBodyIsSent) {
  startEdge();
  Conn c(port_);
  ASSERT_TRUE(c.send("POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n"));
  Reply r = c.read(5s);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.errorCode(), "payload_too_large");
  EXPECT_TRUE(c.closedWithin(15s)) << "the connection is closed after a 413";
  EXPECT_EQ(request("GET", "/healthz").status, 200);
}

TEST_F(EdgeTest, ForgedTokensAre401AndTheRealOneStillWorks) {
  startEdge();
  Customer alice = signUp("alice");
  std::string flipped = alice.token;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  const std::vector<std::string> forged = {
      flipped,                                   // one digit off
      std::string(64, 'f'),                      // well-formed, never issued
      alice.token + "0",                         // too long
      alice.token.substr(0, 63),                 // too short
      std::string(64, 'z'),                      // not hex
      "' OR '1'='1' --" + std::string(49, 'x'),  // store-query injection shaped
      alice.user_id,                             // a user id is no token
  };
  for (const std::string& token : forged) {
    Reply r = get("/v1/me", token);
    EXPECT_EQ(r.status, 401) << "token '" << token << "': " << r.body;
    EXPECT_EQ(r.errorCode(), "unauthenticated");
  }
  EXPECT_EQ(request("GET", "/v1/me", "", {{"Authorization", "Bearer"}}).status, 401);
  EXPECT_EQ(request("GET", "/v1/me", "", {{"Authorization", "Token " + alice.token}}).status, 401);
  EXPECT_EQ(account_.calls("GetUser"), 0) << "no forged token reached a service";
  Reply real = get("/v1/me", alice.token);
  EXPECT_EQ(real.status, 200) << real.body;
}

TEST(ParseHttpRequestTest, AWholeRequestIsParsedAndTheRestLeftForTheNext) {
  const std::string first = "POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-Up: A\r\n\r\n{}";
  const std::string second = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  HttpParse p = parseHttpRequest(first + second, HttpServerOptions{});
  ASSERT_EQ(p.outcome, HttpParse::Outcome::kRequest);
  EXPECT_EQ(p.consumed, first.size());
  EXPECT_TRUE(p.keep_alive);
  EXPECT_EQ(p.request.method, "POST");
  EXPECT_EQ(p.request.target, "/v1/login");
  EXPECT_EQ(p.request.body, "{}");
  ASSERT_NE(p.request.header("x-up"), nullptr) << "header names are lower-cased";
  EXPECT_EQ(*p.request.header("x-up"), "A");
  HttpParse q = parseHttpRequest(std::string_view(first + second).substr(p.consumed), HttpServerOptions{});
  ASSERT_EQ(q.outcome, HttpParse::Outcome::kRequest);
  EXPECT_EQ(q.request.target, "/healthz");
}

TEST(ParseHttpRequestTest, TheServersLimitsAndAnswersApply) {
  HttpServerOptions o;
  o.body_limit = 10;
  o.header_limit = 200;
  HttpParse big = parseHttpRequest("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", o);
  ASSERT_EQ(big.outcome, HttpParse::Outcome::kRejected);
  EXPECT_EQ(big.rejection.status, 413);
  HttpParse headers = parseHttpRequest("GET / HTTP/1.1\r\nX: " + std::string(300, 'h') + "\r\n\r\n", o);
  ASSERT_EQ(headers.outcome, HttpParse::Outcome::kRejected);
  EXPECT_EQ(headers.rejection.status, 431);
  HttpParse garbage = parseHttpRequest("THIS IS NOT HTTP\r\n\r\n", o);
  ASSERT_EQ(garbage.outcome, HttpParse::Outcome::kRejected);
  EXPECT_EQ(garbage.rejection.status, 400);
  EXPECT_NE(garbage.rejection.body.find("malformed HTTP request"), std::string::npos) << garbage.rejection.body;
  EXPECT_EQ(parseHttpRequest("GET / HTTP/1.1\r\nHost:", o).outcome, HttpParse::Outcome::kIncomplete);
  EXPECT_EQ(parseHttpRequest("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", o).outcome,
            HttpParse::Outcome::kIncomplete);
  EXPECT_EQ(parseHttpRequest("", o).outcome, HttpParse::Outcome::kIncomplete);
}

TEST_F(EdgeTest, UnknownRouteIs404AndWrongMethodIs405) {
  startEdge();
  Reply unknown = request("GET", "/v1/nothing-here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.errorCode(), "not_found");
  EXPECT_EQ(request("GET", "/v1/accounts/").status, 404);
  Reply method = request("DELETE", "/v1/accounts");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.errorCode(), "method_not_allowed");
  EXPECT_EQ(method.headers["allow"], "GET");
  Reply pots = request("PUT", "/v1/accounts/acc_1/pots");
  EXPECT_EQ(pots.status, 405);
  EXPECT_EQ(pots.headers["allow"], "GET, POST");
  Reply garbage = [&] {
    Conn c(port_);
    c.send("THIS IS NOT HTTP\r\n\r\n");
    return c.read();
  }();
  EXPECT_EQ(garbage.status, 400);
}

TEST_F(EdgeTest, KeepAliveAnswersSeveralRequestsOnOneConnection) {
  startEdge();
  Customer a = signUp("alice");
  Conn c(port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(rawRequest("GET", "/v1/me", "", {{"Authorization", "Bearer " + a.token}}, false)));
    Reply r = c.read();
    ASSERT_EQ(r.status, 200) << "request " << i;
    EXPECT_EQ(r.parsed()["user_id"], a.user_id);
  }
}

TEST_F(EdgeTest, UnreachableUpstreamIs503Json) {
  // A port that was just free: nothing listens there.
  std::string dead;
  {
    testing::FakeLedger gone;
    auto s = bank::testing::BankTestEnv::serve(&gone, &dead);
    s->Shutdown(std::chrono::system_clock::now());
  }
  vars_["SANDBANK_ADDR_LEDGER"] = dead;
  startEdge({{"EDGE_UPSTREAM_TIMEOUT", "2s"}});
  Customer a = signUp("alice");
  Reply r = get("/v1/accounts/" + a.account_id + "/balance", a.token);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.errorCode(), "unavailable");
  EXPECT_NE(r.errorMessage().find("ledger.GetBalance"), std::string::npos) << r.errorMessage();
}

TEST_F(EdgeTest, ServiceWithNoRouteIs503NamingTheVariable) {
  vars_.erase("SANDBANK_ADDR_FEED");
  startEdge();
  Customer a = signUp("alice");
  Reply r = get("/v1/accounts/" + a.account_id + "/feed", a.token);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.errorMessage().find("SANDBANK_ADDR_FEED"), std::string::npos) << r.errorMessage();
}

TEST_F(EdgeTest, UpstreamPastTheDeadlineIs504) {
  startEdge({{"EDGE_UPSTREAM_TIMEOUT", "150ms"}});
  Customer a = signUp("alice");
  ledger_.hang("GetBalance");
  Reply r = get("/v1/accounts/" + a.account_id + "/balance", a.token);
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.errorCode(), "deadline_exceeded");
}

TEST_F(EdgeTest, RefusalsAre422AndKeyReuseIs409) {
  startEdge();
  Customer a = signUp("alice");
  Customer b = signUp("bob");
  json big = {{"idempotency_key", "k1"}, {"from_account_id", a.account_id}, {"to_account_id", b.account_id},
              {"amount", gbp(5'000'000)}};
  Reply refused = post("/v1/transfers", big, a.token);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.errorCode(), "declined");
  EXPECT_NE(refused.errorMessage().find("insufficient funds"), std::string::npos) << "keeps the upstream's reason";
  big["amount"] = gbp(5);
  Reply reused = post("/v1/transfers", big, a.token);
  EXPECT_EQ(reused.status, 409) << reused.body;
  EXPECT_EQ(reused.errorCode(), "conflict");
  // Bob's key "k1" is his own, not Alice's.
  json bobs = {{"idempotency_key", "k1"}, {"from_account_id", b.account_id}, {"to_account_id", a.account_id},
               {"amount", gbp(5)}};
  EXPECT_EQ(post("/v1/transfers", bobs, b.token).status, 200);
}

TEST_F(EdgeTest, SchemeIngressNeedsTheSchemeKey) {
  startEdge({{"EDGE_SCHEME_KEY", "s3cret"}});
  json auth = {{"scheme_message_id", "m1"},
               {"card_token", "tok_x"},
               {"amount", gbp(450)},
               {"merchant", {{"merchant_id", "m"}, {"name", "Cafe"}, {"category_code", "5814"}, {"country", "GB"}}}};
  Reply none = request("POST", "/scheme/card/authorise", auth.dump());
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.errorCode(), "unauthenticated");
  EXPECT_EQ(scheme("/scheme/card/authorise", auth, "sandbank-scheme").status, 401);
  EXPECT_EQ(card_processor_.calls("Authorise"), 0);

  Reply ok = scheme("/scheme/card/authorise", auth, "s3cret");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.parsed()["decision"], "APPROVED");
  EXPECT_EQ(card_processor_.lastAuthorise().idempotency_key(), "m1");
  EXPECT_EQ(card_processor_.lastAuthorise().merchant().category_code(), "5814");

  Reply clear = scheme("/scheme/card/clear", {{"scheme_message_id", "m2"}, {"authorisation_id", "auth_m1"},
                                              {"amount", gbp(450)}}, "s3cret");
  ASSERT_EQ(clear.status, 200) << clear.body;
  EXPECT_EQ(clear.parsed()["entryset_id"], "es_m2");
  Reply reverse = scheme("/scheme/card/reverse", {{"scheme_message_id", "m3"}, {"authorisation_id", "auth_m1"}}, "s3cret");
  EXPECT_EQ(reverse.status, 200) << reverse.body;

  Reply inbound = scheme("/scheme/fps/inbound", {{"payment_id", "fp1"}, {"account_id", "acc_9"}, {"amount", gbp(10000)},
                                                 {"payer_name", "Employer"}}, "s3cret");
  ASSERT_EQ(inbound.status, 200) << inbound.body;
  EXPECT_EQ(fps_.lastInbound().idempotency_key(), "fp1");
  Reply nowhere = scheme("/scheme/fps/inbound", {{"payment_id", "fp2"}, {"amount", gbp(1)}}, "s3cret");
  EXPECT_EQ(nowhere.status, 400);
  EXPECT_NE(nowhere.errorMessage().find("account_id"), std::string::npos);
}

TEST_F(EdgeTest, TraceparentIsContinuedIntoUpstreamCallsAndReturned) {
  startEdge();
  Customer a = signUp("alice");
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const size_t seen_before = account_.traceparents().size();
  Reply r = request("GET", "/v1/accounts/" + a.account_id,  "",
                    {{"Authorization", "Bearer " + a.token}, {"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}});
  ASSERT_EQ(r.status, 200);
  auto back = kit::parseTraceparent(r.headers["traceparent"]);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->trace_id, trace);
  EXPECT_NE(back->span_id, "00f067aa0ba902b7") << "the edge answers with a span of its own";
  auto seen = account_.traceparents();
  ASSERT_GT(seen.size(), seen_before);
  auto upstream = kit::parseTraceparent(seen.back());
  ASSERT_TRUE(upstream.has_value()) << seen.back();
  EXPECT_EQ(upstream->trace_id, trace);
}

TEST_F(EdgeTest, ExpectContinueIsAnsweredBeforeTheBody) {
  startEdge();
  Conn c(port_);
  std::string body = json{{"email", "x@example.com"}, {"password", "pw"}}.dump();
  ASSERT_TRUE(c.send("POST /v1/login HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n"));
  Reply interim = c.read();
  EXPECT_EQ(interim.status, 100);
  ASSERT_TRUE(c.send(body));
  EXPECT_EQ(c.read().status, 401);
}

TEST_F(EdgeTest, StopAnswersTheRequestInProgressAndClosesIdleConnections) {
  startEdge({{"EDGE_UPSTREAM_TIMEOUT", "300ms"}});
  Customer a = signUp("alice");
  Conn idle(port_);
  ASSERT_TRUE(idle.send(rawRequest("GET", "/healthz", "", {}, false)));
  ASSERT_EQ(idle.read().status, 200);

  ledger_.hang("GetBalance");
  Conn busy(port_);
  ASSERT_TRUE(busy.send(rawRequest("GET", "/v1/accounts/" + a.account_id + "/balance", "",
                                   {{"Authorization", "Bearer " + a.token}}, false)));
  // Bounded wait until the request is with the ledger.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (ledger_.calls("GetBalance") == 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 1);
  }
  ASSERT_EQ(ledger_.calls("GetBalance"), 1);

  std::thread stopper([&] { edge_->stop(); });
  Reply answer = busy.read();
  EXPECT_EQ(answer.status, 504) << "the request in progress still gets its answer";
  EXPECT_EQ(answer.headers["connection"], "close");
  EXPECT_TRUE(idle.closedWithin(5s));
  stopper.join();
  Conn after(port_);
  EXPECT_FALSE(after.connected()) << "no new connections once stopped";
}

}  // namespace
}  // namespace sandbank::edge
