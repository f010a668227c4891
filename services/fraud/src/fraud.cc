// Fraud scoring by rules over the velocity window, the store and card.Get; see fraud.h.
#include "sandbank/fraud/fraud.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>
#include <sstream>

#include "sandbank/bank/card.grpc.pb.h"
#include "sandbank/bankcore/fraud_schema.h"
#include "sandbank/kit/log.h"

namespace sandbank::fraud {
namespace schema = bank::fraud_schema;
namespace txpb = ::sandbank::bank::transaction;
using kit::StoreValue;

struct Fraud::Statements {
  kit::StoreStatement read_payee, insert_payee, write_attempt, read_attempts;
};

namespace {

constexpr const char* kVelocity = "velocity";
constexpr const char* kAmount = "amount";
constexpr const char* kFrozenCard = "frozen_card";
constexpr const char* kMerchantCategory = "merchant_category";
constexpr const char* kNewPayee = "new_payee";

Status readWeight(const kit::Config& config, const char* name, int* out) {
  auto v = config.getInt(name, *out);
  if (!v.ok()) return v.status();
  if (*v < 0 || *v > 100) return InvalidArgument(std::string(name) + " must be 0..100, got " + std::to_string(*v));
  *out = static_cast<int>(*v);
  return OkStatus();
}

Status readPositive(const kit::Config& config, const char* name, int64_t* out) {
  auto v = config.getInt(name, *out);
  if (!v.ok()) return v.status();
  if (*v < 0) return InvalidArgument(std::string(name) + " must be >= 0, got " + std::to_string(*v));
  *out = *v;
  return OkStatus();
}

Status validateMoney(const bank::Money& m, const char* field) {
  if (m.minor_units() <= 0) {
    return InvalidArgument(std::string(field) + ".minor_units must be > 0, got " + std::to_string(m.minor_units()));
  }
  if (m.currency().size() != 3) {
    return InvalidArgument(std::string(field) + ".currency must be an ISO 4217 code such as GBP, got '" +
                           m.currency() + "'");
  }
  return OkStatus();
}

std::string money(const bank::Money& m) { return std::to_string(m.minor_units()) + " " + m.currency(); }

}  // namespace

Result<FraudRules> FraudRules::fromConfig(const kit::Config& config) {
  FraudRules r;
  SANDBANK_RETURN_IF_ERROR(readPositive(config, "FRAUD_VELOCITY_MAX", &r.velocity_max));
  auto window = config.getDuration("FRAUD_VELOCITY_WINDOW", r.velocity_window);
  if (!window.ok()) return window.status();
  if (window->count() <= 0) return InvalidArgument("FRAUD_VELOCITY_WINDOW must be positive");
  r.velocity_window = std::chrono::duration_cast<std::chrono::microseconds>(*window);
  SANDBANK_RETURN_IF_ERROR(readWeight(config, "FRAUD_VELOCITY_WEIGHT", &r.velocity_weight));
  SANDBANK_RETURN_IF_ERROR(readPositive(config, "FRAUD_AMOUNT_THRESHOLD", &r.amount_threshold));
  SANDBANK_RETURN_IF_ERROR(readWeight(config, "FRAUD_AMOUNT_WEIGHT", &r.amount_weight));
  auto check = config.getBool("FRAUD_CARD_CHECK", r.frozen_card_check);
  if (!check.ok()) return check.status();
  r.frozen_card_check = *check;
  auto card_timeout = config.getDuration("FRAUD_CARD_TIMEOUT", r.card_timeout);
  if (!card_timeout.ok()) return card_timeout.status();
  r.card_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*card_timeout);
  SANDBANK_RETURN_IF_ERROR(readWeight(config, "FRAUD_FROZEN_CARD_WEIGHT", &r.frozen_card_weight));
  if (auto mccs = config.get("FRAUD_BLOCKED_MCCS")) {
    r.blocked_mccs.clear();
    std::stringstream in(*mccs);
    std::string code;
    while (std::getline(in, code, ',')) {
      code.erase(std::remove_if(code.begin(), code.end(), [](unsigned char c) { return std::isspace(c); }),
                 code.end());
      if (code.empty()) continue;
      if (code.size() != 4 || !std::all_of(code.begin(), code.end(), [](unsigned char c) { return std::isdigit(c); })) {
        return InvalidArgument("FRAUD_BLOCKED_MCCS: '" + code + "' is not a four-digit merchant category code");
      }
      r.blocked_mccs.insert(code);
    }
  }
  SANDBANK_RETURN_IF_ERROR(readWeight(config, "FRAUD_MERCHANT_CATEGORY_WEIGHT", &r.merchant_category_weight));
  SANDBANK_RETURN_IF_ERROR(readPositive(config, "FRAUD_NEW_PAYEE_THRESHOLD", &r.new_payee_threshold));
  SANDBANK_RETURN_IF_ERROR(readWeight(config, "FRAUD_NEW_PAYEE_WEIGHT", &r.new_payee_weight));
  int threshold = r.block_threshold;
  SANDBANK_RETURN_IF_ERROR(readWeight(config, "FRAUD_BLOCK_THRESHOLD", &threshold));
  if (threshold == 0) return InvalidArgument("FRAUD_BLOCK_THRESHOLD must be 1..100 (0 would block everything)");
  r.block_threshold = threshold;
  return r;
}

