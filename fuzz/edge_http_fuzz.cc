// Fuzzes the edge's HTTP handling in-process: the input is what a client sends on one
// connection. It goes through the edge's own parser with the edge's limits
// (parseHttpRequest, as HttpServer uses it), and every whole request through the edge's
// routing, authentication and body validation (EdgeApi::handle) with an in-memory
// credential store and no upstream services (each upstream call answers 503). Every
// answer must be one of the contract's statuses with a JSON body, errors with a code and
// a reason. Thread-safety: libFuzzer calls it from one thread.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sandbank/edge/edge.h"
#include "sandbank/edge/http_server.h"
#include "sandbank/kit/config.h"
#include "sandbank/kit/log.h"

namespace {

using sandbank::Result;
using sandbank::Status;
using namespace sandbank::edge;

// The one token that authenticates (seeds carry it, so customer routes get past auth).
const std::string kToken(64, 'f');

class FuzzCredentials final : public Credentials {
 public:
  Result<sandbank::edge::Registration> registerEmail(std::string_view email, std::string_view name,
                                                     std::string_view password) override {
    if (email.empty() || name.empty() || password.empty()) return sandbank::InvalidArgument("email is required");
    sandbank::edge::Registration r;
    r.email = Auth::normaliseEmail(email);
    r.name = std::string(name);
    return r;
  }
  Status completeSignUp(const sandbank::edge::Registration&) override { return sandbank::OkStatus(); }
  Result<sandbank::edge::Registration> logIn(std::string_view, std::string_view) override {
    return Status(sandbank::StatusCode::kUnauthenticated, "email or password is wrong");
  }
  Result<std::string> newSession(const std::string&) override { return kToken; }
  Result<std::string> authenticate(std::string_view token) override {
    if (token == kToken) return std::string("user_fuzz");
    return Status(sandbank::StatusCode::kUnauthenticated, "the token is unknown or has expired; log in again");
  }
};

[[noreturn]] void finding(const char* what, const HttpResponse& r) {
  std::fprintf(stderr, "edge_http: %s (status %d): %s\n", what, r.status, r.body.c_str());
  std::abort();
}

// The contract (services/edge/README.md) in checkable form.
void checkAnswer(const HttpResponse& r, bool from_parser) {
  static const std::set<int> kStatuses = {200, 201, 400, 401, 404, 405, 409, 413, 422, 431, 503, 504};
  // 500 means a route failed in a way nobody planned for: with no upstreams it is a bug.
  if (!kStatuses.count(r.status)) finding("status outside the contract", r);
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) finding("answer is not a JSON object", r);
  if (r.status >= 400) {
    const auto& error = body.value("error", nlohmann::json());
    if (!error.is_object() || !error.value("code", nlohmann::json()).is_string() ||
        error.value("message", std::string()).empty()) {
      finding("error without a code and a reason", r);
    }
  }
  if (!from_parser) {
    bool traced = false;
    for (const auto& [name, value] : r.headers) traced = traced || name == "traceparent";
    if (!traced) finding("answer without a traceparent", r);
  }
}

struct FuzzEdge {
  FuzzCredentials credentials;
  HttpServerOptions limits;  // the edge's defaults: 64 KiB bodies, 16 KiB headers
  std::unique_ptr<EdgeApi> api;
};

FuzzEdge& edge() {
  static FuzzEdge* e = [] {
    sandbank::kit::initLogging("edge-fuzz", sandbank::LogLevel::kError);
    auto* made = new FuzzEdge();
    sandbank::kit::Config config(std::map<std::string, std::string>{{"SANDBANK_SERVICE", "edge"}});
    auto options = EdgeOptions::fromConfig(config);
    if (!options.ok()) {
      std::fprintf(stderr, "edge_http: %s\n", options.status().toString().c_str());
      std::abort();
    }
    made->limits = options->http;
    made->api = std::make_unique<EdgeApi>(made->credentials, config, *options);
    return made;
  }();
  return *e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzEdge& e = edge();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  // A connection: requests one after another while keep-alive holds.
  for (int i = 0; i < 64 && !rest.empty(); ++i) {
    HttpParse p = parseHttpRequest(rest, e.limits);
    if (p.outcome == HttpParse::Outcome::kIncomplete) break;
    if (p.outcome == HttpParse::Outcome::kRejected) {
      if (p.rejection.status != 400 && p.rejection.status != 413 && p.rejection.status != 431)
        finding("the parser rejected with an unexpected status", p.rejection);
      checkAnswer(p.rejection, true);
      break;
    }
    if (p.consumed == 0 || p.consumed > rest.size()) std::abort();
    checkAnswer(e.api->handle(p.request), false);
    if (!p.keep_alive) break;
    rest.remove_prefix(p.consumed);
  }
  return 0;
}
