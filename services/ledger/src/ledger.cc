// Ledger logic over the store; see ledger.h. Each posting: validate, claim the
// idempotency key by LWT, then under the address locks write entries, the EntrySet row,
// the address directory and the balance cache, mark the key posted, and publish.
#include "sandbank/ledger/ledger.h"

#include <algorithm>
#include <cstdio>
#include <future>
#include <map>

#include "sandbank/bankcore/ledger_schema.h"
#include "sandbank/kit/log.h"

namespace sandbank::ledger {
namespace schema = bank::ledger_schema;
using kit::StoreRows;
using kit::StoreValue;

struct Ledger::Statements {
  kit::StoreStatement claim_key, read_key, finish_key;
  kit::StoreStatement read_entryset;
  kit::StoreStatement read_entries;
  kit::StoreStatement read_balance, read_balances, insert_balance, update_balance;
  kit::StoreStatement insert_address, read_address;
  kit::StoreStatement insert_hold, read_hold, end_hold, set_hold_entryset, insert_hold_by_address,
      read_holds_by_address, insert_hold_end;
};

namespace {

std::vector<bank::Leg> legsOf(const google::protobuf::RepeatedPtrField<pb::Entry>& entries) {
  std::vector<bank::Leg> legs;
  legs.reserve(static_cast<size_t>(entries.size()));
  for (const pb::Entry& e : entries) legs.push_back({e.address(), e.amount().minor_units(), e.amount().currency()});
  return legs;
}

void fillEntries(const std::vector<bank::Leg>& legs, pb::EntrySet* es) {
  for (const bank::Leg& l : legs) {
    pb::Entry* e = es->add_entries();
    e->set_address(l.address);
    e->mutable_amount()->set_minor_units(l.minor_units);
    e->mutable_amount()->set_currency(l.currency);
  }
}

std::string fingerprintOf(const pb::PostEntrySetRequest& r, const std::vector<bank::Leg>& legs) {
  std::string f = "post\n" + bank::encodeLegs(legs) + "floors\n";
  for (const auto& fl : r.floors()) f += fl.address() + " " + fl.currency() + " " + std::to_string(fl.minimum_minor_units()) + "\n";
  return f;
}

pb::HoldState holdStateOf(const std::string& s) {
  if (s == schema::kHoldActive) return pb::HOLD_ACTIVE;
  if (s == schema::kHoldSettled) return pb::HOLD_SETTLED;
  if (s == schema::kHoldReleased) return pb::HOLD_RELEASED;
  if (s == schema::kHoldExpired) return pb::HOLD_EXPIRED;
  return pb::HOLD_STATE_UNSPECIFIED;
}

}  // namespace

Ledger::Ledger(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, LedgerOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()),
      rng_(std::random_device{}()) {}

// Key updates sent off the reply path (finishKeyLater) hold nothing of the ledger's: the
// StoreClient, which outlives it, waits for them.
Ledger::~Ledger() = default;

Result<std::unique_ptr<Ledger>> Ledger::open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                             LedgerOptions options) {
  std::unique_ptr<Ledger> ledger(new Ledger(store, bus, clock, std::move(options)));
  if (Status s = ledger->init(); !s.ok()) return s.withContext("ledger start-up");
  return ledger;
}

Status Ledger::init() {
  SANDBANK_RETURN_IF_ERROR(
      store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, schema::kTables));
  Statements& s = *st_;
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&s.claim_key, "INSERT INTO idempotency (idempotency_key, kind, result_id, fingerprint, state, created_us) "
                     "VALUES (?, ?, ?, ?, 'pending', ?) IF NOT EXISTS"},
      {&s.read_key, "SELECT kind, result_id, fingerprint, state, reason FROM idempotency WHERE idempotency_key = ?"},
      {&s.finish_key, "UPDATE idempotency SET state = ?, reason = ? WHERE idempotency_key = ? IF state = 'pending'"},
      {&s.read_entryset, "SELECT idempotency_key, legs, description, source, reference, posted_us FROM entrysets "
                         "WHERE entryset_id = ?"},
      {&s.read_entries, "SELECT entryset_id, leg, amount, currency FROM entries WHERE address = ?"},
      {&s.read_balance, "SELECT settled, held, entry_count FROM balances WHERE address = ? AND currency = ?"},
      {&s.read_balances, "SELECT currency, settled, held, entry_count FROM balances WHERE address = ?"},
      {&s.insert_balance, "INSERT INTO balances (address, currency, settled, held, entry_count) VALUES (?, ?, ?, ?, ?) "
                          "IF NOT EXISTS"},
      {&s.update_balance, "UPDATE balances SET settled = ?, held = ?, entry_count = ? WHERE address = ? AND currency = ? "
                          "IF settled = ? AND held = ? AND entry_count = ?"},
      {&s.insert_address, "INSERT INTO addresses (bucket, address, first_us) VALUES (?, ?, ?) IF NOT EXISTS"},
      {&s.read_address, "SELECT first_us FROM addresses WHERE bucket = ? AND address = ?"},
      {&s.insert_hold, "BEGIN BATCH INSERT INTO holds (hold_id, idempotency_key, address, amount, currency, state, "
                       "reference, created_us, expires_us) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?); "
                       "INSERT INTO holds_by_address (address, hold_id) VALUES (?, ?); APPLY BATCH"},
      {&s.read_hold, "SELECT idempotency_key, address, amount, currency, state, reference, created_us, expires_us, "
                     "ended_us, end_key, settle_entryset_id FROM holds WHERE hold_id = ?"},
      {&s.end_hold, "UPDATE holds SET state = ?, ended_us = ?, end_key = ? WHERE hold_id = ? IF state = 'active'"},
      {&s.set_hold_entryset, "UPDATE holds SET settle_entryset_id = ? WHERE hold_id = ?"},
      {&s.insert_hold_by_address, "INSERT INTO holds_by_address (address, hold_id) VALUES (?, ?)"},
      {&s.read_holds_by_address, "SELECT hold_id FROM holds_by_address WHERE address = ?"},
      {&s.insert_hold_end, "INSERT INTO hold_ends (hold_id, end_key, state, at_us) VALUES (?, ?, ?, ?)"},
  };
  return store_.prepareAll(all, std::string(schema::kKeyspace));
}

