// The whole reference bank (bank.yaml) as `sandbank up` runs it, driven over HTTP through
// the edge the way the app and the schemes drive it: sign-up and log-in, a card payment
// from authorisation to settlement, a P2P transfer, pots, Faster Payments in and out
// (including a reject), and auth failures. After every test the bank invariant checker
// must be clean.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <thread>

#include "http_client.h"
#include "sandbank/cli/bank_check.h"
#include "sandbank/control/simulator.h"

namespace sandbank::control {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// proto3 JSON renders int64 as strings.
int64_t asInt(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) return std::stoll(v.get<std::string>());
  return 0;
}

json money(int64_t minor) { return {{"minor_units", minor}, {"currency", "GBP"}}; }

struct Customer {
  std::string token, user_id, account_id, card_id, card_token;
};

class BankTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("sandbank-bank-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    SimulatorOptions o;
    o.manifest_path = std::string(SANDBANK_SOURCE_DIR) + "/bank.yaml";
    o.state_file = (*dir_ / "state/run.json").string();
    o.bin_dir = SANDBANK_BIN_DIR;
    auto sim = Simulator::create(o);
    ASSERT_TRUE(sim.ok()) << sim.status().toString();
    sim_ = sim->release();
    sim_->setChecker(cli::makeBankChecker(*sim_));
    ASSERT_TRUE(sim_->up().ok());
    Status ready = sim_->supervisor().waitUntilReady(60s);
    ASSERT_TRUE(ready.ok()) << ready.toString();
    for (const auto& s : sim_->supervisor().snapshot())
      if (s.service == "edge") http_port_ = s.http_port;
    ASSERT_GT(http_port_, 0) << "the edge did not announce its HTTP port";
  }
  static void TearDownTestSuite() {
    delete sim_;
    sim_ = nullptr;
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  void TearDown() override {
    if (!sim_) return;
    // Every test leaves the bank consistent.
    auto checker = cli::makeBankChecker(*sim_);
    CheckSpec spec;
    spec.settle = 10s;
    auto r = checker(spec);
    ASSERT_TRUE(r.ok()) << r.status().toString();
    EXPECT_TRUE(r->clean()) << formatCheckOutcome(*r);
  }

  static testing::HttpResponse call(const std::string& method, const std::string& path, const json& body = nullptr,
                                    const std::string& token = "") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return testing::httpRequest(http_port_, method, path, body.is_null() ? "" : body.dump(), headers);
  }
  static testing::HttpResponse scheme(const std::string& path, const json& body) {
    return testing::httpRequest(http_port_, "POST", path, body.dump(), {{"X-Scheme-Key", "sandbank-scheme"}});
  }
  static json parse(const testing::HttpResponse& r) {
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.body;
    return j;
  }

  Customer signUp(const std::string& name) {
    static int n = 0;
    std::string email = name + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + "@example.com";
    auto r = call("POST", "/v1/signup", {{"name", name}, {"email", email}, {"password", "correct horse"}});
    EXPECT_EQ(r.status, 201) << r.body << r.error;
    json j = parse(r);
    Customer c;
    c.token = j.value("token", "");
    c.user_id = j.value("user_id", "");
    c.account_id = j.value("account_id", "");
    c.card_id = j.value("card_id", "");
    c.card_token = j.value("card_token", "");
    EXPECT_FALSE(c.token.empty()) << r.body;
    EXPECT_FALSE(c.account_id.empty()) << r.body;
    return c;
  }

  void payIn(const Customer& c, int64_t amount, const std::string& id) {
    auto r = scheme("/scheme/fps/inbound", {{"payment_id", id},
                                           {"account_id", c.account_id},
                                           {"amount", money(amount)},
                                           {"payer_name", "Employer Ltd"},
                                           {"reference", "salary"}});
    ASSERT_EQ(r.status, 200) << r.body << r.error;
  }

  json balance(const Customer& c) {
    auto r = call("GET", "/v1/accounts/" + c.account_id + "/balance", nullptr, c.token);
    EXPECT_EQ(r.status, 200) << r.body;
    return parse(r);
  }

  // The GBP figure `field` ("settled", "available", ...) of a ledger Balance.
  static int64_t gbp(const json& balance, const std::string& field) {
    if (balance.contains("currencies")) {
      for (const auto& c : balance["currencies"])
        if (c.value("currency", "") == "GBP") return asInt(c.value(field + "_minor_units", json(0)));
    }
    return asInt(balance.value(field + "_minor_units", json(0)));
  }

  // Polls `pred` every 20 ms for up to `timeout` (the bank's asynchronous side).
  static bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (pred()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return pred();
  }

  static json list(const Customer& c, const std::string& what, const std::string& field) {
    auto r = call("GET", "/v1/accounts/" + c.account_id + "/" + what, nullptr, c.token);
    if (r.status != 200) return json::array();
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains(field)) return json::array();
    return j[field];
  }

  static fs::path* dir_;
  static Simulator* sim_;
  static int http_port_;
};