namespace {
std::string instanceNonce() {
  std::random_device rd;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}
constexpr const char* kindName(bool card) { return card ? "card" : "transfer"; }
bool isBlockedStatus(::sandbank::bank::card::CardStatus s) {
  return s == ::sandbank::bank::card::CARD_FROZEN || s == ::sandbank::bank::card::CARD_CANCELLED;
}
}  // namespace

Fraud::Fraud(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, FraudOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()),
      instance_(instanceNonce()) {}

Fraud::~Fraud() {
  stopConsuming();
  waitForWrites();
}

Result<std::unique_ptr<Fraud>> Fraud::open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                           FraudOptions options) {
  std::unique_ptr<Fraud> f(new Fraud(store, bus, clock, std::move(options)));
  if (Status s = f->init(); !s.ok()) return s.withContext("fraud service start-up");
  return f;
}

Status Fraud::init() {
  SANDBANK_RETURN_IF_ERROR(
      store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, schema::kTables));
  // Rows outlive the window that can count them by one window, then expire.
  const int64_t window_s = (options_.rules.velocity_window.count() + 999'999) / 1'000'000;
  const std::string write_attempt =
      "INSERT INTO velocity (account_id, window_start, attempt_id, at_us, kind, minor_units, currency, "
      "transaction_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TTL " + std::to_string(2 * window_s + 1);
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&st_->read_payee, "SELECT first_us FROM payees WHERE from_account_id = ? AND to_account_id = ?"},
      {&st_->insert_payee, "INSERT INTO payees (from_account_id, to_account_id, first_us) VALUES (?, ?, ?)"},
      {&st_->write_attempt, write_attempt.c_str()},
      {&st_->read_attempts, "SELECT attempt_id, at_us, kind, minor_units, currency, transaction_id FROM velocity "
                            "WHERE account_id = ? AND window_start = ?"},
  };
  return store_.prepareAll(all, std::string(schema::kKeyspace));
}

void Fraud::prune(std::deque<Attempt>& attempts, int64_t now_us) {
  const int64_t oldest = now_us - options_.rules.velocity_window.count();
  // Attempts arrive roughly in time order; a late bus event may sit behind a newer one,
  // so prune all of them, not just the front.
  attempts.erase(std::remove_if(attempts.begin(), attempts.end(), [&](const Attempt& a) { return a.at_us <= oldest; }),
                 attempts.end());
}

