// The edge's routes: authentication, ownership checks, JSON in and out, and the calls to
// the bank services behind each route. Upstream gRPC codes become HTTP statuses here
// (table in services/edge/README.md).
// Thread-safety: Impl holds only immutable state after construction (stubs are
// thread-safe), so handle() runs on many threads at once.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <string_view>
#include <vector>

#include "json_body.h"
#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/card.grpc.pb.h"
#include "sandbank/bank/card_processor.grpc.pb.h"
#include "sandbank/bank/feed.grpc.pb.h"
#include "sandbank/bank/fps.grpc.pb.h"
#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/bank/p2p.grpc.pb.h"
#include "sandbank/bank/pots.grpc.pb.h"
#include "sandbank/bank/transaction.grpc.pb.h"
#include "sandbank/edge/edge.h"
#include "sandbank/kit/channel.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/trace.h"
#include "secrets.h"

namespace sandbank::edge {
namespace {

namespace account = ::sandbank::bank::account;
namespace card = ::sandbank::bank::card;
namespace cp = ::sandbank::bank::card_processor;
namespace feed = ::sandbank::bank::feed;
namespace fps = ::sandbank::bank::fps;
namespace ledger = ::sandbank::bank::ledger;
namespace p2p = ::sandbank::bank::p2p;
namespace pots = ::sandbank::bank::pots;
namespace txn = ::sandbank::bank::transaction;

constexpr int kMaxListLimit = 10000;

Status unauthenticated(std::string m) { return Status(StatusCode::kUnauthenticated, std::move(m)); }

bool containsNoCase(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

// Upstream services have no code of their own for a business refusal: the ledger says
// FAILED_PRECONDITION "insufficient funds at ...". Those reasons become 422 declined;
// other failed preconditions (a reused idempotency key, a hold already ended) stay 409.
bool isBusinessRefusal(std::string_view reason) {
  for (std::string_view word : {"insufficient funds", "frozen", "closed", "cancelled", "declined", "overdraft"})
    if (containsNoCase(reason, word)) return true;
  return false;
}

HttpResponse statusResponse(const Status& s) {
  const std::string& m = s.message();
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return errorResponse(400, "invalid_argument", m);
    case StatusCode::kUnauthenticated: return errorResponse(401, "unauthenticated", m);
    case StatusCode::kNotFound: return errorResponse(404, "not_found", m);
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted: return errorResponse(409, "conflict", m);
    case StatusCode::kFailedPrecondition:
      return isBusinessRefusal(m) ? errorResponse(422, "declined", m) : errorResponse(409, "conflict", m);
    case StatusCode::kPermissionDenied: return errorResponse(422, "declined", m);
    case StatusCode::kUnavailable:
    case StatusCode::kCancelled:
    case StatusCode::kResourceExhausted: return errorResponse(503, "unavailable", m);
    case StatusCode::kDeadlineExceeded: return errorResponse(504, "deadline_exceeded", m);
    default: return errorResponse(500, "internal", m);
  }
}

HttpResponse json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Result<HttpResponse> protoResponse(const google::protobuf::Message& m, int status = 200) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  auto s = google::protobuf::util::MessageToJsonString(m, &out, options);
  if (!s.ok()) return Internal("cannot render " + m.GetTypeName() + " as JSON: " + std::string(s.message()));
  return json(status, std::move(out));
}

// %XX escapes (and '+' as a space in a query); *ok turns false on a malformed escape.
std::string percentDecode(std::string_view s, bool plus_is_space, bool* ok) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      unsigned v = 0;
      if (i + 2 >= s.size()) {
        *ok = false;
        return out;
      }
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec != std::errc() || p != s.data() + i + 3) {
        *ok = false;
        return out;
      }
      out.push_back(static_cast<char>(v));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

using Access = EdgeApi::Access;

// One request on its way through a route.
struct Call {
  const HttpRequest& request;
  std::vector<std::string> params;  // the {id} parts of the path, in order
  std::map<std::string, std::string> query;
  std::string user_id;  // the token's user, for customer routes
};

}  // namespace

