// Credentials and sessions over the store; see auth.h.
#include "sandbank/edge/auth.h"

#include <algorithm>
#include <cctype>

#include "secrets.h"

namespace sandbank::edge {
using kit::StoreRows;
using kit::StoreValue;

namespace {

constexpr const char* kKeyspace = "edge";
constexpr size_t kMaxCachedSessions = 100000;

Status unauthenticated(std::string m) { return Status(StatusCode::kUnauthenticated, std::move(m)); }

}  // namespace

struct Auth::Statements {
  kit::StoreStatement claim, complete, read, insert_session, read_session;
};

Auth::Auth(kit::StoreClient& store, const Clock& clock, AuthOptions options)
    : store_(store), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()) {}

Auth::~Auth() = default;

Result<std::unique_ptr<Auth>> Auth::open(kit::StoreClient& store, const Clock& clock, AuthOptions options) {
  std::unique_ptr<Auth> a(new Auth(store, clock, std::move(options)));
  if (Status s = a->init(); !s.ok()) return s.withContext("edge start-up");
  return a;
}

Status Auth::init() {
  constexpr std::string_view tables[] = {
      "CREATE TABLE IF NOT EXISTS edge.credentials (email text PRIMARY KEY, name text, salt text, "
      "password_hash text, user_id text, account_id text, card_id text, card_token text, state text, "
      "created_us bigint)",
      "CREATE TABLE IF NOT EXISTS edge.sessions (token_hash text PRIMARY KEY, user_id text, expires_us bigint)",
  };
  SANDBANK_RETURN_IF_ERROR(store_.createSchema(std::string(kKeyspace), options_.replication_factor, tables));
  const int64_t ttl_s = std::clamp<int64_t>(
      std::chrono::ceil<std::chrono::seconds>(options_.token_ttl).count(), 1, 630720000);
  const std::string insert_session =
      "INSERT INTO sessions (token_hash, user_id, expires_us) VALUES (?, ?, ?) USING TTL " + std::to_string(ttl_s);
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&st_->claim, "INSERT INTO credentials (email, name, salt, password_hash, state, created_us) "
                    "VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS"},
      {&st_->complete, "UPDATE credentials SET user_id = ?, account_id = ?, card_id = ?, card_token = ?, state = ? "
                       "WHERE email = ? IF state = 'pending'"},
      {&st_->read, "SELECT name, salt, password_hash, user_id, account_id, card_id, card_token, state "
                   "FROM credentials WHERE email = ?"},
      {&st_->insert_session, insert_session.c_str()},
      {&st_->read_session, "SELECT user_id, expires_us FROM sessions WHERE token_hash = ?"},
  };
  return store_.prepareAll(all, std::string(kKeyspace));
}

kit::StoreCall Auth::readCall() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  return c;
}

