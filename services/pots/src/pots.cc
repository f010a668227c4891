// Pots over the store, account and ledger; see pots.h.
#include "sandbank/pots/pots.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>

#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/bankcore/money.h"
#include "sandbank/bankcore/pots_schema.h"
#include "sandbank/kit/log.h"

namespace sandbank::pots {
namespace schema = bank::pots_schema;
namespace accountpb = ::sandbank::bank::account;
namespace ledgerpb = ::sandbank::bank::ledger;
using kit::StoreValue;

struct Pots::Statements {
  kit::StoreStatement insert_pot, read_pot, insert_by_account, read_by_account, insert_move, read_move;
};

struct Pots::Stubs {
  std::unique_ptr<accountpb::Account::Stub> account;
  std::unique_ptr<ledgerpb::Ledger::Stub> ledger;
};

namespace {

constexpr const char* kPending = "pending";
constexpr const char* kPosted = "posted";
constexpr const char* kRefused = "refused";

Status fromGrpc(const grpc::Status& s, const std::string& what) {
  return Status(static_cast<StatusCode>(s.error_code()), what + ": " + s.error_message());
}

void setDeadline(grpc::ClientContext& ctx, std::chrono::milliseconds timeout) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

std::string potAddress(const std::string& pot_id) { return "pot:" + pot_id; }

// The ledger key of a move's EntrySet: fixed by the move id, which the request's
// idempotency key names, so every retry posts under the same key.
std::string ledgerKey(const std::string& move_id) { return "pots:" + move_id; }

}  // namespace

Result<PotsOptions> PotsOptions::fromConfig(const kit::Config& config) {
  PotsOptions o;
  o.consistency = config.getOr("POTS_CONSISTENCY", o.consistency);
  auto upstream = config.getDuration("POTS_UPSTREAM_TIMEOUT", o.upstream_timeout);
  if (!upstream.ok()) return upstream.status();
  o.upstream_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*upstream);
  auto pending = config.getDuration("POTS_PENDING_TIMEOUT", o.pending_timeout);
  if (!pending.ok()) return pending.status();
  if (pending->count() <= 0) return InvalidArgument("POTS_PENDING_TIMEOUT must be positive");
  o.pending_timeout = std::chrono::duration_cast<std::chrono::microseconds>(*pending);
  return o;
}

Pots::Pots(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, PotsOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()),
      stubs_(std::make_unique<Stubs>()) {}

Pots::~Pots() { stopSweeper(); }

Result<std::unique_ptr<Pots>> Pots::open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                         PotsOptions options) {
  std::unique_ptr<Pots> p(new Pots(store, bus, clock, std::move(options)));
  if (Status s = p->init(); !s.ok()) return s.withContext("pots service start-up");
  return p;
}

Status Pots::init() {
  if (!options_.account || !options_.ledger) return FailedPrecondition("pots needs channels to account and ledger");
  stubs_->account = accountpb::Account::NewStub(options_.account);
  stubs_->ledger = ledgerpb::Ledger::NewStub(options_.ledger);
  SANDBANK_RETURN_IF_ERROR(
      store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, schema::kTables));
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&st_->insert_pot, "INSERT INTO pots (pot_id, account_id, name, currency, created_us) VALUES (?, ?, ?, ?, ?)"},
      {&st_->read_pot, "SELECT account_id, name, currency, created_us FROM pots WHERE pot_id = ?"},
      {&st_->insert_by_account, "INSERT INTO pots_by_account (account_id, pot_id) VALUES (?, ?)"},
      {&st_->read_by_account, "SELECT pot_id FROM pots_by_account WHERE account_id = ?"},
      {&st_->insert_move, "INSERT INTO moves (move_id, idempotency_key, pot_id, account_id, kind, minor_units, "
                          "currency, floor_minor_units, state, entryset_id, reason, created_us) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
      {&st_->read_move, "SELECT idempotency_key, pot_id, kind, minor_units, currency, floor_minor_units, state, "
                        "entryset_id, reason, created_us FROM moves WHERE move_id = ?"},
  };
  if (Status s = store_.prepareAll(all, std::string(schema::kKeyspace)); !s.ok()) return s;
  auto keys = bank::IdempotencyKeys::open(store_, schema::kKeyspace, options_.consistency, clock_);
  if (!keys.ok()) return keys.status();
  keys_ = std::move(keys).value();
  auto open = bank::OpenItems::open(store_, schema::kKeyspace, schema::kOpenTable, options_.consistency, clock_,
                                    schema::kOpenBuckets);
  if (!open.ok()) return open.status();
  open_ = std::move(open).value();
  return OkStatus();
}