class EdgeApi::Impl {
 public:
  Impl(Credentials& auth, const kit::Config& config, EdgeOptions options)
      : auth_(auth), options_(std::move(options)) {
    connect(config, "account", account_);
    connect(config, "card", card_);
    connect(config, "card-processor", card_processor_);
    connect(config, "ledger", ledger_);
    connect(config, "transaction", transaction_);
    connect(config, "feed", feed_);
    connect(config, "p2p", p2p_);
    connect(config, "pots", pots_);
    connect(config, "fps", fps_);
  }

  HttpResponse handle(const HttpRequest& request);

 private:
  friend class EdgeApi;  // routes(), for EdgeApi::routes()

  template <class S>
  struct Upstream {
    std::string name;
    std::unique_ptr<typename S::Stub> stub;
    Status missing;  // why there is no stub
  };

  template <class S>
  static void connect(const kit::Config& config, const std::string& name, Upstream<S>& u) {
    u.name = name;
    auto channel = kit::channelTo(name, config);
    if (channel.ok()) u.stub = S::NewStub(*channel);
    else u.missing = channel.status();
  }

  // One upstream call under the edge's deadline; the current trace rides along through
  // the kit's interceptor. Errors keep the upstream's code and reason, prefixed with
  // "<service>.<Method>".
  template <class S, class Fn>
  Status call(const Upstream<S>& u, const char* method, Fn fn) const {
    if (!u.stub) return u.missing;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options_.upstream_timeout);
    grpc::Status s = fn(*u.stub, &ctx);
    if (s.ok()) return OkStatus();
    std::string reason = s.error_message();
    if (reason.empty()) reason = "no reason given";
    auto code = static_cast<StatusCode>(s.error_code());
    // A service refusing *our* credentials is the edge's fault, not the customer's.
    if (code == StatusCode::kUnauthenticated) code = StatusCode::kInternal;
    return Status(code, u.name + "." + method + ": " + reason);
  }

  using Handler = Result<HttpResponse> (Impl::*)(Call&);
  struct Route {
    std::string_view method;
    std::vector<std::string_view> pattern;  // "{}" matches one non-empty segment
    Access access;
    Handler handler;
  };
  static const std::vector<Route>& routes();

  Result<HttpResponse> dispatch(const HttpRequest& request);
  Status authorise(Access access, Call& call);

  // Ownership: the resource exists and belongs to the caller, or NOT_FOUND (the same
  // answer for both, so no customer learns about another's ids).
  Result<account::AccountRecord> ownedAccount(const Call& c, const std::string& account_id,
                                              const char* what = "account", const std::string& shown_id = "");
  Result<card::CardRecord> ownedCard(const Call& c, const std::string& card_id);
  Result<pots::Pot> ownedPot(const Call& c, const std::string& pot_id);
  Result<int32_t> limit(const Call& c);
  // A customer's idempotency key, scoped to them so two customers' keys never collide
  // and no customer can replay another's result.
  static std::string scopedKey(const Call& c, const std::string& key) { return "edge:" + c.user_id + ":" + key; }

  Result<HttpResponse> health(Call&);
  Result<HttpResponse> signUp(Call&);
  Result<HttpResponse> logIn(Call&);
  Result<HttpResponse> me(Call&);
  Result<HttpResponse> listAccounts(Call&);
  Result<HttpResponse> getAccount(Call&);
  Result<HttpResponse> balance(Call&);
  Result<HttpResponse> transactions(Call&);
  Result<HttpResponse> feedItems(Call&);
  Result<HttpResponse> listCards(Call&);
  Result<HttpResponse> freeze(Call&);
  Result<HttpResponse> unfreeze(Call&);
  Result<HttpResponse> setFrozen(Call&, bool frozen);
  Result<HttpResponse> transfer(Call&);
  Result<HttpResponse> listPots(Call&);
  Result<HttpResponse> createPot(Call&);
  Result<HttpResponse> deposit(Call&);
  Result<HttpResponse> withdraw(Call&);
  Result<HttpResponse> movePot(Call&, bool deposit);
  Result<HttpResponse> sendPayment(Call&);
  Result<HttpResponse> getPayment(Call&);
  Result<HttpResponse> schemeAuthorise(Call&);
  Result<HttpResponse> schemeClear(Call&);
  Result<HttpResponse> schemeReverse(Call&);
  Result<HttpResponse> fpsInbound(Call&);

  Credentials& auth_;
  EdgeOptions options_;
  Upstream<account::Account> account_;
  Upstream<card::Card> card_;
  Upstream<cp::CardProcessor> card_processor_;
  Upstream<ledger::Ledger> ledger_;
  Upstream<txn::Transaction> transaction_;
  Upstream<feed::Feed> feed_;
  Upstream<p2p::P2p> p2p_;
  Upstream<pots::Pots> pots_;
  Upstream<fps::Fps> fps_;
};