int64_t Fraud::countAndRecord(const std::string& account, Kind kind, const bank::Money& amount) {
  ensureLoaded(account);
  const int64_t now = toMicros(clock_.now());
  Attempt attempt{"a:" + instance_ + ":" + std::to_string(next_attempt_.fetch_add(1)), now, kind,
                  amount.minor_units(), amount.currency(), false, ""};
  int64_t count = 0;
  {
    std::lock_guard lock(window_mu_);
    auto& attempts = window_[account];
    prune(attempts, now);
    attempts.push_back(attempt);
    count = static_cast<int64_t>(attempts.size());
    maybeSweep(now);
  }
  persist(account, attempt);
  return count;
}

int64_t Fraud::windowStart(int64_t at_us) const {
  const int64_t w = options_.rules.velocity_window.count();
  const int64_t r = at_us % w;
  return at_us - (r < 0 ? r + w : r);
}

void Fraud::persist(const std::string& account, const Attempt& a) {
  kit::StoreCall call;
  call.consistency = options_.consistency;
  call.timestamp_us = timestamps_.next(clock_);  // LWW orders a row and its rewrite whatever lands first
  // Off the scoring path: the verdict never depends on this row, which only lets a
  // restarted instance count the attempt (a SIGKILL can lose the writes still in flight).
  store_.executeAsync(
      st_->write_attempt,
      {StoreValue::text(account), StoreValue::integer(windowStart(a.at_us)), StoreValue::text(a.id),
       StoreValue::integer(a.at_us), StoreValue::text(kindName(a.kind == Kind::kCard)),
       StoreValue::integer(a.minor_units), StoreValue::text(a.currency), StoreValue::text(a.transaction_id)},
      call, [account](Result<kit::StoreRows> r) {
        if (!r.ok()) {
          kit::logWarn("could not store a velocity attempt; a restart would not count it",
                       {{"account_id", account}, {"error", r.status().toString()}});
        }
      });
}

void Fraud::waitForWrites() { store_.drain(); }

void Fraud::ensureLoaded(const std::string& account) {
  {
    std::lock_guard lock(window_mu_);
    if (loaded_.count(account) != 0) return;
  }
  const int64_t now = toMicros(clock_.now());
  const int64_t oldest = now - options_.rules.velocity_window.count();
  kit::StoreCall call;
  call.consistency = options_.consistency;
  std::vector<Attempt> stored;
  std::set<int64_t> windows = {windowStart(oldest + 1), windowStart(now)};
  for (int64_t w : windows) {
    auto r = store_.execute(st_->read_attempts, {StoreValue::text(account), StoreValue::integer(w)}, call);
    if (!r.ok()) {
      kit::logWarn("could not load the velocity window; counting from memory until it loads",
                   {{"account_id", account}, {"error", r.status().toString()}});
      return;
    }
    for (size_t i = 0; i < r->rows.size(); ++i) {
      Attempt a;
      a.id = r->cell(i, "attempt_id").s;
      a.at_us = r->cell(i, "at_us").i;
      a.kind = r->cell(i, "kind").s == "card" ? Kind::kCard : Kind::kTransfer;
      a.minor_units = r->cell(i, "minor_units").i;
      a.currency = r->cell(i, "currency").s;
      a.transaction_id = r->cell(i, "transaction_id").s;
      a.confirmed = !a.transaction_id.empty();
      if (a.at_us > oldest) stored.push_back(std::move(a));
    }
  }
  std::lock_guard lock(window_mu_);
  if (!loaded_.insert(account).second) return;  // another thread merged it meanwhile
  auto& attempts = window_[account];
  for (Attempt& a : stored) {
    if (std::any_of(attempts.begin(), attempts.end(), [&](const Attempt& m) { return m.id == a.id; })) continue;
    // Several rows may name one transaction (the instance that scored it, and every
    // instance that only saw it on the bus): it counts once.
    if (a.confirmed && !seen_transactions_.emplace(a.transaction_id, a.at_us).second) continue;
    attempts.push_back(std::move(a));
  }
}