kit::StoreCall Ledger::call() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  c.coordinator = options_.coordinator;
  return c;
}

kit::StoreCall Ledger::writeCall() {
  // Our own strictly increasing write timestamps (as the drivers' monotonic generators):
  // the store's per-thread ones can tie or go backwards across its server threads, and a
  // balance written twice at one timestamp would keep the larger value, not the later.
  const int64_t now = toMicros(clock_.now());
  int64_t last = last_write_us_.load(std::memory_order_relaxed);
  int64_t next = 0;
  do {
    next = std::max(now, last + 1);
  } while (!last_write_us_.compare_exchange_weak(last, next, std::memory_order_relaxed));
  kit::StoreCall c = call();
  c.timestamp_us = next;
  return c;
}

kit::StoreCall Ledger::lwtCall() const {
  kit::StoreCall c = call();
  c.serial_consistency = "LOCAL_SERIAL";
  return c;
}

std::string Ledger::newId(const char* prefix) {
  std::lock_guard lock(id_mu_);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s_%016llx", prefix, static_cast<unsigned long long>(rng_()));
  return buf;
}

std::vector<std::unique_lock<std::mutex>> Ledger::lockAddresses(const std::vector<std::string>& addresses) {
  std::set<size_t> idx;
  for (const auto& a : addresses) idx.insert(bank::stableHash(a) % kStripes);
  std::vector<std::unique_lock<std::mutex>> locks;
  for (size_t i : idx) locks.emplace_back(stripes_[i]);  // ascending order: no deadlock
  return locks;
}

Result<Ledger::Claim> Ledger::claimKey(const std::string& key, const std::string& kind, const std::string& fingerprint,
                                       const std::string& new_id) {
  auto r = store_.execute(st_->claim_key,
                          {StoreValue::text(key), StoreValue::text(kind), StoreValue::text(new_id),
                           StoreValue::text(fingerprint), StoreValue::integer(toMicros(clock_.now()))},
                          lwtCall());
  if (!r.ok()) return r.status().withContext("claiming idempotency key " + key);
  Claim c;
  if (r->applied.value_or(false)) {
    c.fresh = true;
    c.result_id = new_id;
    c.state = "pending";
    return c;
  }
  if (r->cell(0, "kind").s != kind || r->cell(0, "fingerprint").s != fingerprint) {
    return FailedPrecondition("idempotency key '" + key + "' was already used for a different request (" +
                              r->cell(0, "kind").s + " " + r->cell(0, "result_id").s +
                              "); use a new key for a new request");
  }
  c.result_id = r->cell(0, "result_id").s;
  c.state = r->cell(0, "state").s;
  c.reason = r->cell(0, "reason").s;
  return c;
}

Status Ledger::finishKey(const std::string& key, const std::string& state, const std::string& reason) {
  auto r = store_.execute(st_->finish_key, {StoreValue::text(state), StoreValue::text(reason), StoreValue::text(key)},
                          lwtCall());
  if (!r.ok()) return r.status().withContext("finishing idempotency key " + key);
  return OkStatus();
}

void Ledger::finishKeyLater(const std::string& key) {
  store_.executeAsync(st_->finish_key, {StoreValue::text("posted"), StoreValue::text(""), StoreValue::text(key)},
                      lwtCall(), [key](Result<StoreRows> r) {
                        if (!r.ok()) {
                          kit::logWarn("could not mark an idempotency key posted; a retry with it will finish it",
                                       {{"key", key}, {"error", r.status().toString()}});
                        }
                      });
}

std::optional<Ledger::CachedBalance> Ledger::memoryBalance(const std::string& address, const std::string& currency) {
  std::lock_guard lock(memory_mu_);
  auto it = memory_.find(address + "\n" + currency);
  if (it == memory_.end()) return std::nullopt;
  return it->second;
}

void Ledger::rememberBalance(const std::string& address, const std::string& currency,
                             std::optional<CachedBalance> b) {
  std::lock_guard lock(memory_mu_);
  if (b) memory_[address + "\n" + currency] = *b;
  else memory_.erase(address + "\n" + currency);
}

Result<Ledger::CachedBalance> Ledger::readBalance(const std::string& address, const std::string& currency,
                                                 bool must_exist) {
  // The row as this process last wrote it. Callers hold the address lock, and every
  // write moves the row by LWT from this value, so a stale copy (another writer) only
  // costs a failed LWT and a reconcile, never a wrong balance.
  if (auto m = memoryBalance(address, currency)) return *m;
  auto r = store_.execute(st_->read_balance, {StoreValue::text(address), StoreValue::text(currency)}, call());
  if (!r.ok()) return r.status().withContext("reading the balance of " + address);
  CachedBalance b;
  if (r->rows.empty()) {
    // Empty is either a new address or a replica that lost it (July 2019). Writing a
    // fresh balance over a lost one would bury the real one, so confirm at ALL first.
    kit::StoreCall all = call();
    all.consistency = "ALL";
    auto confirm = store_.execute(st_->read_balance, {StoreValue::text(address), StoreValue::text(currency)}, all);
    if (!confirm.ok()) {
      return Unavailable("the balance of " + address + " in " + currency + " read back empty at " +
                         options_.consistency + " and could not be confirmed at ALL (" + confirm.status().message() +
                         "); refusing to treat it as 0");
    }
    if (!confirm->rows.empty() || must_exist) {
      return FailedPrecondition("the balance of " + address + " in " + currency + " read back empty at " +
                                options_.consistency + " but " +
                                (must_exist ? std::string("it must exist") : std::string("exists at ALL")) +
                                "; refusing to post against a balance of 0 (a replica is missing data: repair it)");
    }
    return b;
  }
  b.present = true;
  b.settled = r->cell(0, "settled").i;
  b.held = r->cell(0, "held").i;
  b.entry_count = r->cell(0, "entry_count").i;
  rememberBalance(address, currency, b);
  return b;
}