fs::path* BankTest::dir_ = nullptr;
Simulator* BankTest::sim_ = nullptr;
int BankTest::http_port_ = 0;

TEST_F(BankTest, SignUpLogInAndAuthFailures) {
  Customer alice = signUp("alice");
  Customer bob = signUp("bob");
  auto me = call("GET", "/v1/me", nullptr, alice.token);
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(parse(me).value("user_id", ""), alice.user_id);

  EXPECT_EQ(call("GET", "/v1/me").status, 401);
  EXPECT_EQ(call("GET", "/v1/me", nullptr, "not-a-token").status, 401);
  auto err = parse(call("GET", "/v1/accounts"));
  ASSERT_TRUE(err.contains("error")) << err.dump();
  EXPECT_EQ(err["error"].value("code", ""), "unauthenticated");
  EXPECT_FALSE(err["error"].value("message", "").empty());

  // Someone else's things are not there, as far as bob can tell.
  EXPECT_EQ(call("GET", "/v1/accounts/" + alice.account_id, nullptr, bob.token).status, 404);
  EXPECT_EQ(call("GET", "/v1/accounts/" + alice.account_id + "/balance", nullptr, bob.token).status, 404);
  EXPECT_EQ(call("POST", "/v1/cards/" + alice.card_id + "/freeze", json::object(), bob.token).status, 404);
  auto steal = call("POST", "/v1/transfers",
                    {{"idempotency_key", "steal-1"}, {"from_account_id", alice.account_id},
                     {"to_account_id", bob.account_id}, {"amount", money(100)}, {"reference", "mine now"}},
                    bob.token);
  EXPECT_EQ(steal.status, 404) << steal.body;
}

TEST_F(BankTest, CardPaymentFromAuthorisationToSettlement) {
  Customer c = signUp("carol");
  payIn(c, 10000, "fps-in-carol-1");
  auto auth = scheme("/scheme/card/authorise",
                     {{"scheme_message_id", "auth-carol-1"},
                      {"card_token", c.card_token},
                      {"amount", money(1250)},
                      {"merchant", {{"merchant_id", "tesco-1"}, {"name", "TESCO STORES 1234"},
                                    {"category_code", "5411"}, {"country", "GB"}}}});
  ASSERT_EQ(auth.status, 200) << auth.body;
  json a = parse(auth);
  EXPECT_EQ(a.value("decision", ""), "APPROVED") << a.dump();
  std::string auth_id = a.value("authorisation_id", "");
  ASSERT_FALSE(auth_id.empty());
  EXPECT_EQ(gbp(balance(c), "available"), 10000 - 1250);

  // A retransmission is answered with the original decision and holds nothing more.
  json again = parse(scheme("/scheme/card/authorise",
                            {{"scheme_message_id", "auth-carol-1"},
                             {"card_token", c.card_token},
                             {"amount", money(1250)},
                             {"merchant", {{"merchant_id", "tesco-1"}, {"name", "TESCO STORES 1234"},
                                           {"category_code", "5411"}, {"country", "GB"}}}}));
  EXPECT_EQ(again.value("authorisation_id", ""), auth_id);
  EXPECT_EQ(gbp(balance(c), "available"), 10000 - 1250);

  // The asynchronous side: a pending transaction and a feed item.
  EXPECT_TRUE(eventually([&] {
    for (const auto& t : list(c, "transactions", "transactions"))
      if (t.value("source_id", "") == auth_id) return true;
    return false;
  })) << list(c, "transactions", "transactions").dump();
  EXPECT_TRUE(eventually([&] { return !list(c, "feed", "items").empty(); }));

  // Clearing for a different amount settles the presented amount.
  auto clear = scheme("/scheme/card/clear",
                      {{"scheme_message_id", "clear-carol-1"}, {"authorisation_id", auth_id}, {"amount", money(1300)}});
  ASSERT_EQ(clear.status, 200) << clear.body;
  EXPECT_TRUE(eventually([&] { return gbp(balance(c), "settled") == 10000 - 1300; })) << balance(c).dump();
  EXPECT_EQ(gbp(balance(c), "available"), 10000 - 1300);
  EXPECT_TRUE(eventually([&] {
    for (const auto& t : list(c, "transactions", "transactions"))
      if (t.value("source_id", "") == auth_id && t.value("state", "") == "SETTLED") return true;
    return false;
  })) << list(c, "transactions", "transactions").dump();
}