void Fraud::maybeSweep(int64_t now_us) {
  if (++recorded_since_sweep_ < 4096) return;  // keep idle accounts from growing the maps forever
  recorded_since_sweep_ = 0;
  for (auto it = window_.begin(); it != window_.end();) {
    prune(it->second, now_us);
    if (!it->second.empty()) {
      ++it;
      continue;
    }
    loaded_.erase(it->first);  // nothing of it in the window: load afresh on its next touch
    it = window_.erase(it);
  }
  const int64_t oldest = now_us - options_.rules.velocity_window.count();
  for (auto it = seen_transactions_.begin(); it != seen_transactions_.end();) {
    it = it->second <= oldest ? seen_transactions_.erase(it) : std::next(it);
  }
}

void Fraud::observe(const txpb::TransactionEvent& event) {
  const txpb::TransactionRecord& t = event.transaction();
  // Count a transaction once, when it first appears, and only money going out.
  if (event.previous_state() != txpb::TRANSACTION_STATE_UNSPECIFIED) return;
  if (t.amount().minor_units() >= 0 || t.account_id().empty() || t.transaction_id().empty()) return;
  Kind kind;
  if (t.kind() == "card") {
    kind = Kind::kCard;
  } else if (t.kind() == "p2p" || t.kind() == "fps_out") {
    kind = Kind::kTransfer;
  } else {
    return;
  }
  const int64_t now = toMicros(clock_.now());
  const int64_t at = t.created_at_us() != 0 ? t.created_at_us() : (event.at_us() != 0 ? event.at_us() : now);
  if (at <= now - options_.rules.velocity_window.count()) return;  // already out of the window
  const int64_t units = -t.amount().minor_units();
  ensureLoaded(t.account_id());  // first: the store may already know this transaction
  Attempt changed;
  {
    std::lock_guard lock(window_mu_);
    if (!seen_transactions_.emplace(t.transaction_id(), at).second) return;  // a duplicate delivery
    ++observed_;
    maybeSweep(now);
    auto& attempts = window_[t.account_id()];
    prune(attempts, now);
    Attempt* matched = nullptr;
    for (Attempt& a : attempts) {
      if (!a.confirmed && a.kind == kind && a.minor_units == units && a.currency == t.amount().currency()) {
        matched = &a;  // the attempt this instance scored became this transaction
        break;
      }
    }
    if (matched != nullptr) {
      matched->confirmed = true;
      matched->transaction_id = t.transaction_id();
      changed = *matched;
    } else {
      attempts.push_back(Attempt{"t:" + t.transaction_id(), at, kind, units, t.amount().currency(), true,
                                 t.transaction_id()});
      changed = attempts.back();
    }
  }
  persist(t.account_id(), changed);
}

Status Fraud::startConsuming(kit::BusConsumerOptions options) {
  if (options.topics.empty()) options.topics = {"transaction.events"};
  auto c = kit::BusConsumer::start(std::move(options), [this](const kit::BusDelivery& d) -> Status {
    txpb::TransactionEvent event;
    if (!event.ParseFromString(d.message.value)) {
      // Not ours to fix and never parseable: log and move on rather than block the partition.
      kit::logWarn("skipping an unreadable transaction event",
                   {{"partition", std::to_string(d.partition)}, {"offset", std::to_string(d.offset)}});
      return OkStatus();
    }
    observe(event);
    return OkStatus();
  });
  if (!c.ok()) return c.status().withContext("consuming transaction.events");
  consumer_ = std::move(c).value();
  return OkStatus();
}

void Fraud::stopConsuming() {
  if (consumer_) consumer_->stop();
  consumer_.reset();
}

int64_t Fraud::observedTransactions() const {
  std::lock_guard lock(window_mu_);
  return observed_;
}