Result<bool> Ledger::casBalance(const std::string& address, const std::string& currency, const CachedBalance& before,
                                const CachedBalance& after, CachedBalance* current) {
  Result<StoreRows> r = before.present
      ? store_.execute(st_->update_balance,
                       {StoreValue::integer(after.settled), StoreValue::integer(after.held),
                        StoreValue::integer(after.entry_count), StoreValue::text(address), StoreValue::text(currency),
                        StoreValue::integer(before.settled), StoreValue::integer(before.held),
                        StoreValue::integer(before.entry_count)},
                       lwtCall())
      : store_.execute(st_->insert_balance,
                       {StoreValue::text(address), StoreValue::text(currency), StoreValue::integer(after.settled),
                        StoreValue::integer(after.held), StoreValue::integer(after.entry_count)},
                       lwtCall());
  if (!r.ok()) return r.status().withContext("writing the balance of " + address);
  if (r->applied.value_or(false)) return true;
  *current = CachedBalance{};
  if (r->column("settled") >= 0 && !r->cell(0, "settled").isNull()) {
    current->present = true;
    current->settled = r->cell(0, "settled").i;
    current->held = r->cell(0, "held").i;
    current->entry_count = r->cell(0, "entry_count").i;
  }
  return false;
}

Status Ledger::writeBalance(const std::string& address, const std::string& currency, const CachedBalance& before,
                            const CachedBalance& after) {
  CachedBalance current;
  return afterBalanceWrite(address, currency, after, casBalance(address, currency, before, after, &current));
}

Status Ledger::afterBalanceWrite(const std::string& address, const std::string& currency, const CachedBalance& after,
                                 const Result<bool>& cas) {
  SANDBANK_ASSIGN_OR_RETURN(bool applied, cas);
  if (applied) {
    // The row exists now, whether or not it did before (`after` is often a copy of an
    // absent `before`): remembering it as absent would make the next update insert again.
    CachedBalance stored = after;
    stored.present = true;
    rememberBalance(address, currency, stored);
    return OkStatus();
  }
  rememberBalance(address, currency, std::nullopt);
  // The row was not what we read (another writer, or a stale read): rebuild it from the
  // rows it summarises, which this operation has already written.
  kit::logWarn("balance cache moved underneath an update; reconciling",
               {{"address", address}, {"currency", currency}});
  return reconcile(address, currency);
}

Status Ledger::reconcile(const std::string& address, const std::string& currency) {
  // Read the sources at ALL: reconciling from a lagging replica would write a wrong cache.
  kit::StoreCall all = call();
  all.consistency = "ALL";
  auto entries = store_.execute(st_->read_entries, {StoreValue::text(address)}, all);
  if (!entries.ok()) return entries.status().withContext("reconciling the balance of " + address);
  CachedBalance truth;
  truth.present = true;
  for (size_t i = 0; i < entries->rows.size(); ++i) {
    if (entries->cell(i, "currency").s != currency) continue;
    truth.settled += entries->cell(i, "amount").i;
    truth.entry_count += 1;
  }
  auto ids = store_.execute(st_->read_holds_by_address, {StoreValue::text(address)}, all);
  if (!ids.ok()) return ids.status().withContext("reconciling the holds of " + address);
  for (size_t i = 0; i < ids->rows.size(); ++i) {
    auto h = store_.execute(st_->read_hold, {ids->cell(i, "hold_id")}, all);
    if (!h.ok()) return h.status().withContext("reconciling the holds of " + address);
    if (!h->rows.empty() && h->cell(0, "state").s == schema::kHoldActive && h->cell(0, "currency").s == currency) {
      truth.held += h->cell(0, "amount").i;
    }
  }
  auto cur = store_.execute(st_->read_balance, {StoreValue::text(address), StoreValue::text(currency)}, all);
  if (!cur.ok()) return cur.status().withContext("reconciling the balance of " + address);
  CachedBalance before;
  if (!cur->rows.empty()) {
    before.present = true;
    before.settled = cur->cell(0, "settled").i;
    before.held = cur->cell(0, "held").i;
    before.entry_count = cur->cell(0, "entry_count").i;
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (before.present && before.settled == truth.settled && before.held == truth.held &&
        before.entry_count == truth.entry_count) {
      rememberBalance(address, currency, truth);
      return OkStatus();
    }
    CachedBalance current;
    SANDBANK_ASSIGN_OR_RETURN(bool applied, casBalance(address, currency, before, truth, &current));
    if (applied) {
      rememberBalance(address, currency, truth);
      return OkStatus();
    }
    before = current;
  }
  return Aborted("the balance of " + address + " in " + currency +
                 " keeps changing while it is reconciled; retry with the same idempotency key");
}

Status Ledger::rememberAddress(const std::string& address) {
  {
    std::lock_guard lock(known_mu_);
    if (known_.count(address)) return OkStatus();
  }
  auto r = store_.execute(st_->insert_address,
                          {StoreValue::integer(bank::bucketOf(address, schema::kAddressBuckets)),
                           StoreValue::text(address), StoreValue::integer(toMicros(clock_.now()))},
                          lwtCall());
  if (!r.ok()) return r.status().withContext("recording address " + address);
  std::lock_guard lock(known_mu_);
  known_.insert(address);
  return OkStatus();
}

bool Ledger::knownInProcess(const std::string& address) {
  std::lock_guard lock(known_mu_);
  return known_.count(address) > 0;
}

