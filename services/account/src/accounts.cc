// Users and accounts over the store; see accounts.h.
#include "sandbank/account/accounts.h"

#include <cstdio>

#include "sandbank/bankcore/account_schema.h"
#include "sandbank/bankcore/money.h"
#include "sandbank/kit/log.h"

namespace sandbank::account {
namespace schema = bank::account_schema;
using kit::StoreRows;
using kit::StoreValue;

struct Accounts::Statements {
  kit::StoreStatement insert_user, read_user, insert_account, read_account, insert_by_user, read_by_user;
};

namespace {

std::string statusName(pb::AccountStatus s) {
  switch (s) {
    case pb::ACCOUNT_ACTIVE: return "active";
    case pb::ACCOUNT_FROZEN: return "frozen";
    case pb::ACCOUNT_CLOSED: return "closed";
    default: return "";
  }
}

pb::AccountStatus statusOf(const std::string& s) {
  if (s == "active") return pb::ACCOUNT_ACTIVE;
  if (s == "frozen") return pb::ACCOUNT_FROZEN;
  if (s == "closed") return pb::ACCOUNT_CLOSED;
  return pb::ACCOUNT_STATUS_UNSPECIFIED;
}

}  // namespace

Accounts::Accounts(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, AccountsOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()) {}

Accounts::~Accounts() = default;

Result<std::unique_ptr<Accounts>> Accounts::open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                                 AccountsOptions options) {
  std::unique_ptr<Accounts> a(new Accounts(store, bus, clock, std::move(options)));
  if (Status s = a->init(); !s.ok()) return s.withContext("account service start-up");
  return a;
}

Status Accounts::init() {
  SANDBANK_RETURN_IF_ERROR(
      store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, schema::kTables));
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&st_->insert_user, "INSERT INTO users (user_id, name, email, created_us) VALUES (?, ?, ?, ?)"},
      {&st_->read_user, "SELECT name, email, created_us FROM users WHERE user_id = ?"},
      {&st_->insert_account, "INSERT INTO accounts (account_id, user_id, currency, overdraft, status, created_us) "
                             "VALUES (?, ?, ?, ?, ?, ?)"},
      {&st_->read_account, "SELECT user_id, currency, overdraft, status, created_us FROM accounts WHERE account_id = ?"},
      {&st_->insert_by_user, "INSERT INTO accounts_by_user (user_id, account_id) VALUES (?, ?)"},
      {&st_->read_by_user, "SELECT account_id FROM accounts_by_user WHERE user_id = ?"},
  };
  if (Status st = store_.prepareAll(all, std::string(schema::kKeyspace)); !st.ok()) return st;
  SANDBANK_ASSIGN_OR_RETURN(keys_, bank::IdempotencyKeys::open(store_, schema::kKeyspace, options_.consistency, clock_));
  return OkStatus();
}

kit::StoreCall Accounts::readCall() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  return c;
}

kit::StoreCall Accounts::writeCall() {
  kit::StoreCall c = readCall();
  c.timestamp_us = timestamps_.next(clock_);
  return c;
}

Result<pb::User> Accounts::createUser(const pb::CreateUserRequest& request) {
  if (request.name().empty()) return InvalidArgument("name is required");
  if (request.email().find('@') == std::string::npos) {
    return InvalidArgument("email '" + request.email() + "' is not an address (it needs an '@')");
  }
  SANDBANK_ASSIGN_OR_RETURN(auto claimed, keys_->claim(request.idempotency_key(), "user",
                                                request.name() + "\n" + request.email(), ids_.next("user")));
  if (!claimed.fresh) {
    auto u = getUser(claimed.id);
    if (u.ok()) u->set_replayed(true);
    // NotFound: the first attempt claimed the key and stopped before the row; writing it
    // now under the claimed id is the same write it would have made.
    if (u.status().code() != StatusCode::kNotFound) return u;
  }
  const int64_t now = toMicros(clock_.now());
  auto w = store_.execute(st_->insert_user,
                          {StoreValue::text(claimed.id), StoreValue::text(request.name()),
                           StoreValue::text(request.email()), StoreValue::integer(now)},
                          writeCall());
  if (!w.ok()) return w.status().withContext("writing user " + claimed.id);
  pb::User u;
  u.set_user_id(claimed.id);
  u.set_name(request.name());
  u.set_email(request.email());
  u.set_created_at_us(now);
  return u;
}