const std::vector<EdgeApi::Impl::Route>& EdgeApi::Impl::routes() {
  using A = Access;
  static const std::vector<Route> kRoutes = {
      {"GET", {"healthz"}, A::kPublic, &Impl::health},
      {"POST", {"v1", "signup"}, A::kPublic, &Impl::signUp},
      {"POST", {"v1", "login"}, A::kPublic, &Impl::logIn},
      {"GET", {"v1", "me"}, A::kCustomer, &Impl::me},
      {"GET", {"v1", "accounts"}, A::kCustomer, &Impl::listAccounts},
      {"GET", {"v1", "accounts", "{}"}, A::kCustomer, &Impl::getAccount},
      {"GET", {"v1", "accounts", "{}", "balance"}, A::kCustomer, &Impl::balance},
      {"GET", {"v1", "accounts", "{}", "transactions"}, A::kCustomer, &Impl::transactions},
      {"GET", {"v1", "accounts", "{}", "feed"}, A::kCustomer, &Impl::feedItems},
      {"GET", {"v1", "accounts", "{}", "cards"}, A::kCustomer, &Impl::listCards},
      {"POST", {"v1", "cards", "{}", "freeze"}, A::kCustomer, &Impl::freeze},
      {"POST", {"v1", "cards", "{}", "unfreeze"}, A::kCustomer, &Impl::unfreeze},
      {"POST", {"v1", "transfers"}, A::kCustomer, &Impl::transfer},
      {"GET", {"v1", "accounts", "{}", "pots"}, A::kCustomer, &Impl::listPots},
      {"POST", {"v1", "accounts", "{}", "pots"}, A::kCustomer, &Impl::createPot},
      {"POST", {"v1", "pots", "{}", "deposit"}, A::kCustomer, &Impl::deposit},
      {"POST", {"v1", "pots", "{}", "withdraw"}, A::kCustomer, &Impl::withdraw},
      {"POST", {"v1", "payments"}, A::kCustomer, &Impl::sendPayment},
      {"GET", {"v1", "payments", "{}"}, A::kCustomer, &Impl::getPayment},
      {"POST", {"scheme", "card", "authorise"}, A::kScheme, &Impl::schemeAuthorise},
      {"POST", {"scheme", "card", "clear"}, A::kScheme, &Impl::schemeClear},
      {"POST", {"scheme", "card", "reverse"}, A::kScheme, &Impl::schemeReverse},
      {"POST", {"scheme", "fps", "inbound"}, A::kScheme, &Impl::fpsInbound},
  };
  return kRoutes;
}

HttpResponse EdgeApi::Impl::handle(const HttpRequest& request) {
  kit::TraceContext incoming;
  if (const std::string* tp = request.header(kit::kTraceparentHeader)) {
    if (auto parsed = kit::parseTraceparent(*tp)) incoming = *parsed;
  }
  // The edge's own span: a child of the caller's when it sent one, else a new trace.
  kit::TraceScope scope(kit::childOf(incoming));
  auto result = dispatch(request);
  HttpResponse response = result.ok() ? std::move(result).value() : statusResponse(result.status());
  if (response.status >= 500) {
    kit::logWarn("request failed", {{"method", request.method}, {"target", request.target},
                                    {"status", std::to_string(response.status)}, {"error", response.body}});
  }
  response.headers.emplace_back(kit::kTraceparentHeader, kit::formatTraceparent(kit::currentTrace()));
  return response;
}