Result<pb::PostEntrySetResponse> Ledger::post(const pb::PostEntrySetRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  std::vector<bank::Leg> legs = legsOf(request.entries());
  if (Status s = bank::checkBalanced(legs); !s.ok()) return s;
  for (const auto& f : request.floors()) {
    if (Status s = bank::validateAddress(f.address()); !s.ok()) return s.withContext("floor");
    if (Status s = bank::validateCurrency(f.currency()); !s.ok()) return s.withContext("floor");
  }
  // In flight before the claim, not after it: a second call with this key in this process
  // could otherwise see the claim pending, finish the posting as interrupted (its caches
  // rebuilt from the rows), and let the first call then add its amounts on top.
  if (!beginFlight(request.idempotency_key())) {
    return Unavailable("an earlier request with idempotency key '" + request.idempotency_key() +
                       "' is still being posted; retry with the same key");
  }
  auto out = [&]() -> Result<pb::PostEntrySetResponse> {
    SANDBANK_ASSIGN_OR_RETURN(Claim claim, claimKey(request.idempotency_key(), "entryset",
                                                    fingerprintOf(request, legs), newId("es")));
    if (claim.fresh) return postClaimed(claim.result_id, request, legs);
    if (claim.state == "posted") {
      SANDBANK_ASSIGN_OR_RETURN(pb::EntrySet original, getEntrySet(claim.result_id));
      pb::PostEntrySetResponse resp;
      *resp.mutable_entryset() = std::move(original);
      resp.set_replayed(true);
      return resp;
    }
    if (claim.state == "rejected") return FailedPrecondition(claim.reason + " (the original result for this key)");
    // The first attempt stopped part-way (a store error or a crash): finish it.
    return recoverPosting(claim.result_id, request, legs);
  }();
  endFlight(request.idempotency_key());
  return out;
}

bool Ledger::beginFlight(const std::string& key) {
  std::lock_guard lock(flight_mu_);
  return in_flight_.insert(key).second;
}

void Ledger::endFlight(const std::string& key) {
  std::lock_guard lock(flight_mu_);
  in_flight_.erase(key);
}

Result<kit::StoreStatement> Ledger::entrySetBatch(size_t legs) {
  std::lock_guard lock(batch_mu_);
  auto it = batches_.find(legs);
  if (it != batches_.end()) return it->second;
  // One round trip for the whole EntrySet: a logged batch of every entry row and the
  // EntrySet row (bind order: per leg address, id, leg, amount, currency; then the set).
  std::string cql = "BEGIN BATCH ";
  for (size_t i = 0; i < legs; ++i) {
    cql += "INSERT INTO entries (address, entryset_id, leg, amount, currency) VALUES (?, ?, ?, ?, ?); ";
  }
  cql += "INSERT INTO entrysets (entryset_id, idempotency_key, legs, description, source, reference, posted_us) "
         "VALUES (?, ?, ?, ?, ?, ?, ?); APPLY BATCH";
  auto p = store_.prepare(cql, std::string(schema::kKeyspace));
  if (!p.ok()) return p.status().withContext("preparing the EntrySet batch");
  batches_.emplace(legs, *p);
  return p;
}

Status Ledger::writeEntrySetRows(const std::string& entryset_id, const pb::PostEntrySetRequest& request,
                                 const std::vector<bank::Leg>& legs, int64_t now_us) {
  SANDBANK_ASSIGN_OR_RETURN(kit::StoreStatement batch, entrySetBatch(legs.size()));
  std::vector<StoreValue> values;
  values.reserve(legs.size() * 5 + 7);
  for (size_t i = 0; i < legs.size(); ++i) {
    values.push_back(StoreValue::text(legs[i].address));
    values.push_back(StoreValue::text(entryset_id));
    values.push_back(StoreValue::integer(static_cast<int64_t>(i)));
    values.push_back(StoreValue::integer(legs[i].minor_units));
    values.push_back(StoreValue::text(legs[i].currency));
  }
  for (StoreValue v : {StoreValue::text(entryset_id), StoreValue::text(request.idempotency_key()),
                       StoreValue::text(bank::encodeLegs(legs)), StoreValue::text(request.description()),
                       StoreValue::text(request.source()), StoreValue::text(request.reference()),
                       StoreValue::integer(now_us)}) {
    values.push_back(std::move(v));
  }
  auto r = store_.execute(batch, values, writeCall());
  return r.ok() ? OkStatus() : r.status().withContext("writing EntrySet " + entryset_id + " and its entries");
}

pb::PostEntrySetResponse Ledger::responseFor(const std::string& entryset_id, const pb::PostEntrySetRequest& request,
                                             const std::vector<bank::Leg>& legs, int64_t now_us) {
  pb::PostEntrySetResponse resp;
  pb::EntrySet* out = resp.mutable_entryset();
  out->set_entryset_id(entryset_id);
  out->set_idempotency_key(request.idempotency_key());
  fillEntries(legs, out);
  out->set_description(request.description());
  out->set_source(request.source());
  out->set_reference(request.reference());
  out->set_posted_at_us(now_us);
  return resp;
}

Result<pb::PostEntrySetResponse> Ledger::recoverPosting(const std::string& entryset_id,
                                                         const pb::PostEntrySetRequest& request,
                                                         const std::vector<bank::Leg>& legs) {
  kit::logWarn("finishing an interrupted posting", {{"entryset_id", entryset_id}, {"key", request.idempotency_key()}});
  const int64_t now_us = toMicros(clock_.now());
  std::set<std::pair<std::string, std::string>> touched;
  std::vector<std::string> addresses;
  for (const bank::Leg& l : legs) {
    touched.insert({l.address, l.currency});
    addresses.push_back(l.address);
  }
  auto locks = lockAddresses(addresses);
  // Entry rows are keyed by (address, EntrySet, leg), so writing them again is harmless;
  // the caches are then rebuilt from the entries, whichever of them had been updated.
  if (Status s = writeEntrySetRows(entryset_id, request, legs, now_us); !s.ok()) return s;
  for (const auto& [address, currency] : touched) {
    if (Status s = reconcile(address, currency); !s.ok()) return s;
    if (Status s = rememberAddress(address); !s.ok()) return s;
  }
  if (Status s = finishKey(request.idempotency_key(), "posted", ""); !s.ok()) return s;
  locks.clear();
  pb::PostEntrySetResponse resp = responseFor(entryset_id, request, legs, now_us);
  publish(resp.entryset());
  return resp;
}