TEST_F(BankTest, P2pTransferMovesMoneyOnceAndShowsOnBothSides) {
  Customer a = signUp("dave");
  Customer b = signUp("erin");
  payIn(a, 5000, "fps-in-dave-1");
  json body = {{"idempotency_key", "p2p-dave-erin-1"}, {"from_account_id", a.account_id},
               {"to_account_id", b.account_id}, {"amount", money(1500)}, {"reference", "dinner"}};
  auto t = call("POST", "/v1/transfers", body, a.token);
  ASSERT_EQ(t.status, 200) << t.body;
  json tr = parse(t);
  EXPECT_EQ(tr.value("state", ""), "TRANSFER_COMPLETED") << tr.dump();
  auto retry = parse(call("POST", "/v1/transfers", body, a.token));
  EXPECT_EQ(retry.value("transfer_id", ""), tr.value("transfer_id", "x"));
  EXPECT_EQ(gbp(balance(a), "settled"), 3500);
  EXPECT_EQ(gbp(balance(b), "settled"), 1500);
  EXPECT_TRUE(eventually([&] { return !list(b, "feed", "items").empty(); }));
}

TEST_F(BankTest, PotsAreLedgerAddressesOwnedByTheAccount) {
  Customer c = signUp("frank");
  payIn(c, 3000, "fps-in-frank-1");
  auto p = call("POST", "/v1/accounts/" + c.account_id + "/pots", {{"idempotency_key", "pot-frank-1"}, {"name", "Holiday"}},
                c.token);
  ASSERT_EQ(p.status, 200) << p.body;
  std::string pot_id = parse(p).value("pot_id", "");
  ASSERT_FALSE(pot_id.empty());
  ASSERT_EQ(call("POST", "/v1/pots/" + pot_id + "/deposit", {{"idempotency_key", "dep-1"}, {"amount", money(1000)}},
                 c.token).status, 200);
  ASSERT_EQ(call("POST", "/v1/pots/" + pot_id + "/withdraw", {{"idempotency_key", "wd-1"}, {"amount", money(300)}},
                 c.token).status, 200);
  auto over = call("POST", "/v1/pots/" + pot_id + "/withdraw", {{"idempotency_key", "wd-2"}, {"amount", money(5000)}},
                   c.token);
  EXPECT_GE(over.status, 400) << over.body;
  EXPECT_EQ(gbp(balance(c), "settled"), 3000 - 1000 + 300);
  auto pots = list(c, "pots", "pots");
  ASSERT_EQ(pots.size(), 1u) << pots.dump();
}

TEST_F(BankTest, FasterPaymentsInAndOutIncludingAReject) {
  Customer c = signUp("grace");
  payIn(c, 8000, "fps-in-grace-1");
  payIn(c, 8000, "fps-in-grace-1");  // the hub retrying: credited once
  EXPECT_EQ(gbp(balance(c), "settled"), 8000);

  auto ok = call("POST", "/v1/payments",
                 {{"idempotency_key", "pay-grace-1"}, {"account_id", c.account_id}, {"amount", money(2000)},
                  {"sort_code", "040004"}, {"account_number", "12345678"}, {"reference", "rent"}},
                 c.token);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(parse(ok).value("state", ""), "PAYMENT_COMPLETED") << ok.body;

  // The hub rejects this sort code (bank.yaml: FPS_HUB_REJECT_SORT_CODES); the money comes back.
  auto rejected = call("POST", "/v1/payments",
                       {{"idempotency_key", "pay-grace-2"}, {"account_id", c.account_id}, {"amount", money(1000)},
                        {"sort_code", "999999"}, {"account_number", "87654321"}, {"reference", "nope"}},
                       c.token);
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(parse(rejected).value("state", ""), "PAYMENT_REVERSED") << rejected.body;
  EXPECT_EQ(gbp(balance(c), "settled"), 8000 - 2000);
}

}  // namespace
}  // namespace sandbank::control