int64_t Fraud::velocityCount(const std::string& account_id) {
  ensureLoaded(account_id);
  const int64_t now = toMicros(clock_.now());
  std::lock_guard lock(window_mu_);
  auto it = window_.find(account_id);
  if (it == window_.end()) return 0;
  prune(it->second, now);
  return static_cast<int64_t>(it->second.size());
}

Result<bool> Fraud::cardFrozen(const std::string& card_id) {
  if (!options_.card) return Unavailable("no card service configured");
  auto stub = ::sandbank::bank::card::Card::NewStub(options_.card);
  ::sandbank::bank::card::GetCardRequest req;
  req.set_card_id(card_id);
  ::sandbank::bank::card::CardRecord card;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options_.rules.card_timeout);
  grpc::Status s = stub->Get(&ctx, req, &card);
  if (!s.ok()) {
    return Status(static_cast<StatusCode>(s.error_code()), "card.Get " + card_id + ": " + s.error_message());
  }
  return isBlockedStatus(card.status());
}

Result<bool> Fraud::knownPayee(const std::string& from, const std::string& to) {
  const std::string pair = from + "\n" + to;
  {
    std::lock_guard lock(payees_mu_);
    if (known_payees_.count(pair) != 0) return true;
  }
  kit::StoreCall call;
  call.consistency = options_.consistency;
  auto r = store_.execute(st_->read_payee, {StoreValue::text(from), StoreValue::text(to)}, call);
  if (!r.ok()) return r.status().withContext("reading the payees of " + from);
  if (r->rows.empty()) return false;
  std::lock_guard lock(payees_mu_);
  known_payees_.insert(pair);
  return true;
}

Status Fraud::rememberPayee(const std::string& from, const std::string& to) {
  kit::StoreCall call;
  call.consistency = options_.consistency;
  const int64_t now = toMicros(clock_.now());
  call.timestamp_us = now;
  auto r = store_.execute(st_->insert_payee, {StoreValue::text(from), StoreValue::text(to), StoreValue::integer(now)},
                          call);
  if (!r.ok()) return r.status().withContext("remembering payee " + to + " of " + from);
  std::lock_guard lock(payees_mu_);
  known_payees_.insert(from + "\n" + to);
  return OkStatus();
}

pb::Score Fraud::verdict(int risk, std::vector<std::string> fired, std::vector<std::string> notes) const {
  pb::Score score;
  score.set_risk(std::min(risk, 100));
  score.set_verdict(score.risk() >= options_.rules.block_threshold ? pb::BLOCK : pb::ALLOW);
  for (auto& rule : fired) score.add_rules_fired(std::move(rule));
  std::string reason;
  for (const auto& n : notes) reason += (reason.empty() ? "" : "; ") + n;
  if (reason.empty()) reason = "no rule fired";
  score.set_reason(reason);
  return score;
}