Result<pb::PostEntrySetResponse> Ledger::postClaimed(const std::string& entryset_id,
                                                      const pb::PostEntrySetRequest& request,
                                                      const std::vector<bank::Leg>& legs) {
  const int64_t now_us = toMicros(clock_.now());
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> deltas;  // -> (amount, legs)
  std::vector<std::string> addresses;
  for (const bank::Leg& l : legs) {
    auto& d = deltas[{l.address, l.currency}];
    d.first += l.minor_units;
    d.second += 1;
    addresses.push_back(l.address);
  }
  auto locks = lockAddresses(addresses);

  std::map<std::pair<std::string, std::string>, CachedBalance> current;
  for (const auto& [ac, d] : deltas) {
    SANDBANK_ASSIGN_OR_RETURN(current[ac], readBalance(ac.first, ac.second));
  }
  for (const auto& f : request.floors()) {
    auto it = current.find({f.address(), f.currency()});
    CachedBalance b;
    if (it != current.end()) b = it->second;
    else { SANDBANK_ASSIGN_OR_RETURN(b, readBalance(f.address(), f.currency())); }
    int64_t delta = 0;
    if (auto d = deltas.find({f.address(), f.currency()}); d != deltas.end()) delta = d->second.first;
    const int64_t available_after = b.settled + delta - b.held;
    if (available_after < f.minimum_minor_units()) {
      std::string reason = "insufficient funds at " + f.address() + ": available would be " +
                           std::to_string(available_after) + " " + f.currency() + ", below the floor of " +
                           std::to_string(f.minimum_minor_units());
      if (Status s = finishKey(request.idempotency_key(), "rejected", reason); !s.ok()) return s;
      return FailedPrecondition(reason);
    }
  }

  if (Status s = writeEntrySetRows(entryset_id, request, legs, now_us); !s.ok()) return s;
  for (const auto& [ac, d] : deltas) {
    const CachedBalance& before = current[ac];
    CachedBalance b = before;
    b.settled += d.first;
    b.entry_count += d.second;
    if (Status s = writeBalance(ac.first, ac.second, before, b); !s.ok()) return s;
    if (Status s = rememberAddress(ac.first); !s.ok()) return s;
  }
  if (Status s = finishKey(request.idempotency_key(), "posted", ""); !s.ok()) return s;
  locks.clear();

  pb::PostEntrySetResponse resp = responseFor(entryset_id, request, legs, now_us);
  publish(resp.entryset());
  return resp;
}

void Ledger::publish(const pb::EntrySet& entryset) {
  if (bus_ == nullptr) return;
  std::set<std::string> accounts;
  for (const auto& e : entryset.entries()) {
    if (auto a = bank::accountOf(e.address())) accounts.insert(a->value());
  }
  // One record per account touched, so each account's partition sees its own history in
  // order; a set with no account (scheme to scheme) is keyed by its first address.
  std::vector<std::pair<std::string, std::string>> keys;  // (key, account id)
  for (const auto& a : accounts) keys.emplace_back(a, a);
  if (keys.empty()) keys.emplace_back(entryset.entries(0).address(), "");
  for (const auto& [key, account] : keys) {
    pb::EntrySetPosted ev;
    *ev.mutable_entryset() = entryset;
    ev.set_account_id(account);
    kit::BusMessage m;
    m.key = key;
    m.value = ev.SerializeAsString();
    m.headers.emplace_back("type", "sandbank.bank.ledger.EntrySetPosted");
    const std::string id = entryset.entryset_id();
    bus_->send(options_.topic, std::move(m), [id, key = key](const kit::BusAck& ack) {
      if (!ack.status.ok()) {
        kit::logError("publishing an EntrySet failed", {{"entryset_id", id}, {"key", key}, {"error", ack.status.toString()}});
      }
    });
  }
}

Result<pb::EntrySet> Ledger::getEntrySet(const std::string& entryset_id) {
  if (entryset_id.empty()) return InvalidArgument("entryset_id is required");
  auto r = store_.execute(st_->read_entryset, {StoreValue::text(entryset_id)}, call());
  if (!r.ok()) return r.status().withContext("reading EntrySet " + entryset_id);
  if (r->rows.empty()) return NotFound("no EntrySet " + entryset_id);
  std::vector<bank::Leg> legs;
  if (Status s = bank::decodeLegs(r->cell(0, "legs").s, &legs); !s.ok()) {
    return Status(StatusCode::kDataLoss, "EntrySet " + entryset_id + " is stored malformed: " + s.message());
  }
  pb::EntrySet es;
  es.set_entryset_id(entryset_id);
  es.set_idempotency_key(r->cell(0, "idempotency_key").s);
  fillEntries(legs, &es);
  es.set_description(r->cell(0, "description").s);
  es.set_source(r->cell(0, "source").s);
  es.set_reference(r->cell(0, "reference").s);
  es.set_posted_at_us(r->cell(0, "posted_us").i);
  return es;
}