kit::StoreCall Pots::readCall() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  return c;
}

kit::StoreCall Pots::writeCall() {
  kit::StoreCall c = readCall();
  c.timestamp_us = timestamps_.next(clock_);
  return c;
}

Result<pb::Pot> Pots::create(const pb::CreatePotRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  if (request.account_id().empty()) return InvalidArgument("account_id is required");
  if (request.name().empty()) return InvalidArgument("name is required");
  if (!request.currency().empty()) {
    if (Status s = bank::validateCurrency(request.currency()); !s.ok()) {
      return InvalidArgument("currency: " + s.message());
    }
  }
  SANDBANK_ASSIGN_OR_RETURN(
      bank::Claim claim,
      keys_->claim(request.idempotency_key(), "pot",
                   request.account_id() + "\n" + request.name() + "\n" + request.currency(), ids_.next("pot")));
  if (!claim.fresh) {
    auto pot = get(claim.id);
    if (pot.ok()) pot->set_replayed(true);
    if (pot.status().code() != StatusCode::kNotFound) return pot;
    // The first attempt stopped before writing the pot: finish it under its id.
  }
  accountpb::GetAccountRequest req;
  req.set_account_id(request.account_id());
  accountpb::AccountRecord account;
  grpc::ClientContext ctx;
  setDeadline(ctx, options_.upstream_timeout);
  grpc::Status s = stubs_->account->Get(&ctx, req, &account);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return NotFound("account_id: no account " + request.account_id());
  if (!s.ok()) return fromGrpc(s, "account.Get " + request.account_id());
  if (account.status() == accountpb::ACCOUNT_CLOSED) {
    return FailedPrecondition("account " + request.account_id() + " is closed; it cannot open a pot");
  }
  const std::string currency = request.currency().empty() ? account.currency() : request.currency();
  if (currency != account.currency()) {
    return FailedPrecondition("currency: a pot holds its account's currency (" + account.currency() + "), not " +
                              currency);
  }
  pb::Pot pot;
  pot.set_pot_id(claim.id);
  pot.set_account_id(request.account_id());
  pot.set_name(request.name());
  pot.set_currency(currency);
  pot.set_ledger_address(potAddress(pot.pot_id()));
  pot.set_created_at_us(toMicros(clock_.now()));
  // The event is acknowledged before the pot row exists, so a crash in between ends in a
  // retry that publishes again rather than in a pot nobody heard of.
  SANDBANK_RETURN_IF_ERROR(publish(pb::PotEvent::CREATED, pot, nullptr));
  auto idx = store_.execute(st_->insert_by_account,
                            {StoreValue::text(pot.account_id()), StoreValue::text(pot.pot_id())}, writeCall());
  if (!idx.ok()) return idx.status().withContext("indexing pot " + pot.pot_id());
  auto w = store_.execute(st_->insert_pot,
                          {StoreValue::text(pot.pot_id()), StoreValue::text(pot.account_id()),
                           StoreValue::text(pot.name()), StoreValue::text(pot.currency()),
                           StoreValue::integer(pot.created_at_us())},
                          writeCall());
  if (!w.ok()) return w.status().withContext("writing pot " + pot.pot_id());
  return pot;
}