Result<pb::Score> Fraud::scoreAuthorisation(const pb::ScoreAuthorisationRequest& request) {
  if (request.account_id().empty()) return InvalidArgument("account_id is required");
  SANDBANK_RETURN_IF_ERROR(validateMoney(request.amount(), "amount"));
  const FraudRules& rules = options_.rules;
  int risk = 0;
  std::vector<std::string> fired, notes;
  const int64_t count = countAndRecord(request.account_id(), Kind::kCard, request.amount());
  if (count > rules.velocity_max) {
    risk += rules.velocity_weight;
    fired.push_back(kVelocity);
    notes.push_back(std::to_string(count) + " attempts in the velocity window (max " +
                    std::to_string(rules.velocity_max) + ")");
  }
  if (request.amount().minor_units() > rules.amount_threshold) {
    risk += rules.amount_weight;
    fired.push_back(kAmount);
    notes.push_back("amount " + money(request.amount()) + " above " + std::to_string(rules.amount_threshold));
  }
  if (rules.blocked_mccs.count(request.merchant_category_code()) != 0) {
    risk += rules.merchant_category_weight;
    fired.push_back(kMerchantCategory);
    notes.push_back("merchant category " + request.merchant_category_code() + " is blocked");
  }
  if (rules.frozen_card_check && !request.card_id().empty()) {
    using ::sandbank::bank::card::CARD_STATUS_UNSPECIFIED;
    auto frozen = request.card_status() != CARD_STATUS_UNSPECIFIED ? Result<bool>(isBlockedStatus(request.card_status()))
                                                                   : cardFrozen(request.card_id());
    if (!frozen.ok()) {
      // The card-processor checks the card itself; this rule is a second line, so a slow
      // card service does not block the payment. Say so in the reason.
      notes.push_back("card status unchecked (" + frozen.status().toString() + ")");
    } else if (*frozen) {
      risk += rules.frozen_card_weight;
      fired.push_back(kFrozenCard);
      notes.push_back("card " + request.card_id() + " is frozen");
    }
  }
  pb::Score score = verdict(risk, std::move(fired), std::move(notes));
  publish(request.account_id(), "authorisation", score);
  return score;
}

Result<pb::Score> Fraud::scoreTransfer(const pb::ScoreTransferRequest& request) {
  if (request.from_account_id().empty()) return InvalidArgument("from_account_id is required");
  if (request.to_account_id().empty()) return InvalidArgument("to_account_id is required");
  SANDBANK_RETURN_IF_ERROR(validateMoney(request.amount(), "amount"));
  const FraudRules& rules = options_.rules;
  int risk = 0;
  std::vector<std::string> fired, notes;
  const int64_t count = countAndRecord(request.from_account_id(), Kind::kTransfer, request.amount());
  if (count > rules.velocity_max) {
    risk += rules.velocity_weight;
    fired.push_back(kVelocity);
    notes.push_back(std::to_string(count) + " attempts in the velocity window (max " +
                    std::to_string(rules.velocity_max) + ")");
  }
  if (request.amount().minor_units() > rules.amount_threshold) {
    risk += rules.amount_weight;
    fired.push_back(kAmount);
    notes.push_back("amount " + money(request.amount()) + " above " + std::to_string(rules.amount_threshold));
  }
  SANDBANK_ASSIGN_OR_RETURN(bool known, knownPayee(request.from_account_id(), request.to_account_id()));
  if (!known && request.amount().minor_units() > rules.new_payee_threshold) {
    risk += rules.new_payee_weight;
    fired.push_back(kNewPayee);
    notes.push_back("first transfer to " + request.to_account_id() + " and above " +
                    std::to_string(rules.new_payee_threshold));
  }
  pb::Score score = verdict(risk, std::move(fired), std::move(notes));
  if (!known && score.verdict() == pb::ALLOW) {
    // The payee becomes known once a transfer to it was allowed.
    if (Status s = rememberPayee(request.from_account_id(), request.to_account_id()); !s.ok()) {
      kit::logWarn("could not remember a payee", {{"error", s.toString()}});
    }
  }
  publish(request.from_account_id(), "transfer", score);
  return score;
}

void Fraud::publish(const std::string& account_id, const char* subject, const pb::Score& score) {
  if (bus_ == nullptr) return;
  pb::FraudDecision d;
  d.set_account_id(account_id);
  d.set_subject(subject);
  *d.mutable_score() = score;
  d.set_at_us(toMicros(clock_.now()));
  kit::BusMessage m;
  m.key = account_id;
  m.value = d.SerializeAsString();
  m.headers.emplace_back("type", "sandbank.bank.fraud.FraudDecision");
  bus_->send(options_.topic, std::move(m), [account_id](const kit::BusAck& ack) {
    if (!ack.status.ok()) {
      kit::logError("publishing a fraud decision failed",
                    {{"account_id", account_id}, {"error", ack.status.toString()}});
    }
  });
}

}  // namespace sandbank::fraud