Result<pb::Balance> Ledger::balance(const std::string& address, bool verify) {
  if (Status s = bank::validateAddress(address); !s.ok()) return s;
  auto rows = store_.execute(st_->read_balances, {StoreValue::text(address)}, call());
  if (!rows.ok()) return rows.status().withContext("reading the balance of " + address);
  pb::Balance out;
  out.set_address(address);
  if (rows->rows.empty()) {
    // July 2019: a node that joined without streaming answered quorum reads with nothing.
    // An address we know was posted to must never be reported as 0 on an empty read.
    bool known = knownInProcess(address);
    const auto dir_key = std::vector<StoreValue>{StoreValue::integer(bank::bucketOf(address, schema::kAddressBuckets)),
                                                 StoreValue::text(address)};
    if (!known) {
      auto dir = store_.execute(st_->read_address, dir_key, call());
      if (!dir.ok()) return dir.status().withContext("reading the address directory for " + address);
      known = !dir->rows.empty();
    }
    if (!known) {
      // Not known here: confirm at ALL that neither the balance nor the directory has it,
      // so a lagging quorum cannot turn a funded account into a new, empty one.
      kit::StoreCall all = call();
      all.consistency = "ALL";
      auto b_all = store_.execute(st_->read_balances, {StoreValue::text(address)}, all);
      auto d_all = b_all.ok() ? store_.execute(st_->read_address, dir_key, all) : b_all;
      if (!d_all.ok()) {
        return Unavailable("address " + address + " read back empty at " + options_.consistency +
                           " and could not be confirmed empty at ALL (" + d_all.status().message() + ")");
      }
      known = !b_all->rows.empty() || !d_all->rows.empty();
    }
    if (known) {
      return FailedPrecondition("address " + address +
                                " has been posted to but its balance read back empty; refusing to report 0 "
                                "(a replica may be missing data: repair it or read at a higher consistency)");
    }
    out.set_known(false);
    return out;
  }
  out.set_known(true);
  std::map<std::string, std::pair<int64_t, int64_t>> recomputed;  // currency -> (sum, legs)
  if (verify) {
    auto entries = store_.execute(st_->read_entries, {StoreValue::text(address)}, call());
    if (!entries.ok()) return entries.status().withContext("reading the entries of " + address);
    for (size_t i = 0; i < entries->rows.size(); ++i) {
      auto& rc = recomputed[entries->cell(i, "currency").s];
      rc.first += entries->cell(i, "amount").i;
      rc.second += 1;
    }
  }
  int64_t count = 0;
  for (size_t i = 0; i < rows->rows.size(); ++i) {
    const std::string& currency = rows->cell(i, "currency").s;
    const int64_t settled = rows->cell(i, "settled").i;
    const int64_t held = rows->cell(i, "held").i;
    const int64_t entry_count = rows->cell(i, "entry_count").i;
    count += entry_count;
    if (verify) {
      auto rc = recomputed[currency];
      if (rc.second == 0 && entry_count > 0) {
        return FailedPrecondition("address " + address + " has " + std::to_string(entry_count) + " " + currency +
                                  " entries in its balance cache but its entries read back empty; refusing to "
                                  "report a balance");
      }
      if (rc.first != settled || rc.second != entry_count) {
        return Status(StatusCode::kDataLoss, "balance cache of " + address + " in " + currency + " says " +
                                                 std::to_string(settled) + " over " + std::to_string(entry_count) +
                                                 " entries but the entries sum to " + std::to_string(rc.first) +
                                                 " over " + std::to_string(rc.second));
      }
    }
    auto* cb = out.add_currencies();
    cb->set_currency(currency);
    cb->set_settled_minor_units(settled);
    cb->set_held_minor_units(held);
    cb->set_available_minor_units(settled - held);
  }
  out.set_entry_count(count);
  return out;
}

Result<pb::ListEntriesResponse> Ledger::listEntries(const std::string& address, int limit) {
  if (Status s = bank::validateAddress(address); !s.ok()) return s;
  auto entries = store_.execute(st_->read_entries, {StoreValue::text(address)}, call());
  if (!entries.ok()) return entries.status().withContext("reading the entries of " + address);
  pb::ListEntriesResponse out;
  for (size_t i = 0; i < entries->rows.size(); ++i) {
    if (limit > 0 && out.entries_size() >= limit) break;
    pb::PostedEntry* e = out.add_entries();
    e->set_entryset_id(entries->cell(i, "entryset_id").s);
    e->set_leg(static_cast<int32_t>(entries->cell(i, "leg").i));
    e->mutable_amount()->set_minor_units(entries->cell(i, "amount").i);
    e->mutable_amount()->set_currency(entries->cell(i, "currency").s);
  }
  return out;
}

Result<pb::Hold> Ledger::readHold(const std::string& hold_id) {
  if (hold_id.empty()) return InvalidArgument("hold_id is required");
  auto r = store_.execute(st_->read_hold, {StoreValue::text(hold_id)}, call());
  if (!r.ok()) return r.status().withContext("reading hold " + hold_id);
  if (r->rows.empty()) return NotFound("no hold " + hold_id);
  pb::Hold h;
  h.set_hold_id(hold_id);
  h.set_idempotency_key(r->cell(0, "idempotency_key").s);
  h.set_address(r->cell(0, "address").s);
  h.mutable_amount()->set_minor_units(r->cell(0, "amount").i);
  h.mutable_amount()->set_currency(r->cell(0, "currency").s);
  h.set_state(holdStateOf(r->cell(0, "state").s));
  h.set_reference(r->cell(0, "reference").s);
  h.set_created_at_us(r->cell(0, "created_us").i);
  h.set_expires_at_us(r->cell(0, "expires_us").i);
  h.set_ended_at_us(r->cell(0, "ended_us").i);
  h.set_settle_entryset_id(r->cell(0, "settle_entryset_id").s);
  return h;
}

Result<pb::Hold> Ledger::getHold(const std::string& hold_id) { return readHold(hold_id); }

Result<pb::Hold> Ledger::createHold(const pb::CreateHoldRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  if (Status s = bank::validateAddress(request.address()); !s.ok()) return s;
  if (Status s = bank::validateCurrency(request.amount().currency()); !s.ok()) return s;
  if (request.amount().minor_units() <= 0) {
    return InvalidArgument("a hold amount must be positive, got " + std::to_string(request.amount().minor_units()));
  }
  const std::string fingerprint = "hold\n" + request.address() + " " + request.amount().currency() + " " +
                                  std::to_string(request.amount().minor_units()) + " " +
                                  (request.has_floor() ? std::to_string(request.minimum_available_minor_units()) : "-");
  // In flight before the claim, for the reason post() gives.
  if (!beginFlight(request.idempotency_key())) {
    return Unavailable("an earlier hold request with key '" + request.idempotency_key() + "' is still in progress");
  }
  auto out = [&]() -> Result<pb::Hold> {
    SANDBANK_ASSIGN_OR_RETURN(Claim claim, claimKey(request.idempotency_key(), "hold", fingerprint, newId("hold")));
    if (claim.fresh) return createHoldClaimed(claim.result_id, request, /*recovering=*/false);
    if (claim.state == "posted") {
      SANDBANK_ASSIGN_OR_RETURN(pb::Hold h, readHold(claim.result_id));
      h.set_replayed(true);
      return h;
    }
    if (claim.state == "rejected") return FailedPrecondition(claim.reason + " (the original result for this key)");
    return createHoldClaimed(claim.result_id, request, /*recovering=*/true);
  }();
  endFlight(request.idempotency_key());
  return out;
}