Result<pb::Pot> Pots::get(const std::string& pot_id) {
  if (pot_id.empty()) return InvalidArgument("pot_id is required");
  auto r = store_.execute(st_->read_pot, {StoreValue::text(pot_id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading pot " + pot_id);
  if (r->rows.empty()) return NotFound("no pot " + pot_id);
  pb::Pot pot;
  pot.set_pot_id(pot_id);
  pot.set_account_id(r->cell(0, "account_id").s);
  pot.set_name(r->cell(0, "name").s);
  pot.set_currency(r->cell(0, "currency").s);
  pot.set_ledger_address(potAddress(pot_id));
  pot.set_created_at_us(r->cell(0, "created_us").i);
  return pot;
}

Result<pb::ListPotsResponse> Pots::listByAccount(const std::string& account_id) {
  if (account_id.empty()) return InvalidArgument("account_id is required");
  auto r = store_.execute(st_->read_by_account, {StoreValue::text(account_id)}, readCall());
  if (!r.ok()) return r.status().withContext("listing the pots of " + account_id);
  pb::ListPotsResponse out;
  for (size_t i = 0; i < r->rows.size(); ++i) {
    auto pot = get(r->cell(i, "pot_id").s);
    // An index row whose pot row is missing is a create that stopped half-way (the index
    // is written first); it is not a pot until a retry finishes it.
    if (pot.status().code() == StatusCode::kNotFound) continue;
    if (!pot.ok()) return pot.status();
    *out.add_pots() = std::move(pot).value();
  }
  return out;
}

Result<pb::MoveResponse> Pots::deposit(const pb::MoveRequest& request) { return move(request, Direction::kDeposit); }

Result<pb::MoveResponse> Pots::withdraw(const pb::MoveRequest& request) { return move(request, Direction::kWithdraw); }

Result<pb::MoveResponse> Pots::move(const pb::MoveRequest& request, Direction direction) {
  const char* kind = direction == Direction::kDeposit ? "deposit" : "withdraw";
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  if (request.pot_id().empty()) return InvalidArgument("pot_id is required");
  if (request.amount().minor_units() <= 0) {
    return InvalidArgument("amount.minor_units must be > 0, got " + std::to_string(request.amount().minor_units()));
  }
  SANDBANK_ASSIGN_OR_RETURN(pb::Pot pot, get(request.pot_id()));
  const std::string currency = request.amount().currency().empty() ? pot.currency() : request.amount().currency();
  if (currency != pot.currency()) {
    return FailedPrecondition("amount.currency: pot " + pot.pot_id() + " holds " + pot.currency() + ", not " +
                              currency);
  }
  SANDBANK_ASSIGN_OR_RETURN(
      bank::Claim claim,
      keys_->claim(request.idempotency_key(), kind,
                   pot.pot_id() + "\n" + std::to_string(request.amount().minor_units()) + " " + currency,
                   ids_.next("mv")));
  if (!claim.fresh) {
    auto earlier = readMove(claim.id);
    if (earlier.ok()) {
      if (earlier->state == kPosted) {
        pb::MoveResponse out;
        out.set_pot_id(pot.pot_id());
        out.set_entryset_id(earlier->entryset_id);
        out.set_replayed(true);
        return out;
      }
      if (earlier->state == kRefused) {
        return FailedPrecondition(earlier->reason + " (the original result for this key)");
      }
      earlier->pot = pot;
      return post(std::move(earlier).value(), true);  // pending: re-send the same posting
    }
    if (earlier.status().code() != StatusCode::kNotFound) return earlier.status();
    // The first attempt stopped before writing the move: do the work under its id.
  }
  Move m;
  m.move_id = claim.id;
  m.idempotency_key = request.idempotency_key();
  m.pot = pot;
  m.direction = direction;
  m.minor_units = request.amount().minor_units();
  m.currency = currency;
  m.state = kPending;
  m.listed = true;
  m.created_us = toMicros(clock_.now());
  if (direction == Direction::kDeposit) {
    // The main account pays: it must be active and stay above -overdraft.
    accountpb::GetAccountRequest req;
    req.set_account_id(pot.account_id());
    accountpb::AccountRecord account;
    grpc::ClientContext ctx;
    setDeadline(ctx, options_.upstream_timeout);
    grpc::Status s = stubs_->account->Get(&ctx, req, &account);
    if (!s.ok()) return fromGrpc(s, "account.Get " + pot.account_id());
    if (account.status() != accountpb::ACCOUNT_ACTIVE) {
      return FailedPrecondition("account " + pot.account_id() + " is not active; it cannot pay into a pot");
    }
    m.floor = -account.overdraft_limit_minor_units();
  } else {
    m.floor = 0;  // a pot never goes below zero
  }
  SANDBANK_RETURN_IF_ERROR(writeMove(m));
  return post(std::move(m), false);
}

Result<pb::MoveResponse> Pots::post(Move m, bool replayed) {
  const std::string main = bank::mainAddress(bank::AccountId(m.pot.account_id()));
  const std::string pot = potAddress(m.pot.pot_id());
  const bool deposit = m.direction == Direction::kDeposit;
  const std::string& from = deposit ? main : pot;
  const std::string& to = deposit ? pot : main;
  ledgerpb::PostEntrySetRequest req;
  req.set_idempotency_key(ledgerKey(m.move_id));
  auto* debit = req.add_entries();
  debit->set_address(from);
  debit->mutable_amount()->set_minor_units(-m.minor_units);
  debit->mutable_amount()->set_currency(m.currency);
  auto* credit = req.add_entries();
  credit->set_address(to);
  credit->mutable_amount()->set_minor_units(m.minor_units);
  credit->mutable_amount()->set_currency(m.currency);
  req.set_description(std::string(deposit ? "deposit into pot " : "withdrawal from pot ") + m.pot.name());
  req.set_source("pots");
  req.set_reference(m.move_id);
  auto* floor = req.add_floors();
  floor->set_address(from);
  floor->set_currency(m.currency);
  floor->set_minimum_minor_units(m.floor);
  ledgerpb::PostEntrySetResponse resp;
  grpc::ClientContext ctx;
  setDeadline(ctx, options_.upstream_timeout);
  grpc::Status s = stubs_->ledger->PostEntrySet(&ctx, req, &resp);
  if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
      s.error_message().find("insufficient funds") != std::string::npos) {
    m.state = kRefused;
    m.reason = std::string(deposit ? "deposit" : "withdrawal") + " refused: " + s.error_message();
    SANDBANK_RETURN_IF_ERROR(writeMove(m));
    return FailedPrecondition(m.reason);
  }
  if (!s.ok()) {
    // The move stays pending; a retry with the same key re-sends this same posting.
    return fromGrpc(s, std::string("posting the ") + (deposit ? "deposit" : "withdrawal") + " " + m.move_id +
                           " to the ledger failed; retry with the same idempotency key");
  }
  m.state = kPosted;
  m.entryset_id = resp.entryset().entryset_id();
  // The event is acknowledged before the move is marked posted: a crash in between ends
  // in a retry that publishes again (consumers drop duplicates by entryset_id).
  SANDBANK_RETURN_IF_ERROR(publish(deposit ? pb::PotEvent::DEPOSITED : pb::PotEvent::WITHDRAWN, m.pot, &m));
  SANDBANK_RETURN_IF_ERROR(writeMove(m));
  pb::MoveResponse out;
  out.set_pot_id(m.pot.pot_id());
  out.set_entryset_id(m.entryset_id);
  out.set_replayed(replayed);
  return out;
}

Result<Pots::Move> Pots::readMove(const std::string& move_id) {
  auto r = store_.execute(st_->read_move, {StoreValue::text(move_id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading move " + move_id);
  if (r->rows.empty()) return NotFound("no move " + move_id);
  Move m;
  m.move_id = move_id;
  m.idempotency_key = r->cell(0, "idempotency_key").s;
  m.direction = r->cell(0, "kind").s == "withdraw" ? Direction::kWithdraw : Direction::kDeposit;
  m.minor_units = r->cell(0, "minor_units").i;
  m.currency = r->cell(0, "currency").s;
  m.floor = r->cell(0, "floor_minor_units").i;
  m.state = r->cell(0, "state").s;
  m.entryset_id = r->cell(0, "entryset_id").s;
  m.reason = r->cell(0, "reason").s;
  m.created_us = r->cell(0, "created_us").i;
  m.pot.set_pot_id(r->cell(0, "pot_id").s);
  m.listed = m.state == kPending;
  return m;
}

Status Pots::writeMove(const Move& m) {
  const bool pending = m.state == kPending;
  // Listed before the pending row exists and taken off after the final one, so no
  // pending move is ever off the list.
  if (pending) SANDBANK_RETURN_IF_ERROR(open_->add(m.move_id));
  auto w = store_.execute(
      st_->insert_move,
      {StoreValue::text(m.move_id), StoreValue::text(m.idempotency_key), StoreValue::text(m.pot.pot_id()),
       StoreValue::text(m.pot.account_id()),
       StoreValue::text(m.direction == Direction::kDeposit ? "deposit" : "withdraw"),
       StoreValue::integer(m.minor_units), StoreValue::text(m.currency), StoreValue::integer(m.floor),
       StoreValue::text(m.state), StoreValue::text(m.entryset_id), StoreValue::text(m.reason),
       StoreValue::integer(m.created_us)},
      writeCall());
  if (!w.ok()) return w.status().withContext("writing move " + m.move_id);
  if (!pending && m.listed) {
    // The move is final whatever happens here; a stale listing only costs the sweeper a read.
    if (Status s = open_->remove(m.move_id); !s.ok()) {
      kit::logWarn("pots: finished move stays on the open list", {{"error", s.toString()}});
    }
  }
  return OkStatus();
}

Result<bool> Pots::resolve(const std::string& move_id) {
  auto m = readMove(move_id);
  if (m.status().code() == StatusCode::kNotFound) return true;  // listed, then stopped: nothing moved
  if (!m.ok()) return m.status();
  if (m->state != kPending) return true;  // finished, but still listed
  SANDBANK_ASSIGN_OR_RETURN(m->pot, get(m->pot.pot_id()));
  kit::logInfo("pots sweeper: finishing a move left pending", {{"move_id", move_id}, {"pot_id", m->pot.pot_id()}});
  auto done = post(std::move(m).value(), false);
  if (done.ok()) return true;
  // A refusal (insufficient funds) is final too: post() recorded it before answering.
  SANDBANK_ASSIGN_OR_RETURN(Move after, readMove(move_id));
  if (after.state != kPending) return true;
  return done.status();
}

bank::SweepReport Pots::sweepOnce() {
  return open_->sweep(options_.pending_timeout, [this](const std::string& id) { return resolve(id); });
}

void Pots::startSweeper(std::chrono::milliseconds interval) {
  sweeper_.start("pots", interval, [this] { return sweepOnce(); });
}

void Pots::stopSweeper() { sweeper_.stop(); }

Status Pots::publish(pb::PotEvent::Kind kind, const pb::Pot& pot, const Move* move) {
  if (bus_ == nullptr) return OkStatus();
  pb::PotEvent ev;
  ev.set_kind(kind);
  *ev.mutable_pot() = pot;
  ev.mutable_pot()->set_replayed(false);
  if (move != nullptr) {
    ev.mutable_amount()->set_minor_units(move->minor_units);
    ev.mutable_amount()->set_currency(move->currency);
    ev.set_entryset_id(move->entryset_id);
  }
  ev.set_at_us(toMicros(clock_.now()));
  kit::BusMessage m;
  m.key = pot.account_id();
  m.value = ev.SerializeAsString();
  m.headers.emplace_back("type", "sandbank.bank.pots.PotEvent");
  struct Ack {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;  // guarded by mu
    Status status;      // guarded by mu
  };
  auto ack = std::make_shared<Ack>();
  bus_->send(options_.topic, std::move(m), [ack](const kit::BusAck& a) {
    std::lock_guard lock(ack->mu);
    ack->done = true;
    ack->status = a.status;
    ack->cv.notify_all();
  });
  std::unique_lock lock(ack->mu);
  if (!ack->cv.wait_for(lock, options_.publish_timeout, [&] { return ack->done; })) {
    return Unavailable("the bus did not acknowledge the event for pot " + pot.pot_id() +
                       " in time; retry with the same idempotency key");
  }
  if (!ack->status.ok()) return ack->status.withContext("publishing a pot event (retry with the same key)");
  return OkStatus();
}

}  // namespace sandbank::pots