Result<HttpResponse> EdgeApi::Impl::dispatch(const HttpRequest& request) {
  std::string_view target = request.target;
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
  if (path.empty() || path[0] != '/') return NotFound("no route for " + request.method + " " + request.target);
  std::vector<std::string> segments;
  for (size_t b = 1; b <= path.size();) {
    size_t e = path.find('/', b);
    if (e == std::string_view::npos) e = path.size();
    bool ok = true;
    segments.push_back(percentDecode(path.substr(b, e - b), false, &ok));
    if (!ok) return InvalidArgument("the path has a malformed %-escape: " + std::string(path));
    b = e + 1;
  }
  std::string allowed;
  for (const Route& route : routes()) {
    if (route.pattern.size() != segments.size()) continue;
    std::vector<std::string> params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      if (route.pattern[i] == "{}") {
        if (segments[i].empty()) match = false;
        else params.push_back(segments[i]);
      } else {
        match = route.pattern[i] == segments[i];
      }
    }
    if (!match) continue;
    if (route.method != request.method) {
      if (allowed.find(route.method) == std::string::npos) allowed += (allowed.empty() ? "" : ", ") + std::string(route.method);
      continue;
    }
    Call call{request, std::move(params), {}, {}};
    for (size_t b = 0; b < query.size();) {
      size_t e = query.find('&', b);
      if (e == std::string_view::npos) e = query.size();
      std::string_view pair = query.substr(b, e - b);
      size_t eq = pair.find('=');
      bool ok = true;
      std::string key = percentDecode(pair.substr(0, eq), true, &ok);
      std::string value = eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1), true, &ok);
      if (!ok) return InvalidArgument("the query has a malformed %-escape: " + std::string(query));
      if (!key.empty()) call.query[key] = value;
      b = e + 1;
    }
    SANDBANK_RETURN_IF_ERROR(authorise(route.access, call));
    return (this->*route.handler)(call);
  }
  if (!allowed.empty()) {
    HttpResponse r = errorResponse(405, "method_not_allowed",
                                   request.method + " is not allowed on " + std::string(path) + "; use " + allowed);
    r.headers.emplace_back("allow", allowed);
    return r;
  }
  return NotFound("no route for " + request.method + " " + std::string(path));
}

Status EdgeApi::Impl::authorise(Access access, Call& call) {
  if (access == Access::kPublic) return OkStatus();
  if (access == Access::kScheme) {
    const std::string* key = call.request.header("x-scheme-key");
    if (!key) return unauthenticated("scheme routes need the X-Scheme-Key header");
    if (!constantTimeEquals(*key, options_.scheme_key)) return unauthenticated("the X-Scheme-Key is wrong");
    return OkStatus();
  }
  const std::string* header = call.request.header("authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (!header || header->size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), header->begin(),
                  [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    return unauthenticated("this route needs an 'Authorization: Bearer <token>' header; get a token from "
                           "POST /v1/login or /v1/signup");
  }
  std::string_view token = std::string_view(*header).substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  SANDBANK_ASSIGN_OR_RETURN(call.user_id, auth_.authenticate(token));
  return OkStatus();
}

Result<account::AccountRecord> EdgeApi::Impl::ownedAccount(const Call& c, const std::string& account_id,
                                                           const char* what, const std::string& shown_id) {
  const std::string shown = shown_id.empty() ? account_id : shown_id;
  Status not_found = NotFound(std::string(what) + " " + shown + " not found");
  if (account_id.empty()) return not_found;
  account::GetAccountRequest req;
  req.set_account_id(account_id);
  account::AccountRecord rec;
  Status s = call(account_, "Get", [&](auto& stub, grpc::ClientContext* ctx) { return stub.Get(ctx, req, &rec); });
  if (s.code() == StatusCode::kNotFound) return not_found;
  if (!s.ok()) return s;
  if (rec.user_id() != c.user_id) return not_found;
  return rec;
}

Result<card::CardRecord> EdgeApi::Impl::ownedCard(const Call& c, const std::string& card_id) {
  card::GetCardRequest req;
  req.set_card_id(card_id);
  card::CardRecord rec;
  Status s = call(card_, "Get", [&](auto& stub, grpc::ClientContext* ctx) { return stub.Get(ctx, req, &rec); });
  if (s.code() == StatusCode::kNotFound) return NotFound("card " + card_id + " not found");
  if (!s.ok()) return s;
  auto owner = ownedAccount(c, rec.account_id(), "card", card_id);
  if (!owner.ok()) return owner.status();
  return rec;
}

Result<pots::Pot> EdgeApi::Impl::ownedPot(const Call& c, const std::string& pot_id) {
  pots::GetPotRequest req;
  req.set_pot_id(pot_id);
  pots::Pot pot;
  Status s = call(pots_, "Get", [&](auto& stub, grpc::ClientContext* ctx) { return stub.Get(ctx, req, &pot); });
  if (s.code() == StatusCode::kNotFound) return NotFound("pot " + pot_id + " not found");
  if (!s.ok()) return s;
  auto owner = ownedAccount(c, pot.account_id(), "pot", pot_id);
  if (!owner.ok()) return owner.status();
  return pot;
}

Result<int32_t> EdgeApi::Impl::limit(const Call& c) {
  auto it = c.query.find("limit");
  if (it == c.query.end() || it->second.empty()) return 0;
  int32_t v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || p != it->second.data() + it->second.size() || v < 0 || v > kMaxListLimit) {
    return InvalidArgument("limit must be a whole number from 0 to " + std::to_string(kMaxListLimit) + ", not '" +
                           it->second + "'");
  }
  return v;
}