Result<pb::Hold> Ledger::createHoldClaimed(const std::string& hold_id, const pb::CreateHoldRequest& request,
                                           bool recovering) {
  const std::string& currency = request.amount().currency();
  const int64_t amount = request.amount().minor_units();
  const int64_t now_us = toMicros(clock_.now());
  auto locks = lockAddresses({request.address()});
  if (recovering) {
    // The first attempt stopped part-way. If it wrote the hold, finish around it: the
    // index row again (harmless) and the cache rebuilt from the active holds.
    kit::StoreCall all = call();
    all.consistency = "ALL";
    auto existing = store_.execute(st_->read_hold, {StoreValue::text(hold_id)}, all);
    if (!existing.ok()) return existing.status().withContext("recovering hold " + hold_id);
    if (!existing->rows.empty()) {
      kit::logWarn("finishing an interrupted hold", {{"hold_id", hold_id}});
      auto by = store_.execute(st_->insert_hold_by_address,
                               {StoreValue::text(request.address()), StoreValue::text(hold_id)}, writeCall());
      if (!by.ok()) return by.status().withContext("indexing hold " + hold_id);
      if (Status s = reconcile(request.address(), currency); !s.ok()) return s;
      if (Status s = rememberAddress(request.address()); !s.ok()) return s;
      if (Status s = finishKey(request.idempotency_key(), "posted", ""); !s.ok()) return s;
      locks.clear();
      SANDBANK_ASSIGN_OR_RETURN(pb::Hold h, readHold(hold_id));
      h.set_replayed(true);  // the hold an earlier call with this key took
      return h;
    }
    // No hold, but the earlier attempt may have moved the balance (the two writes go out
    // together): rebuild it from the active holds before adding this one.
    rememberBalance(request.address(), currency, std::nullopt);
    if (Status s = reconcile(request.address(), currency); !s.ok()) return s;
  }
  SANDBANK_ASSIGN_OR_RETURN(CachedBalance b, readBalance(request.address(), currency));
  if (request.has_floor() && b.settled - b.held - amount < request.minimum_available_minor_units()) {
    std::string reason = "insufficient funds at " + request.address() + ": available " +
                         std::to_string(b.settled - b.held) + " " + currency + " minus the hold of " +
                         std::to_string(amount) + " is below the floor of " +
                         std::to_string(request.minimum_available_minor_units());
    if (Status s = finishKey(request.idempotency_key(), "rejected", reason); !s.ok()) return s;
    return FailedPrecondition(reason);
  }
  // The hold with its index row (one logged batch: both or, eventually, neither) and the
  // balance LWT go out together: different partitions, and neither needs the other's
  // answer. Both have answered before anything below runs. When only the balance moved,
  // reconcile() (which counts active holds) puts it back, here or in a retry, which finds
  // the key pending and reconciles before it holds again.
  std::promise<Result<StoreRows>> hold_written;
  std::future<Result<StoreRows>> hold_answer = hold_written.get_future();
  store_.executeAsync(st_->insert_hold,
                      {StoreValue::text(hold_id), StoreValue::text(request.idempotency_key()),
                       StoreValue::text(request.address()), StoreValue::integer(amount), StoreValue::text(currency),
                       StoreValue::text(request.reference()), StoreValue::integer(now_us),
                       StoreValue::integer(request.expires_at_us()), StoreValue::text(request.address()),
                       StoreValue::text(hold_id)},
                      writeCall(), [&hold_written](Result<StoreRows> r) { hold_written.set_value(std::move(r)); });
  CachedBalance after = b;
  after.held += amount;
  CachedBalance found;
  const Result<bool> cas = casBalance(request.address(), currency, b, after, &found);
  const Result<StoreRows> ins = hold_answer.get();
  if (!ins.ok()) {
    rememberBalance(request.address(), currency, std::nullopt);
    if (cas.ok() && *cas) {
      if (Status s = reconcile(request.address(), currency); !s.ok()) {
        kit::logWarn("a hold was not written but its balance moved; the next call with its key reconciles it",
                     {{"hold_id", hold_id}, {"error", s.toString()}});
      }
    }
    return ins.status().withContext("writing hold " + hold_id);
  }
  if (Status s = afterBalanceWrite(request.address(), currency, after, cas); !s.ok()) return s;
  if (Status s = rememberAddress(request.address()); !s.ok()) return s;
  // The key is marked posted off the reply path: until it lands, a retry finds it pending
  // and takes the recovery path above, which finds this hold and answers with it.
  finishKeyLater(request.idempotency_key());
  locks.clear();
  pb::Hold h;
  h.set_hold_id(hold_id);
  h.set_idempotency_key(request.idempotency_key());
  h.set_address(request.address());
  *h.mutable_amount() = request.amount();
  h.set_state(pb::HOLD_ACTIVE);
  h.set_reference(request.reference());
  h.set_created_at_us(now_us);
  h.set_expires_at_us(request.expires_at_us());
  return h;
}

Status Ledger::finishHoldEnd(const pb::Hold& hold, const std::string& end_key, const std::string& state,
                             int64_t ended_us) {
  auto end = store_.execute(st_->insert_hold_end,
                            {StoreValue::text(hold.hold_id()), StoreValue::text(end_key), StoreValue::text(state),
                             StoreValue::integer(ended_us)},
                            writeCall());
  if (!end.ok()) return end.status().withContext("recording the end of hold " + hold.hold_id());
  return reconcile(hold.address(), hold.amount().currency());
}