std::string Auth::normaliseEmail(std::string_view email) {
  size_t b = 0, e = email.size();
  while (b < e && std::isspace(static_cast<unsigned char>(email[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(email[e - 1]))) --e;
  std::string out(email.substr(b, e - b));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {

Registration fromRow(const StoreRows& rows, const std::string& email) {
  Registration r;
  r.email = email;
  r.name = rows.cell(0, "name").s;
  r.user_id = rows.cell(0, "user_id").s;
  r.account_id = rows.cell(0, "account_id").s;
  r.card_id = rows.cell(0, "card_id").s;
  r.card_token = rows.cell(0, "card_token").s;
  r.complete = rows.cell(0, "state").s == "complete";
  return r;
}

}  // namespace

Result<Registration> Auth::registerEmail(std::string_view raw_email, std::string_view name,
                                         std::string_view password) {
  const std::string email = normaliseEmail(raw_email);
  if (email.empty()) return InvalidArgument("email is required");
  const size_t at = email.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == email.size()) {
    return InvalidArgument("email '" + email + "' is not an address (it needs a name, an '@' and a domain)");
  }
  if (name.empty()) return InvalidArgument("name is required");
  if (password.empty()) return InvalidArgument("password is required");
  SANDBANK_ASSIGN_OR_RETURN(std::string salt, randomHex(16));
  kit::StoreCall lwt = readCall();
  lwt.serial_consistency = "LOCAL_SERIAL";
  auto r = store_.execute(st_->claim,
                          {StoreValue::text(email), StoreValue::text(std::string(name)), StoreValue::text(salt),
                           StoreValue::text(passwordHash(salt, password)), StoreValue::text("pending"),
                           StoreValue::integer(toMicros(clock_.now()))},
                          lwt);
  if (!r.ok()) return r.status().withContext("registering " + email);
  if (r->applied.value_or(false)) {
    Registration fresh;
    fresh.email = email;
    fresh.name = std::string(name);
    return fresh;
  }
  // Taken: the same password means a retry of the same sign-up.
  const std::string& stored_salt = r->cell(0, "salt").s;
  const std::string& stored_hash = r->cell(0, "password_hash").s;
  if (!constantTimeEquals(passwordHash(stored_salt, password), stored_hash)) {
    return AlreadyExists("email " + email + " is already registered; log in instead");
  }
  return fromRow(*r, email);
}

Status Auth::completeSignUp(const Registration& g) {
  // An LWT like the claim: Paxos orders it after the claim's write of the same cells,
  // which a plain write with a client timestamp could lose to on a tie.
  kit::StoreCall call = readCall();
  call.serial_consistency = "LOCAL_SERIAL";
  auto r = store_.execute(st_->complete,
                          {StoreValue::text(g.user_id), StoreValue::text(g.account_id), StoreValue::text(g.card_id),
                           StoreValue::text(g.card_token), StoreValue::text("complete"), StoreValue::text(g.email)},
                          call);
  if (!r.ok()) return r.status().withContext("recording the sign-up of " + g.email);
  // Not applied: a concurrent retry of the same sign-up finished first, with the same
  // ids (the upstream keys are the same).
  return OkStatus();
}

Result<Registration> Auth::read(const std::string& email, std::string* salt, std::string* hash) {
  auto r = store_.execute(st_->read, {StoreValue::text(email)}, readCall());
  if (!r.ok()) return r.status().withContext("reading the credentials of " + email);
  if (r->rows.empty()) return NotFound("no credentials for " + email);
  *salt = r->cell(0, "salt").s;
  *hash = r->cell(0, "password_hash").s;
  return fromRow(*r, email);
}

Result<Registration> Auth::logIn(std::string_view raw_email, std::string_view password) {
  const std::string email = normaliseEmail(raw_email);
  if (email.empty()) return InvalidArgument("email is required");
  if (password.empty()) return InvalidArgument("password is required");
  std::string salt, hash;
  auto reg = read(email, &salt, &hash);
  if (!reg.ok()) {
    if (reg.status().code() == StatusCode::kNotFound) return unauthenticated("email or password is wrong");
    return reg.status();
  }
  if (!constantTimeEquals(passwordHash(salt, password), hash)) return unauthenticated("email or password is wrong");
  if (!reg->complete) {
    return FailedPrecondition("the sign-up of " + email + " has not finished; repeat POST /v1/signup to finish it");
  }
  return reg;
}

Result<std::string> Auth::newSession(const std::string& user_id) {
  SANDBANK_ASSIGN_OR_RETURN(std::string token, randomHex(32));
  const int64_t expires =
      toMicros(clock_.now()) + std::chrono::duration_cast<std::chrono::microseconds>(options_.token_ttl).count();
  kit::StoreCall call = readCall();
  call.timestamp_us = timestamps_.next(clock_);
  const std::string key = sha256Hex(token);
  auto r = store_.execute(st_->insert_session,
                          {StoreValue::text(key), StoreValue::text(user_id), StoreValue::integer(expires)}, call);
  if (!r.ok()) return r.status().withContext("storing a session for " + user_id);
  std::lock_guard lock(cache_mu_);
  if (cache_.size() >= kMaxCachedSessions) cache_.clear();
  cache_[key] = CachedSession{user_id, expires};
  return token;
}

Result<std::string> Auth::authenticate(std::string_view token) {
  if (token.size() != 64) return unauthenticated("the token is unknown or has expired; log in again");
  const std::string key = sha256Hex(token);
  const int64_t now = toMicros(clock_.now());
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (it->second.expires_us > now) return it->second.user_id;
      cache_.erase(it);
      return unauthenticated("the token is unknown or has expired; log in again");
    }
  }
  auto r = store_.execute(st_->read_session, {StoreValue::text(key)}, readCall());
  if (!r.ok()) return r.status().withContext("reading the session");
  if (r->rows.empty()) return unauthenticated("the token is unknown or has expired; log in again");
  CachedSession s{r->cell(0, "user_id").s, r->cell(0, "expires_us").i};
  if (s.expires_us <= now || s.user_id.empty()) return unauthenticated("the token is unknown or has expired; log in again");
  std::lock_guard lock(cache_mu_);
  if (cache_.size() >= kMaxCachedSessions) cache_.clear();
  cache_[key] = s;
  return s.user_id;
}

}  // namespace sandbank::edge