// ---- public routes ----

Result<HttpResponse> EdgeApi::Impl::health(Call&) { return json(200, R"({"status":"ok"})"); }

Result<HttpResponse> EdgeApi::Impl::signUp(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  SANDBANK_ASSIGN_OR_RETURN(std::string name, body.text("name"));
  SANDBANK_ASSIGN_OR_RETURN(std::string email, body.text("email"));
  SANDBANK_ASSIGN_OR_RETURN(std::string password, body.text("password"));
  SANDBANK_ASSIGN_OR_RETURN(Registration reg, auth_.registerEmail(email, name, password));
  if (!reg.complete) {
    // Keys derived from the email: a retried sign-up finds what the first attempt made.
    const std::string key = "edge:signup:" + reg.email + ":";
    account::CreateUserRequest user_req;
    user_req.set_idempotency_key(key + "user");
    user_req.set_name(reg.name);
    user_req.set_email(reg.email);
    account::User user;
    SANDBANK_RETURN_IF_ERROR(call(account_, "CreateUser", [&](auto& stub, grpc::ClientContext* ctx) {
      return stub.CreateUser(ctx, user_req, &user);
    }));
    account::CreateAccountRequest acc_req;
    acc_req.set_idempotency_key(key + "account");
    acc_req.set_user_id(user.user_id());
    acc_req.set_currency("GBP");
    account::AccountRecord acc;
    SANDBANK_RETURN_IF_ERROR(call(account_, "Create", [&](auto& stub, grpc::ClientContext* ctx) {
      return stub.Create(ctx, acc_req, &acc);
    }));
    card::IssueRequest card_req;
    card_req.set_idempotency_key(key + "card");
    card_req.set_account_id(acc.account_id());
    card::CardRecord issued;
    SANDBANK_RETURN_IF_ERROR(call(card_, "Issue", [&](auto& stub, grpc::ClientContext* ctx) {
      return stub.Issue(ctx, card_req, &issued);
    }));
    reg.user_id = user.user_id();
    reg.account_id = acc.account_id();
    reg.card_id = issued.card_id();
    reg.card_token = issued.token();
    SANDBANK_RETURN_IF_ERROR(auth_.completeSignUp(reg));
  }
  SANDBANK_ASSIGN_OR_RETURN(std::string token, auth_.newSession(reg.user_id));
  nlohmann::json out = {{"user_id", reg.user_id},     {"account_id", reg.account_id}, {"card_id", reg.card_id},
                        {"card_token", reg.card_token}, {"token", token}};
  return json(201, out.dump());
}

Result<HttpResponse> EdgeApi::Impl::logIn(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  SANDBANK_ASSIGN_OR_RETURN(std::string email, body.text("email"));
  SANDBANK_ASSIGN_OR_RETURN(std::string password, body.text("password"));
  SANDBANK_ASSIGN_OR_RETURN(Registration reg, auth_.logIn(email, password));
  SANDBANK_ASSIGN_OR_RETURN(std::string token, auth_.newSession(reg.user_id));
  nlohmann::json out = {{"token", token}, {"user_id", reg.user_id}};
  return json(200, out.dump());
}

// ---- customer routes ----