Result<pb::Hold> Ledger::releaseHold(const pb::ReleaseHoldRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  SANDBANK_ASSIGN_OR_RETURN(pb::Hold hold, readHold(request.hold_id()));
  const std::string state(request.expired() ? schema::kHoldExpired : schema::kHoldReleased);
  auto locks = lockAddresses({hold.address()});
  const int64_t now_us = toMicros(clock_.now());
  auto r = store_.execute(st_->end_hold,
                          {StoreValue::text(state), StoreValue::integer(now_us),
                           StoreValue::text(request.idempotency_key()), StoreValue::text(request.hold_id())},
                          lwtCall());
  if (!r.ok()) return r.status().withContext("ending hold " + request.hold_id());
  if (!r->applied.value_or(false)) {
    if (r->cell(0, "end_key").s == request.idempotency_key() && r->cell(0, "state").s == state) {
      // Our own earlier call ended it; make sure it also finished (end row, cache).
      if (Status s = finishHoldEnd(hold, request.idempotency_key(), state, r->cell(0, "ended_us").i); !s.ok()) return s;
      SANDBANK_ASSIGN_OR_RETURN(pb::Hold h, readHold(request.hold_id()));
      h.set_replayed(true);
      return h;
    }
    return FailedPrecondition("hold " + request.hold_id() + " has already ended (" + r->cell(0, "state").s +
                              " by request '" + r->cell(0, "end_key").s + "'); a hold ends exactly once");
  }
  auto end = store_.execute(st_->insert_hold_end,
                            {StoreValue::text(request.hold_id()), StoreValue::text(request.idempotency_key()),
                             StoreValue::text(state), StoreValue::integer(now_us)},
                            writeCall());
  if (!end.ok()) return end.status().withContext("recording the end of hold " + request.hold_id());
  SANDBANK_ASSIGN_OR_RETURN(CachedBalance b, readBalance(hold.address(), hold.amount().currency(), true));
  CachedBalance after = b;
  after.held -= hold.amount().minor_units();
  if (Status s = writeBalance(hold.address(), hold.amount().currency(), b, after); !s.ok()) return s;
  locks.clear();
  return readHold(request.hold_id());
}

Result<pb::SettleHoldResponse> Ledger::settleHold(const pb::SettleHoldRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  std::vector<bank::Leg> legs = legsOf(request.entries());
  if (Status s = bank::checkBalanced(legs); !s.ok()) return s;
  SANDBANK_ASSIGN_OR_RETURN(pb::Hold hold, readHold(request.hold_id()));
  bool replayed = false;
  {
    auto locks = lockAddresses({hold.address()});
    const int64_t now_us = toMicros(clock_.now());
    auto r = store_.execute(st_->end_hold,
                            {StoreValue::text(std::string(schema::kHoldSettled)), StoreValue::integer(now_us),
                             StoreValue::text(request.idempotency_key()), StoreValue::text(request.hold_id())},
                            lwtCall());
    if (!r.ok()) return r.status().withContext("settling hold " + request.hold_id());
    if (!r->applied.value_or(false)) {
      if (r->cell(0, "end_key").s != request.idempotency_key() || r->cell(0, "state").s != schema::kHoldSettled) {
        return FailedPrecondition("hold " + request.hold_id() + " has already ended (" + r->cell(0, "state").s +
                                  " by request '" + r->cell(0, "end_key").s + "'); a hold ends exactly once");
      }
      replayed = true;  // settled by an earlier call with this key: finish it, and its posting below
      if (Status s = finishHoldEnd(hold, request.idempotency_key(), std::string(schema::kHoldSettled),
                                   r->cell(0, "ended_us").i);
          !s.ok()) {
        return s;
      }
    } else {
      auto end = store_.execute(st_->insert_hold_end,
                                {StoreValue::text(request.hold_id()), StoreValue::text(request.idempotency_key()),
                                 StoreValue::text(std::string(schema::kHoldSettled)), StoreValue::integer(now_us)},
                                writeCall());
      if (!end.ok()) return end.status().withContext("recording the end of hold " + request.hold_id());
      SANDBANK_ASSIGN_OR_RETURN(CachedBalance b, readBalance(hold.address(), hold.amount().currency(), true));
      CachedBalance after = b;
      after.held -= hold.amount().minor_units();
      if (Status s = writeBalance(hold.address(), hold.amount().currency(), b, after); !s.ok()) return s;
    }
  }
  pb::PostEntrySetRequest post_req;
  post_req.set_idempotency_key(request.idempotency_key());
  *post_req.mutable_entries() = request.entries();
  post_req.set_description(request.description());
  post_req.set_source(request.source());
  post_req.set_reference(request.hold_id());
  SANDBANK_ASSIGN_OR_RETURN(pb::PostEntrySetResponse posted, post(post_req));
  auto link = store_.execute(st_->set_hold_entryset,
                             {StoreValue::text(posted.entryset().entryset_id()), StoreValue::text(request.hold_id())},
                             writeCall());
  if (!link.ok()) return link.status().withContext("linking hold " + request.hold_id() + " to its EntrySet");
  pb::SettleHoldResponse out;
  SANDBANK_ASSIGN_OR_RETURN(*out.mutable_hold(), readHold(request.hold_id()));
  *out.mutable_entryset() = posted.entryset();
  out.set_replayed(replayed);
  return out;
}

Result<pb::ListHoldsResponse> Ledger::listHolds(const std::string& address, bool active_only) {
  if (Status s = bank::validateAddress(address); !s.ok()) return s;
  auto ids = store_.execute(st_->read_holds_by_address, {StoreValue::text(address)}, call());
  if (!ids.ok()) return ids.status().withContext("listing the holds at " + address);
  pb::ListHoldsResponse out;
  for (size_t i = 0; i < ids->rows.size(); ++i) {
    SANDBANK_ASSIGN_OR_RETURN(pb::Hold h, readHold(ids->cell(i, "hold_id").s));
    if (active_only && h.state() != pb::HOLD_ACTIVE) continue;
    *out.add_holds() = std::move(h);
  }
  return out;
}

}  // namespace sandbank::ledger
