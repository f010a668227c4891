// Faster Payments in and out over the store, the ledger, account, fraud and the scheme
// hub; see payments.h for the flow and its guarantees.
#include "sandbank/fps/payments.h"

#include <grpcpp/grpcpp.h>

#include <cctype>
#include <functional>

#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/fps.grpc.pb.h"
#include "sandbank/bank/fraud.grpc.pb.h"
#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/bankcore/fps_schema.h"
#include "sandbank/bankcore/money.h"
#include "sandbank/kit/log.h"

namespace sandbank::fps {
namespace schema = bank::fps_schema;
namespace accountpb = ::sandbank::bank::account;
namespace fraudpb = ::sandbank::bank::fraud;
namespace ledgerpb = ::sandbank::bank::ledger;
using kit::StoreValue;

struct Payments::Statements {
  kit::StoreStatement insert_row, read_row, transition, open, close, list_open;
};

struct Payments::Stubs {
  std::unique_ptr<accountpb::Account::Stub> account;
  std::unique_ptr<fraudpb::Fraud::Stub> fraud;
  std::unique_ptr<ledgerpb::Ledger::Stub> ledger;
  std::unique_ptr<pb::FpsHub::Stub> hub;
};

// A payment as stored: the record callers see plus what only fps needs.
struct Payments::Row {
  pb::PaymentRecord rec;
  std::string state;  // one of fps_schema's states
  int64_t floor = 0;  // the debit's balance floor (-overdraft when first posted)
  std::string scheme_id;
};

struct Payments::HubAnswer {
  enum Kind { kAck, kReject, kUnanswered } kind = kUnanswered;
  std::string reason;
};

namespace {

constexpr std::string_view kOut = "out";
constexpr std::string_view kIn = "in";

bool isFinal(std::string_view state) {
  return state == schema::kCompleted || state == schema::kReversed || state == schema::kDeclined;
}

pb::PaymentState stateOf(std::string_view state) {
  if (state == schema::kCompleted) return pb::PAYMENT_COMPLETED;
  if (state == schema::kReversed) return pb::PAYMENT_REVERSED;
  if (state == schema::kDeclined) return pb::PAYMENT_DECLINED;
  return pb::PAYMENT_PENDING;  // created, pending, completing, reversing
}

bool digits(const std::string& s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// An upstream's failure as a Status a person can act on.
Status upstreamError(const std::string& service, const grpc::Status& s, std::chrono::milliseconds timeout) {
  switch (s.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Unavailable(service + " did not answer within " + millis(timeout) + "; retry with the same key");
    case grpc::StatusCode::UNAVAILABLE:
      return Unavailable(service + " is unavailable (" + s.error_message() + "); retry with the same key");
    default:
      return Status(static_cast<StatusCode>(s.error_code()), service + ": " + s.error_message());
  }
}

void setDeadline(grpc::ClientContext* ctx, std::chrono::milliseconds timeout) {
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
}

}  // namespace

Payments::Payments(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, FpsUpstreams upstreams,
                   PaymentsOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()),
      stubs_(std::make_unique<Stubs>()) {
  stubs_->account = accountpb::Account::NewStub(upstreams.account);
  stubs_->fraud = fraudpb::Fraud::NewStub(upstreams.fraud);
  stubs_->ledger = ledgerpb::Ledger::NewStub(upstreams.ledger);
  stubs_->hub = pb::FpsHub::NewStub(upstreams.hub);
}

Payments::~Payments() { stopSweeper(); }

Result<std::unique_ptr<Payments>> Payments::open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                                 FpsUpstreams upstreams, PaymentsOptions options) {
  if (!upstreams.account || !upstreams.fraud || !upstreams.ledger || !upstreams.hub) {
    return InvalidArgument("fps needs channels to account, fraud, ledger and fps-hub");
  }
  if (options.hub_attempts < 1) return InvalidArgument("hub_attempts must be at least 1");
  std::unique_ptr<Payments> p(new Payments(store, bus, clock, std::move(upstreams), std::move(options)));
  if (Status s = p->init(); !s.ok()) return s.withContext("fps service start-up");
  return p;
}

Status Payments::init() {
  SANDBANK_RETURN_IF_ERROR(
      store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, schema::kTables));
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&st_->insert_row,
       "INSERT INTO payments (payment_id, account_id, direction, amount, currency, sort_code, account_number, "
       "reference, state, reason, floor, debit_entryset_id, settle_entryset_id, reversal_entryset_id, "
       "scheme_payment_id, created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
       "IF NOT EXISTS"},
      {&st_->read_row,
       "SELECT account_id, direction, amount, currency, sort_code, account_number, reference, state, reason, floor, "
       "debit_entryset_id, settle_entryset_id, reversal_entryset_id, scheme_payment_id, created_us, updated_us "
       "FROM payments WHERE payment_id = ?"},
      {&st_->transition,
       "UPDATE payments SET state = ?, reason = ?, debit_entryset_id = ?, settle_entryset_id = ?, "
       "reversal_entryset_id = ?, updated_us = ? WHERE payment_id = ? IF state = ?"},
      {&st_->open, "INSERT INTO open_payments (bucket, payment_id, since_us) VALUES (?, ?, ?)"},
      {&st_->close, "DELETE FROM open_payments WHERE bucket = ? AND payment_id = ?"},
      {&st_->list_open, "SELECT payment_id, since_us FROM open_payments WHERE bucket = ?"},
  };
  if (Status s = store_.prepareAll(all, std::string(schema::kKeyspace)); !s.ok()) return s;
  auto keys = bank::IdempotencyKeys::open(store_, schema::kKeyspace, options_.consistency, clock_);
  if (!keys.ok()) return keys.status();
  keys_ = std::move(keys).value();
  return OkStatus();
}