Result<HttpResponse> EdgeApi::Impl::me(Call& c) {
  account::GetUserRequest req;
  req.set_user_id(c.user_id);
  account::User user;
  SANDBANK_RETURN_IF_ERROR(
      call(account_, "GetUser", [&](auto& stub, grpc::ClientContext* ctx) { return stub.GetUser(ctx, req, &user); }));
  nlohmann::json out = {{"user_id", user.user_id()}, {"name", user.name()}, {"email", user.email()}};
  return json(200, out.dump());
}

Result<HttpResponse> EdgeApi::Impl::listAccounts(Call& c) {
  account::ListByUserRequest req;
  req.set_user_id(c.user_id);
  account::ListByUserResponse resp;
  SANDBANK_RETURN_IF_ERROR(call(account_, "ListByUser", [&](auto& stub, grpc::ClientContext* ctx) {
    return stub.ListByUser(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::getAccount(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(account::AccountRecord rec, ownedAccount(c, c.params[0]));
  return protoResponse(rec);
}

Result<HttpResponse> EdgeApi::Impl::balance(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(account::AccountRecord rec, ownedAccount(c, c.params[0]));
  ledger::GetBalanceRequest req;
  req.set_address("account:" + rec.account_id() + ":main");
  ledger::Balance resp;
  SANDBANK_RETURN_IF_ERROR(
      call(ledger_, "GetBalance", [&](auto& stub, grpc::ClientContext* ctx) { return stub.GetBalance(ctx, req, &resp); }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::transactions(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(int32_t n, limit(c));
  SANDBANK_ASSIGN_OR_RETURN(account::AccountRecord rec, ownedAccount(c, c.params[0]));
  txn::ListByAccountRequest req;
  req.set_account_id(rec.account_id());
  req.set_limit(n);
  txn::ListByAccountResponse resp;
  SANDBANK_RETURN_IF_ERROR(call(transaction_, "ListByAccount", [&](auto& stub, grpc::ClientContext* ctx) {
    return stub.ListByAccount(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::feedItems(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(int32_t n, limit(c));
  SANDBANK_ASSIGN_OR_RETURN(account::AccountRecord rec, ownedAccount(c, c.params[0]));
  feed::ListFeedRequest req;
  req.set_account_id(rec.account_id());
  req.set_limit(n);
  feed::ListFeedResponse resp;
  SANDBANK_RETURN_IF_ERROR(
      call(feed_, "ListFeed", [&](auto& stub, grpc::ClientContext* ctx) { return stub.ListFeed(ctx, req, &resp); }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::listCards(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(account::AccountRecord rec, ownedAccount(c, c.params[0]));
  card::ListByAccountRequest req;
  req.set_account_id(rec.account_id());
  card::ListByAccountResponse resp;
  SANDBANK_RETURN_IF_ERROR(call(card_, "ListByAccount", [&](auto& stub, grpc::ClientContext* ctx) {
    return stub.ListByAccount(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::freeze(Call& c) { return setFrozen(c, true); }
Result<HttpResponse> EdgeApi::Impl::unfreeze(Call& c) { return setFrozen(c, false); }

Result<HttpResponse> EdgeApi::Impl::setFrozen(Call& c, bool frozen) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  SANDBANK_ASSIGN_OR_RETURN(std::string key, body.text("idempotency_key", false));
  SANDBANK_ASSIGN_OR_RETURN(card::CardRecord rec, ownedCard(c, c.params[0]));
  if (key.empty()) {
    // No key: this request is its own operation (freezing is idempotent by value anyway).
    SANDBANK_ASSIGN_OR_RETURN(key, randomHex(16));
  }
  card::FreezeRequest req;
  req.set_idempotency_key(scopedKey(c, key));
  req.set_card_id(rec.card_id());
  card::CardRecord resp;
  SANDBANK_RETURN_IF_ERROR(call(card_, frozen ? "Freeze" : "Unfreeze", [&](auto& stub, grpc::ClientContext* ctx) {
    return frozen ? stub.Freeze(ctx, req, &resp) : stub.Unfreeze(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::transfer(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  SANDBANK_ASSIGN_OR_RETURN(std::string key, body.text("idempotency_key"));
  SANDBANK_ASSIGN_OR_RETURN(std::string from, body.text("from_account_id"));
  SANDBANK_ASSIGN_OR_RETURN(std::string to, body.text("to_account_id"));
  SANDBANK_ASSIGN_OR_RETURN(bank::Money amount, body.money("amount"));
  SANDBANK_ASSIGN_OR_RETURN(std::string reference, body.text("reference", false));
  SANDBANK_ASSIGN_OR_RETURN(account::AccountRecord owner, ownedAccount(c, from));
  p2p::CreateTransferRequest req;
  req.set_idempotency_key(scopedKey(c, key));
  req.set_from_account_id(owner.account_id());
  req.set_to_account_id(to);
  *req.mutable_amount() = amount;
  req.set_reference(reference);
  p2p::TransferRecord resp;
  SANDBANK_RETURN_IF_ERROR(call(p2p_, "CreateTransfer", [&](auto& stub, grpc::ClientContext* ctx) {
    return stub.CreateTransfer(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::listPots(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(account::AccountRecord rec, ownedAccount(c, c.params[0]));
  pots::ListPotsRequest req;
  req.set_account_id(rec.account_id());
  pots::ListPotsResponse resp;
  SANDBANK_RETURN_IF_ERROR(call(pots_, "ListByAccount", [&](auto& stub, grpc::ClientContext* ctx) {
    return stub.ListByAccount(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::createPot(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  SANDBANK_ASSIGN_OR_RETURN(std::string key, body.text("idempotency_key"));
  SANDBANK_ASSIGN_OR_RETURN(std::string name, body.text("name"));
  SANDBANK_ASSIGN_OR_RETURN(account::AccountRecord rec, ownedAccount(c, c.params[0]));
  pots::CreatePotRequest req;
  req.set_idempotency_key(scopedKey(c, key));
  req.set_account_id(rec.account_id());
  req.set_name(name);
  req.set_currency(rec.currency());
  pots::Pot resp;
  SANDBANK_RETURN_IF_ERROR(
      call(pots_, "Create", [&](auto& stub, grpc::ClientContext* ctx) { return stub.Create(ctx, req, &resp); }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::deposit(Call& c) { return movePot(c, true); }
Result<HttpResponse> EdgeApi::Impl::withdraw(Call& c) { return movePot(c, false); }

Result<HttpResponse> EdgeApi::Impl::movePot(Call& c, bool deposit) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  SANDBANK_ASSIGN_OR_RETURN(std::string key, body.text("idempotency_key"));
  SANDBANK_ASSIGN_OR_RETURN(bank::Money amount, body.money("amount"));
  SANDBANK_ASSIGN_OR_RETURN(pots::Pot pot, ownedPot(c, c.params[0]));
  pots::MoveRequest req;
  req.set_idempotency_key(scopedKey(c, key));
  req.set_pot_id(pot.pot_id());
  *req.mutable_amount() = amount;
  pots::MoveResponse resp;
  SANDBANK_RETURN_IF_ERROR(call(pots_, deposit ? "Deposit" : "Withdraw", [&](auto& stub, grpc::ClientContext* ctx) {
    return deposit ? stub.Deposit(ctx, req, &resp) : stub.Withdraw(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::sendPayment(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  SANDBANK_ASSIGN_OR_RETURN(std::string key, body.text("idempotency_key"));
  SANDBANK_ASSIGN_OR_RETURN(std::string account_id, body.text("account_id"));
  SANDBANK_ASSIGN_OR_RETURN(bank::Money amount, body.money("amount"));
  SANDBANK_ASSIGN_OR_RETURN(std::string sort_code, body.text("sort_code"));
  SANDBANK_ASSIGN_OR_RETURN(std::string account_number, body.text("account_number"));
  SANDBANK_ASSIGN_OR_RETURN(std::string reference, body.text("reference", false));
  SANDBANK_ASSIGN_OR_RETURN(account::AccountRecord owner, ownedAccount(c, account_id));
  fps::SendRequest req;
  req.set_idempotency_key(scopedKey(c, key));
  req.set_account_id(owner.account_id());
  *req.mutable_amount() = amount;
  req.set_sort_code(sort_code);
  req.set_account_number(account_number);
  req.set_reference(reference);
  fps::PaymentRecord resp;
  SANDBANK_RETURN_IF_ERROR(
      call(fps_, "Send", [&](auto& stub, grpc::ClientContext* ctx) { return stub.Send(ctx, req, &resp); }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::getPayment(Call& c) {
  fps::GetPaymentRequest req;
  req.set_payment_id(c.params[0]);
  fps::PaymentRecord resp;
  Status s = call(fps_, "GetPayment", [&](auto& stub, grpc::ClientContext* ctx) { return stub.GetPayment(ctx, req, &resp); });
  if (s.code() == StatusCode::kNotFound) return NotFound("payment " + c.params[0] + " not found");
  SANDBANK_RETURN_IF_ERROR(s);
  auto owner = ownedAccount(c, resp.account_id(), "payment", c.params[0]);
  if (!owner.ok()) return owner.status();
  return protoResponse(resp);
}

// ---- scheme ingress ----

Result<HttpResponse> EdgeApi::Impl::schemeAuthorise(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  cp::AuthoriseRequest req;
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_idempotency_key(), body.text("scheme_message_id"));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_card_token(), body.text("card_token"));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_amount(), body.money("amount"));
  SANDBANK_ASSIGN_OR_RETURN(JsonBody merchant, body.object("merchant", false));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_merchant()->mutable_merchant_id(), merchant.text("merchant_id", false));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_merchant()->mutable_name(), merchant.text("name", false));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_merchant()->mutable_category_code(), merchant.text("category_code", false));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_merchant()->mutable_country(), merchant.text("country", false));
  cp::AuthoriseResponse resp;
  SANDBANK_RETURN_IF_ERROR(call(card_processor_, "Authorise", [&](auto& stub, grpc::ClientContext* ctx) {
    return stub.Authorise(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::schemeClear(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  cp::ClearingRequest req;
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_idempotency_key(), body.text("scheme_message_id"));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_authorisation_id(), body.text("authorisation_id"));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_amount(), body.money("amount"));
  cp::ClearingResponse resp;
  SANDBANK_RETURN_IF_ERROR(call(card_processor_, "ApplyClearing", [&](auto& stub, grpc::ClientContext* ctx) {
    return stub.ApplyClearing(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::schemeReverse(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  cp::ReverseRequest req;
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_idempotency_key(), body.text("scheme_message_id"));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_authorisation_id(), body.text("authorisation_id"));
  cp::ReverseResponse resp;
  SANDBANK_RETURN_IF_ERROR(call(card_processor_, "Reverse", [&](auto& stub, grpc::ClientContext* ctx) {
    return stub.Reverse(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

Result<HttpResponse> EdgeApi::Impl::fpsInbound(Call& c) {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody body, JsonBody::parse(c.request.body));
  fps::InboundRequest req;
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_idempotency_key(), body.text("payment_id"));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_account_id(), body.text("account_id", false));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_sort_code(), body.text("sort_code", false));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_account_number(), body.text("account_number", false));
  if (req.account_id().empty() && (req.sort_code().empty() || req.account_number().empty())) {
    return InvalidArgument("account_id, or sort_code and account_number, are required");
  }
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_amount(), body.money("amount"));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_payer_name(), body.text("payer_name", false));
  SANDBANK_ASSIGN_OR_RETURN(*req.mutable_reference(), body.text("reference", false));
  fps::PaymentRecord resp;
  SANDBANK_RETURN_IF_ERROR(call(fps_, "HandleInbound", [&](auto& stub, grpc::ClientContext* ctx) {
    return stub.HandleInbound(ctx, req, &resp);
  }));
  return protoResponse(resp);
}

// ---- EdgeApi, EdgeOptions, Edge ----

EdgeApi::EdgeApi(Credentials& auth, const kit::Config& config, EdgeOptions options)
    : impl_(std::make_unique<Impl>(auth, config, std::move(options))) {}
EdgeApi::~EdgeApi() = default;

HttpResponse EdgeApi::handle(const HttpRequest& request) { return impl_->handle(request); }

std::vector<EdgeApi::RouteInfo> EdgeApi::routes() {
  std::vector<RouteInfo> out;
  for (const auto& r : Impl::routes()) {
    std::string path;
    for (std::string_view segment : r.pattern) path += "/" + std::string(segment);
    out.push_back({std::string(r.method), std::move(path), r.access});
  }
  return out;
}

}  // namespace sandbank::edge