Result<pb::User> Accounts::getUser(const std::string& user_id) {
  if (user_id.empty()) return InvalidArgument("user_id is required");
  auto r = store_.execute(st_->read_user, {StoreValue::text(user_id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading user " + user_id);
  if (r->rows.empty()) return NotFound("no user " + user_id);
  pb::User u;
  u.set_user_id(user_id);
  u.set_name(r->cell(0, "name").s);
  u.set_email(r->cell(0, "email").s);
  u.set_created_at_us(r->cell(0, "created_us").i);
  return u;
}

Status Accounts::writeAccount(const pb::AccountRecord& a) {
  auto w = store_.execute(st_->insert_account,
                          {StoreValue::text(a.account_id()), StoreValue::text(a.user_id()),
                           StoreValue::text(a.currency()), StoreValue::integer(a.overdraft_limit_minor_units()),
                           StoreValue::text(statusName(a.status())), StoreValue::integer(a.created_at_us())},
                          writeCall());
  return w.ok() ? OkStatus() : w.status().withContext("writing account " + a.account_id());
}

Result<pb::AccountRecord> Accounts::create(const pb::CreateAccountRequest& request) {
  const std::string currency = request.currency().empty() ? "GBP" : request.currency();
  if (Status s = bank::validateCurrency(currency); !s.ok()) return s;
  if (request.overdraft_limit_minor_units() < 0) {
    return InvalidArgument("overdraft_limit_minor_units must be >= 0 (it is how far available may go below 0), got " +
                           std::to_string(request.overdraft_limit_minor_units()));
  }
  SANDBANK_ASSIGN_OR_RETURN(pb::User user, getUser(request.user_id()));
  SANDBANK_ASSIGN_OR_RETURN(auto claimed,
                            keys_->claim(request.idempotency_key(), "account",
                                  user.user_id() + "\n" + currency + "\n" +
                                      std::to_string(request.overdraft_limit_minor_units()),
                                  ids_.next("acc")));
  if (!claimed.fresh) {
    auto a = get(claimed.id);
    if (a.ok()) a->set_replayed(true);
    if (a.status().code() != StatusCode::kNotFound) return a;
    // The first attempt stopped before writing the account: finish it under its id.
  }
  pb::AccountRecord a;
  a.set_account_id(claimed.id);
  a.set_user_id(user.user_id());
  a.set_currency(currency);
  a.set_overdraft_limit_minor_units(request.overdraft_limit_minor_units());
  a.set_status(pb::ACCOUNT_ACTIVE);
  a.set_ledger_address(bank::mainAddress(bank::AccountId(a.account_id())));
  a.set_created_at_us(toMicros(clock_.now()));
  if (Status s = writeAccount(a); !s.ok()) return s;
  auto idx = store_.execute(st_->insert_by_user, {StoreValue::text(a.user_id()), StoreValue::text(a.account_id())},
                            writeCall());
  if (!idx.ok()) return idx.status().withContext("indexing account " + a.account_id());
  publish(pb::AccountEvent::OPENED, a);
  return a;
}

Result<pb::AccountRecord> Accounts::get(const std::string& account_id) {
  if (account_id.empty()) return InvalidArgument("account_id is required");
  auto r = store_.execute(st_->read_account, {StoreValue::text(account_id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading account " + account_id);
  if (r->rows.empty()) return NotFound("no account " + account_id);
  pb::AccountRecord a;
  a.set_account_id(account_id);
  a.set_user_id(r->cell(0, "user_id").s);
  a.set_currency(r->cell(0, "currency").s);
  a.set_overdraft_limit_minor_units(r->cell(0, "overdraft").i);
  a.set_status(statusOf(r->cell(0, "status").s));
  a.set_ledger_address(bank::mainAddress(bank::AccountId(account_id)));
  a.set_created_at_us(r->cell(0, "created_us").i);
  return a;
}

Result<pb::ListByUserResponse> Accounts::listByUser(const std::string& user_id) {
  SANDBANK_ASSIGN_OR_RETURN(pb::User user, getUser(user_id));
  auto r = store_.execute(st_->read_by_user, {StoreValue::text(user.user_id())}, readCall());
  if (!r.ok()) return r.status().withContext("listing the accounts of " + user_id);
  pb::ListByUserResponse out;
  for (size_t i = 0; i < r->rows.size(); ++i) {
    SANDBANK_ASSIGN_OR_RETURN(*out.add_accounts(), get(r->cell(i, "account_id").s));
  }
  return out;
}

Result<pb::AccountRecord> Accounts::setStatus(const pb::SetStatusRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  if (statusName(request.status()).empty()) return InvalidArgument("status must be ACTIVE, FROZEN or CLOSED");
  std::lock_guard lock(mu_);  // one change at a time, so a transition reads what it replaces
  SANDBANK_ASSIGN_OR_RETURN(pb::AccountRecord a, get(request.account_id()));
  if (a.status() == request.status()) return a;  // a retry, or nothing to do: no event
  if (a.status() == pb::ACCOUNT_CLOSED) {
    return FailedPrecondition("account " + a.account_id() + " is closed; a closed account cannot become " +
                              statusName(request.status()));
  }
  a.set_status(request.status());
  if (Status s = writeAccount(a); !s.ok()) return s;
  publish(pb::AccountEvent::STATUS_CHANGED, a);
  return a;
}

Result<pb::AccountRecord> Accounts::setOverdraft(const pb::SetOverdraftRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  if (request.overdraft_limit_minor_units() < 0) {
    return InvalidArgument("overdraft_limit_minor_units must be >= 0, got " +
                           std::to_string(request.overdraft_limit_minor_units()));
  }
  std::lock_guard lock(mu_);
  SANDBANK_ASSIGN_OR_RETURN(pb::AccountRecord a, get(request.account_id()));
  if (a.overdraft_limit_minor_units() == request.overdraft_limit_minor_units()) return a;
  if (a.status() == pb::ACCOUNT_CLOSED) return FailedPrecondition("account " + a.account_id() + " is closed");
  a.set_overdraft_limit_minor_units(request.overdraft_limit_minor_units());
  if (Status s = writeAccount(a); !s.ok()) return s;
  publish(pb::AccountEvent::OVERDRAFT_CHANGED, a);
  return a;
}

void Accounts::publish(pb::AccountEvent::Kind kind, const pb::AccountRecord& account) {
  if (bus_ == nullptr) return;
  pb::AccountEvent ev;
  ev.set_kind(kind);
  *ev.mutable_account() = account;
  ev.set_at_us(toMicros(clock_.now()));
  kit::BusMessage m;
  m.key = account.account_id();
  m.value = ev.SerializeAsString();
  m.headers.emplace_back("type", "sandbank.bank.account.AccountEvent");
  const std::string id = account.account_id();
  bus_->send(options_.topic, std::move(m), [id](const kit::BusAck& ack) {
    if (!ack.status.ok()) kit::logError("publishing an account event failed", {{"account_id", id}, {"error", ack.status.toString()}});
  });
}

}  // namespace sandbank::account