kit::StoreCall Payments::readCall() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  return c;
}

kit::StoreCall Payments::writeCall() {
  kit::StoreCall c = readCall();
  c.timestamp_us = timestamps_.next(clock_);
  return c;
}

kit::StoreCall Payments::lwtCall() const {
  kit::StoreCall c = readCall();
  c.serial_consistency = "LOCAL_SERIAL";
  return c;
}

// ---- rows -------------------------------------------------------------------------

Result<std::optional<Payments::Row>> Payments::readRow(const std::string& payment_id) {
  auto r = store_.execute(st_->read_row, {StoreValue::text(payment_id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading payment " + payment_id);
  if (r->rows.empty()) return std::optional<Row>();
  auto cell = [&](const char* c) -> const StoreValue& { return r->cell(0, c); };
  Row row;
  row.state = cell("state").s;
  row.floor = cell("floor").i;
  row.scheme_id = cell("scheme_payment_id").s;
  pb::PaymentRecord& p = row.rec;
  p.set_payment_id(payment_id);
  p.set_account_id(cell("account_id").s);
  p.set_direction(cell("direction").s);
  p.mutable_amount()->set_minor_units(cell("amount").i);
  p.mutable_amount()->set_currency(cell("currency").s);
  p.set_counterparty_sort_code(cell("sort_code").s);
  p.set_counterparty_account_number(cell("account_number").s);
  p.set_reference(cell("reference").s);
  p.set_state(stateOf(row.state));
  p.set_reason(cell("reason").s);
  p.set_debit_entryset_id(cell("debit_entryset_id").s);
  p.set_settle_entryset_id(cell("settle_entryset_id").s);
  p.set_reversal_entryset_id(cell("reversal_entryset_id").s);
  p.set_created_at_us(cell("created_us").i);
  p.set_updated_at_us(cell("updated_us").i);
  return std::optional<Row>(std::move(row));
}

Status Payments::insertRow(const Row& row) {
  const pb::PaymentRecord& p = row.rec;
  auto r = store_.execute(
      st_->insert_row,
      {StoreValue::text(p.payment_id()), StoreValue::text(p.account_id()), StoreValue::text(p.direction()),
       StoreValue::integer(p.amount().minor_units()), StoreValue::text(p.amount().currency()),
       StoreValue::text(p.counterparty_sort_code()), StoreValue::text(p.counterparty_account_number()),
       StoreValue::text(p.reference()), StoreValue::text(row.state), StoreValue::text(p.reason()),
       StoreValue::integer(row.floor), StoreValue::text(p.debit_entryset_id()),
       StoreValue::text(p.settle_entryset_id()), StoreValue::text(p.reversal_entryset_id()),
       StoreValue::text(row.scheme_id), StoreValue::integer(p.created_at_us()), StoreValue::integer(p.updated_at_us())},
      lwtCall());
  if (!r.ok()) return r.status().withContext("writing payment " + p.payment_id());
  if (!r->applied.value_or(false)) return AlreadyExists("payment " + p.payment_id() + " already has a row");
  return OkStatus();
}

Result<bool> Payments::transition(const Row& row, std::string_view from) {
  const pb::PaymentRecord& p = row.rec;
  auto r = store_.execute(st_->transition,
                          {StoreValue::text(row.state), StoreValue::text(p.reason()),
                           StoreValue::text(p.debit_entryset_id()), StoreValue::text(p.settle_entryset_id()),
                           StoreValue::text(p.reversal_entryset_id()), StoreValue::integer(p.updated_at_us()),
                           StoreValue::text(p.payment_id()), StoreValue::text(std::string(from))},
                          lwtCall());
  if (!r.ok()) {
    return r.status().withContext("moving payment " + p.payment_id() + " from " + std::string(from) + " to " +
                                  row.state);
  }
  return r->applied.value_or(false);
}

Status Payments::markOpen(const Row& row) {
  const std::string id = row.rec.payment_id();
  auto r = store_.execute(st_->open,
                          {StoreValue::integer(bank::bucketOf(id, schema::kOpenBuckets)), StoreValue::text(id),
                           StoreValue::integer(row.rec.created_at_us())},
                          writeCall());
  return r.ok() ? OkStatus() : r.status().withContext("listing payment " + id + " as open");
}

Status Payments::markClosed(const Row& row) {
  const std::string id = row.rec.payment_id();
  auto r = store_.execute(st_->close, {StoreValue::integer(bank::bucketOf(id, schema::kOpenBuckets)), StoreValue::text(id)},
                          writeCall());
  return r.ok() ? OkStatus() : r.status().withContext("removing payment " + id + " from the open list");
}

void Payments::publish(const Row& row) {
  if (bus_ == nullptr) return;
  pb::FpsEvent ev;
  *ev.mutable_payment() = row.rec;
  ev.mutable_payment()->set_replayed(false);
  ev.set_at_us(toMicros(clock_.now()));
  kit::BusMessage m;
  m.key = row.rec.account_id();
  m.value = ev.SerializeAsString();
  m.headers.emplace_back("type", "sandbank.bank.fps.FpsEvent");
  const std::string id = row.rec.payment_id();
  bus_->send(options_.topic, std::move(m), [id](const kit::BusAck& ack) {
    if (!ack.status.ok()) kit::logError("publishing an fps event failed", {{"payment_id", id}, {"error", ack.status.toString()}});
  });
}

bool Payments::beginFlight(const std::string& payment_id) {
  std::lock_guard lock(flight_mu_);
  return in_flight_.insert(payment_id).second;
}

void Payments::endFlight(const std::string& payment_id) {
  std::lock_guard lock(flight_mu_);
  in_flight_.erase(payment_id);
}

namespace {
// Ends a flight when it goes out of scope.
class FlightGuard {
 public:
  FlightGuard(std::function<void()> end) : end_(std::move(end)) {}
  ~FlightGuard() { end_(); }
  FlightGuard(const FlightGuard&) = delete;
  FlightGuard& operator=(const FlightGuard&) = delete;

 private:
  std::function<void()> end_;
};
}  // namespace

// ---- upstream calls -----------------------------------------------------------------

Result<std::string> Payments::post(const std::string& key, const std::string& from, const std::string& to,
                                   const Row& row, const std::string& description, bool with_floor) {
  ledgerpb::PostEntrySetRequest req;
  req.set_idempotency_key(key);
  const int64_t amount = row.rec.amount().minor_units();
  const std::string& currency = row.rec.amount().currency();
  auto* debit = req.add_entries();
  debit->set_address(from);
  debit->mutable_amount()->set_minor_units(-amount);
  debit->mutable_amount()->set_currency(currency);
  auto* credit = req.add_entries();
  credit->set_address(to);
  credit->mutable_amount()->set_minor_units(amount);
  credit->mutable_amount()->set_currency(currency);
  req.set_description(description);
  req.set_source("fps");
  req.set_reference(row.rec.payment_id());
  if (with_floor) {
    auto* f = req.add_floors();
    f->set_address(from);
    f->set_currency(currency);
    f->set_minimum_minor_units(row.floor);
  }
  ledgerpb::PostEntrySetResponse resp;
  grpc::ClientContext ctx;
  setDeadline(&ctx, options_.upstream_timeout);
  grpc::Status s = stubs_->ledger->PostEntrySet(&ctx, req, &resp);
  if (!s.ok()) return upstreamError("ledger", s, options_.upstream_timeout).withContext("posting " + key);
  return resp.entryset().entryset_id();
}

Result<Payments::HubAnswer> Payments::submitToHub(const Row& row) {
  pb::HubSubmitRequest req;
  req.set_payment_id(row.rec.payment_id());
  *req.mutable_amount() = row.rec.amount();
  req.set_sort_code(row.rec.counterparty_sort_code());
  req.set_account_number(row.rec.counterparty_account_number());
  int timed_out = 0;
  Status last = OkStatus();
  for (int attempt = 0; attempt < options_.hub_attempts; ++attempt) {
    pb::HubSubmitResponse resp;
    grpc::ClientContext ctx;
    setDeadline(&ctx, options_.hub_timeout);
    grpc::Status s = stubs_->hub->Submit(&ctx, req, &resp);
    if (s.ok()) {
      if (resp.outcome() == pb::HUB_ACK) return HubAnswer{HubAnswer::kAck, ""};
      if (resp.outcome() == pb::HUB_REJECT) {
        return HubAnswer{HubAnswer::kReject,
                         "rejected by the scheme: " + (resp.reason().empty() ? std::string("no reason given") : resp.reason())};
      }
      last = Internal("the scheme answered payment " + row.rec.payment_id() + " without an outcome");
      continue;
    }
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      ++timed_out;
      continue;
    }
    last = upstreamError("fps-hub", s, options_.hub_timeout);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;  // not worth resubmitting
  }
  if (timed_out > 0 && last.ok()) {
    // Every attempt reached the scheme's side and none was answered in time. The same
    // payment id was used each time, so a hub that had taken the payment would have
    // answered a resubmission from its memory: reversing now is safe as far as the hub
    // can tell us.
    return HubAnswer{HubAnswer::kUnanswered, "the scheme did not answer within " + millis(options_.hub_timeout) +
                                                 " (" + std::to_string(timed_out) + " attempt" +
                                                 (timed_out == 1 ? "" : "s") + ")"};
  }
  if (timed_out > 0) {
    return HubAnswer{HubAnswer::kUnanswered, "the scheme did not answer (" + std::to_string(timed_out) +
                                                 " timed out, then: " + last.message() + ")"};
  }
  return last;
}

// ---- the state machine ----------------------------------------------------------------

Result<Payments::Row> Payments::decline(Row row, const std::string& reason, bool inserted) {
  const std::string from = row.state;
  row.state = std::string(schema::kDeclined);
  row.rec.set_state(pb::PAYMENT_DECLINED);
  row.rec.set_reason(reason);
  row.rec.set_updated_at_us(toMicros(clock_.now()));
  if (!inserted) {
    Status s = insertRow(row);
    if (s.code() == StatusCode::kAlreadyExists) {
      SANDBANK_ASSIGN_OR_RETURN(auto existing, readRow(row.rec.payment_id()));
      if (!existing) return Internal("payment " + row.rec.payment_id() + " vanished while being declined");
      return *existing;
    }
    if (!s.ok()) return s;
  } else {
    SANDBANK_ASSIGN_OR_RETURN(bool applied, transition(row, from));
    if (!applied) {
      SANDBANK_ASSIGN_OR_RETURN(auto existing, readRow(row.rec.payment_id()));
      if (!existing) return Internal("payment " + row.rec.payment_id() + " vanished while being declined");
      return *existing;
    }
    if (Status s = markClosed(row); !s.ok()) kit::logWarn("fps: open list not cleaned", {{"error", s.toString()}});
  }
  publish(row);
  return row;
}

Result<Payments::Row> Payments::drive(Row row, bool resolve) {
  const std::string id = row.rec.payment_id();
  const std::string main = bank::mainAddress(bank::AccountId(row.rec.account_id()));
  const std::string suspense(schema::kSuspenseAddress);
  const std::string settlement(schema::kSettlementAddress);
  auto reread = [&]() -> Result<Row> {
    SANDBANK_ASSIGN_OR_RETURN(auto again, readRow(id));
    if (!again) return Internal("payment " + id + " vanished while being processed");
    return *again;
  };
  for (int step = 0; step < 16; ++step) {
    const std::string from = row.state;
    Row next = row;
    next.rec.set_updated_at_us(toMicros(clock_.now()));
    if (from == schema::kCreated) {
      auto es = post("fps:" + id + ":debit", main, suspense, row,
                     "Faster Payment to " + row.rec.counterparty_sort_code() + " " +
                         row.rec.counterparty_account_number(),
                     true);
      if (!es.ok()) {
        if (es.status().code() == StatusCode::kFailedPrecondition &&
            es.status().message().find("insufficient funds") != std::string::npos) {
          return decline(row, "insufficient funds: " + es.status().message(), true);
        }
        return es.status();
      }
      next.state = std::string(schema::kPending);
      next.rec.set_debit_entryset_id(*es);
    } else if (from == schema::kPending) {
      auto answer = submitToHub(row);
      if (!answer.ok()) {
        if (!resolve) {
          // The scheme could not be reached, so it does not have the payment: it stays
          // pending (money in suspense) and the sweeper resubmits it later.
          row.rec.set_reason("the scheme could not be reached; the payment will be resubmitted: " +
                             answer.status().message());
          return row;
        }
        next.state = std::string(schema::kReversing);
        next.rec.set_reason("the scheme could not be reached before the pending timeout: " +
                            answer.status().message());
      } else if (answer->kind == HubAnswer::kAck) {
        next.state = std::string(schema::kCompleting);
      } else {
        next.state = std::string(schema::kReversing);
        next.rec.set_reason(answer->reason);
      }
    } else if (from == schema::kCompleting) {
      SANDBANK_ASSIGN_OR_RETURN(std::string es, post("fps:" + id + ":settle", suspense, settlement, row,
                                                     "Faster Payment " + id + " settled with the scheme", false));
      next.state = std::string(schema::kCompleted);
      next.rec.set_settle_entryset_id(es);
    } else if (from == schema::kReversing) {
      SANDBANK_ASSIGN_OR_RETURN(std::string es, post("fps:" + id + ":reverse", suspense, main, row,
                                                     "Faster Payment " + id + " reversed: " + row.rec.reason(), false));
      next.state = std::string(schema::kReversed);
      next.rec.set_reversal_entryset_id(es);
    } else {
      return row;  // final (or a state this version does not know: leave it alone)
    }
    next.rec.set_state(stateOf(next.state));
    SANDBANK_ASSIGN_OR_RETURN(bool applied, transition(next, from));
    if (!applied) {
      SANDBANK_ASSIGN_OR_RETURN(row, reread());
      continue;
    }
    row = std::move(next);
    if (isFinal(row.state)) {
      if (Status s = markClosed(row); !s.ok()) kit::logWarn("fps: open list not cleaned", {{"error", s.toString()}});
    }
    // Events mark what a customer can see: the debit (pending) and the outcome; the
    // completing / reversing steps in between are fps's own bookkeeping.
    if (row.state != schema::kCompleting && row.state != schema::kReversing) publish(row);
    if (isFinal(row.state)) return row;
  }
  return Internal("payment " + id + " did not settle into a state after 16 steps (now " + row.state + ")");
}

Result<Payments::Row> Payments::driveInbound(Row row) {
  const std::string id = row.rec.payment_id();
  if (row.state != schema::kCreated) return row;
  SANDBANK_ASSIGN_OR_RETURN(
      std::string es, post("fps:" + id + ":credit", std::string(schema::kSettlementAddress),
                           bank::mainAddress(bank::AccountId(row.rec.account_id())), row,
                           "Faster Payment received (scheme id " + row.scheme_id + ")", false));
  Row next = row;
  next.state = std::string(schema::kCompleted);
  next.rec.set_state(pb::PAYMENT_COMPLETED);
  next.rec.set_settle_entryset_id(es);
  next.rec.set_updated_at_us(toMicros(clock_.now()));
  SANDBANK_ASSIGN_OR_RETURN(bool applied, transition(next, schema::kCreated));
  if (!applied) {
    SANDBANK_ASSIGN_OR_RETURN(auto again, readRow(id));
    if (!again) return Internal("payment " + id + " vanished while being credited");
    return *again;
  }
  if (Status s = markClosed(next); !s.ok()) kit::logWarn("fps: open list not cleaned", {{"error", s.toString()}});
  publish(next);
  return next;
}

// ---- RPCs -----------------------------------------------------------------------------

Result<pb::PaymentRecord> Payments::send(const pb::SendRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  if (request.account_id().empty()) return InvalidArgument("account_id is required");
  if (request.amount().minor_units() <= 0) {
    return InvalidArgument("amount.minor_units must be > 0, got " + std::to_string(request.amount().minor_units()));
  }
  if (request.amount().currency() != "GBP") {
    return InvalidArgument("amount.currency must be GBP (Faster Payments are sterling only), got '" +
                           request.amount().currency() + "'");
  }
  if (!digits(request.sort_code(), 6)) {
    return InvalidArgument("sort_code must be 6 digits, got '" + request.sort_code() + "'");
  }
  if (!digits(request.account_number(), 8)) {
    return InvalidArgument("account_number must be 8 digits, got '" + request.account_number() + "'");
  }
  if (request.reference().size() > 18) {
    return InvalidArgument("reference must be at most 18 characters (the scheme's limit), got " +
                           std::to_string(request.reference().size()));
  }
  const std::string fingerprint = request.account_id() + "\n" + std::to_string(request.amount().minor_units()) + " " +
                                  request.amount().currency() + "\n" + request.sort_code() + " " +
                                  request.account_number() + "\n" + request.reference();
  SANDBANK_ASSIGN_OR_RETURN(bank::Claim claim,
                            keys_->claim("send:" + request.idempotency_key(), "send", fingerprint, ids_.next("fps")));
  const std::string id = claim.id;
  if (!claim.fresh) {
    SANDBANK_ASSIGN_OR_RETURN(auto existing, readRow(id));
    if (existing) {
      if (isFinal(existing->state) || !beginFlight(id)) {
        existing->rec.set_replayed(true);
        return existing->rec;
      }
      FlightGuard guard([&] { endFlight(id); });
      SANDBANK_ASSIGN_OR_RETURN(Row done, drive(*existing, false));
      done.rec.set_replayed(true);
      return done.rec;
    }
    // The first attempt claimed the key and stopped before its row: do it now, under
    // the claimed id.
  }
  if (!beginFlight(id)) {
    return Unavailable("an earlier request with idempotency key '" + request.idempotency_key() +
                       "' is still being processed; retry with the same key");
  }
  FlightGuard guard([&] { endFlight(id); });

  accountpb::GetAccountRequest get;
  get.set_account_id(request.account_id());
  accountpb::AccountRecord account;
  {
    grpc::ClientContext ctx;
    setDeadline(&ctx, options_.upstream_timeout);
    grpc::Status s = stubs_->account->Get(&ctx, get, &account);
    if (!s.ok()) return upstreamError("account", s, options_.upstream_timeout);
  }
  const int64_t now = toMicros(clock_.now());
  Row row;
  row.state = std::string(schema::kCreated);
  row.floor = -account.overdraft_limit_minor_units();
  pb::PaymentRecord& p = row.rec;
  p.set_payment_id(id);
  p.set_account_id(request.account_id());
  p.set_direction(std::string(kOut));
  *p.mutable_amount() = request.amount();
  p.set_counterparty_sort_code(request.sort_code());
  p.set_counterparty_account_number(request.account_number());
  p.set_reference(request.reference());
  p.set_state(pb::PAYMENT_PENDING);
  p.set_created_at_us(now);
  p.set_updated_at_us(now);

  if (account.status() != accountpb::ACCOUNT_ACTIVE) {
    SANDBANK_ASSIGN_OR_RETURN(Row r, decline(row, "account " + request.account_id() + " is not active (" +
                                                      accountpb::AccountStatus_Name(account.status()) + ")",
                                             false));
    return r.rec;
  }
  if (account.currency() != "GBP") {
    SANDBANK_ASSIGN_OR_RETURN(Row r, decline(row, "account " + request.account_id() + " holds " + account.currency() +
                                                      "; Faster Payments are sterling only",
                                             false));
    return r.rec;
  }

  fraudpb::ScoreTransferRequest score_req;
  score_req.set_from_account_id(request.account_id());
  score_req.set_to_account_id("fps:" + request.sort_code() + "-" + request.account_number());
  *score_req.mutable_amount() = request.amount();
  score_req.set_external(true);
  fraudpb::Score score;
  grpc::ClientContext fraud_ctx;
  setDeadline(&fraud_ctx, options_.fraud_timeout);
  grpc::Status fs = stubs_->fraud->ScoreTransfer(&fraud_ctx, score_req, &score);
  if (!fs.ok()) {
    const Status why = upstreamError("fraud", fs, options_.fraud_timeout);
    if (options_.fraud_policy == FraudPolicy::kFailClosed) {
      SANDBANK_ASSIGN_OR_RETURN(Row r, decline(row, "the fraud check failed and the policy is fail_closed: " +
                                                        why.message(),
                                               false));
      return r.rec;
    }
    kit::logWarn("fps: fraud check failed; sending anyway (fail_open)", {{"payment_id", id}, {"error", why.toString()}});
  } else if (score.verdict() == fraudpb::BLOCK) {
    SANDBANK_ASSIGN_OR_RETURN(Row r, decline(row, "blocked by fraud checks: " +
                                                      (score.reason().empty() ? std::string("no reason given")
                                                                              : score.reason()),
                                             false));
    return r.rec;
  }

  if (Status s = markOpen(row); !s.ok()) return s;
  if (Status s = insertRow(row); !s.ok()) {
    if (s.code() != StatusCode::kAlreadyExists) return s;
    SANDBANK_ASSIGN_OR_RETURN(auto existing, readRow(id));
    if (!existing) return Internal("payment " + id + " vanished");
    row = std::move(*existing);  // a concurrent retry wrote it first: carry on from there
  }
  SANDBANK_ASSIGN_OR_RETURN(Row done, drive(std::move(row), false));
  return done.rec;
}

Result<pb::PaymentRecord> Payments::handleInbound(const pb::InboundRequest& request) {
  if (request.idempotency_key().empty()) {
    return InvalidArgument("idempotency_key (the scheme's payment id) is required");
  }
  if (request.account_id().empty()) {
    return InvalidArgument("account_id is required (sort code + account number are not resolved to accounts yet)");
  }
  if (request.amount().minor_units() <= 0) {
    return InvalidArgument("amount.minor_units must be > 0, got " + std::to_string(request.amount().minor_units()));
  }
  if (request.amount().currency() != "GBP") {
    return InvalidArgument("amount.currency must be GBP, got '" + request.amount().currency() + "'");
  }
  const std::string fingerprint = request.account_id() + "\n" + std::to_string(request.amount().minor_units()) +
                                  " " + request.amount().currency() + "\n" + request.reference();
  SANDBANK_ASSIGN_OR_RETURN(bank::Claim claim, keys_->claim("scheme:" + request.idempotency_key(), "inbound",
                                                            fingerprint, ids_.next("fpsin")));
  const std::string id = claim.id;
  auto answer = [](Row row, bool replayed) -> Result<pb::PaymentRecord> {
    if (row.state == schema::kDeclined) {
      // Nothing was credited; a replay gets the same refusal.
      if (row.rec.reason().rfind("unknown account", 0) == 0) return NotFound(row.rec.reason());
      return FailedPrecondition(row.rec.reason());
    }
    row.rec.set_replayed(replayed);
    return row.rec;
  };
  if (!claim.fresh) {
    SANDBANK_ASSIGN_OR_RETURN(auto existing, readRow(id));
    if (existing) {
      if (existing->state != schema::kCreated || !beginFlight(id)) return answer(*existing, true);
      FlightGuard guard([&] { endFlight(id); });
      SANDBANK_ASSIGN_OR_RETURN(Row done, driveInbound(*existing));
      return answer(done, true);
    }
  }
  if (!beginFlight(id)) {
    return Unavailable("scheme payment " + request.idempotency_key() + " is still being processed; retry");
  }
  FlightGuard guard([&] { endFlight(id); });

  const int64_t now = toMicros(clock_.now());
  Row row;
  row.state = std::string(schema::kCreated);
  row.scheme_id = request.idempotency_key();
  pb::PaymentRecord& p = row.rec;
  p.set_payment_id(id);
  p.set_account_id(request.account_id());
  p.set_direction(std::string(kIn));
  *p.mutable_amount() = request.amount();
  p.set_counterparty_sort_code(request.sort_code());
  p.set_counterparty_account_number(request.account_number());
  p.set_reference(request.reference());
  p.set_state(pb::PAYMENT_PENDING);
  p.set_created_at_us(now);
  p.set_updated_at_us(now);

  accountpb::GetAccountRequest get;
  get.set_account_id(request.account_id());
  accountpb::AccountRecord account;
  grpc::ClientContext ctx;
  setDeadline(&ctx, options_.upstream_timeout);
  grpc::Status s = stubs_->account->Get(&ctx, get, &account);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    SANDBANK_ASSIGN_OR_RETURN(Row r, decline(row, "unknown account " + request.account_id() +
                                                      ": nothing credited; the scheme should return the payment",
                                             false));
    return answer(r, false);
  }
  if (!s.ok()) return upstreamError("account", s, options_.upstream_timeout);
  if (account.status() == accountpb::ACCOUNT_CLOSED || account.currency() != "GBP") {
    SANDBANK_ASSIGN_OR_RETURN(Row r, decline(row, "account " + request.account_id() +
                                                      (account.status() == accountpb::ACCOUNT_CLOSED
                                                           ? std::string(" is closed")
                                                           : " holds " + account.currency()) +
                                                      ": nothing credited; the scheme should return the payment",
                                             false));
    return answer(r, false);
  }
  if (Status st = markOpen(row); !st.ok()) return st;
  if (Status st = insertRow(row); !st.ok()) {
    if (st.code() != StatusCode::kAlreadyExists) return st;
    SANDBANK_ASSIGN_OR_RETURN(auto existing, readRow(id));
    if (!existing) return Internal("payment " + id + " vanished");
    row = std::move(*existing);
  }
  SANDBANK_ASSIGN_OR_RETURN(Row done, driveInbound(std::move(row)));
  return answer(done, false);
}

Result<pb::PaymentRecord> Payments::getPayment(const std::string& payment_id) {
  if (payment_id.empty()) return InvalidArgument("payment_id is required");
  SANDBANK_ASSIGN_OR_RETURN(auto row, readRow(payment_id));
  if (!row) return NotFound("no payment " + payment_id);
  return row->rec;
}

// ---- the recovery sweeper ---------------------------------------------------------------

SweepReport Payments::sweepOnce() {
  SweepReport report;
  const int64_t now = toMicros(clock_.now());
  const int64_t timeout_us = std::chrono::duration_cast<std::chrono::microseconds>(options_.pending_timeout).count();
  for (int bucket = 0; bucket < schema::kOpenBuckets; ++bucket) {
    auto open = store_.execute(st_->list_open, {StoreValue::integer(bucket)}, readCall());
    if (!open.ok()) {
      kit::logWarn("fps sweeper: cannot list open payments", {{"bucket", std::to_string(bucket)},
                                                              {"error", open.status().toString()}});
      ++report.failed;
      continue;
    }
    for (size_t i = 0; i < open->rows.size(); ++i) {
      const std::string id = open->cell(i, "payment_id").s;
      const int64_t since = open->cell(i, "since_us").i;
      ++report.examined;
      if (!beginFlight(id)) continue;  // a call in this process is on it
      FlightGuard guard([&] { endFlight(id); });
      auto row = readRow(id);
      if (!row.ok()) {
        ++report.failed;
        continue;
      }
      if (!row->has_value()) {
        // Listed, then the process stopped before writing the row: no money moved.
        if (now - since >= timeout_us) {
          Row stub;
          stub.rec.set_payment_id(id);
          if (markClosed(stub).ok()) ++report.resolved;
        }
        continue;
      }
      Row current = std::move(**row);
      if (isFinal(current.state)) {
        (void)markClosed(current);  // final, but the open entry outlived it
        continue;
      }
      if (now - current.rec.updated_at_us() < timeout_us) continue;
      kit::logInfo("fps sweeper: resolving a payment left " + current.state,
                   {{"payment_id", id}, {"account_id", current.rec.account_id()}});
      auto done = current.rec.direction() == kIn ? driveInbound(std::move(current)) : drive(std::move(current), true);
      if (done.ok() && isFinal(done->state)) {
        ++report.resolved;
      } else {
        ++report.failed;
        kit::logWarn("fps sweeper: payment still open", {{"payment_id", id},
                                                         {"error", done.ok() ? done->state : done.status().toString()}});
      }
    }
  }
  return report;
}

void Payments::startSweeper(std::chrono::milliseconds interval) {
  stopSweeper();
  {
    std::lock_guard lock(sweeper_mu_);
    sweeper_stop_ = false;
  }
  sweeper_ = std::thread([this, interval] {
    std::unique_lock lock(sweeper_mu_);
    while (!sweeper_cv_.wait_for(lock, interval, [this] { return sweeper_stop_; })) {
      lock.unlock();
      SweepReport r = sweepOnce();
      if (r.resolved > 0 || r.failed > 0) {
        kit::logInfo("fps sweeper pass", {{"examined", std::to_string(r.examined)},
                                          {"resolved", std::to_string(r.resolved)},
                                          {"failed", std::to_string(r.failed)}});
      }
      lock.lock();
    }
  });
}

void Payments::stopSweeper() {
  {
    std::lock_guard lock(sweeper_mu_);
    sweeper_stop_ = true;
  }
  sweeper_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

}  // namespace sandbank::fps
