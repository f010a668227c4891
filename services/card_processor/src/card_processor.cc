// The card processor over the store and its upstreams; see card_processor.h.
//
//   scheme ─Authorise─▶ claim key       ┐ at  ─▶ account.Get      ┐ at  ─▶
//                       card.GetByToken ┘ once   fraud (deadline) ┘ once
//            policy ─▶ ledger.CreateHold(floor = -overdraft) ─▶ record + expiry row
//            (one batch) ─▶ card.authorisations
//
// Writes to an authorisation row after it is created: the state LWTs (state, end_key,
// ended_us, clearing_key, cleared_amount, force_posted) and plain writes of end_done and
// clearing_entryset_id only. The two sets never share a cell, so a plain write can never
// be ordered before an LWT's commit timestamp on the same cell.
#include "sandbank/card_processor/card_processor.h"

#include <grpcpp/grpcpp.h>

#include <functional>
#include <future>

#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/card.grpc.pb.h"
#include "sandbank/bank/fraud.grpc.pb.h"
#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/bankcore/card_processor_schema.h"
#include "sandbank/bankcore/money.h"
#include "sandbank/kit/log.h"

namespace sandbank::card_processor {
namespace schema = bank::card_processor_schema;
namespace card_pb = ::sandbank::bank::card;
namespace account_pb = ::sandbank::bank::account;
namespace fraud_pb = ::sandbank::bank::fraud;
namespace ledger_pb = ::sandbank::bank::ledger;
using kit::StoreRows;
using kit::StoreValue;

struct CardProcessor::Statements {
  kit::StoreStatement insert_approved, insert_declined, read, end_state, force_clearing, set_end_done,
      set_clearing_entryset, read_expiry, delete_expiry;
};

namespace {
// One unary call in flight on gRPC's callback API:
//   stub->async()->Method(&c.ctx, &c.req, &c.resp, c.callback());  ...  c.wait()
// Its destructor waits for the answer, so no early return can free what the call still
// writes to.
template <typename Request, typename Response>
struct PendingCall {
  Request req;
  Response resp;
  grpc::ClientContext ctx;
  std::promise<grpc::Status> done;
  std::future<grpc::Status> result = done.get_future();
  bool waited = false;

  std::function<void(grpc::Status)> callback() {
    return [this](grpc::Status s) { done.set_value(std::move(s)); };
  }
  grpc::Status wait() {
    waited = true;
    return result.get();
  }
  ~PendingCall() {
    if (!waited) result.wait();
  }
};
using FraudCall = PendingCall<fraud_pb::ScoreAuthorisationRequest, fraud_pb::Score>;
}  // namespace

struct CardProcessor::CardLookup : PendingCall<card_pb::GetByTokenRequest, card_pb::CardRecord> {};

struct CardProcessor::Stubs {
  std::unique_ptr<card_pb::Card::Stub> card;
  std::unique_ptr<account_pb::Account::Stub> account;
  std::unique_ptr<fraud_pb::Fraud::Stub> fraud;
  std::unique_ptr<ledger_pb::Ledger::Stub> ledger;
};

// An authorisation row: the record callers see plus the columns that drive transitions.
struct CardProcessor::Stored {
  pb::AuthorisationRecord record;
  std::string state;  // as stored (schema::kApproved, ...)
  std::string end_key;
  bool end_done = false;
  std::string clearing_key;
};

namespace {

constexpr const char* kSource = "card-processor";

pb::AuthorisationState stateOf(const std::string& s) {
  if (s == schema::kApproved) return pb::AUTH_APPROVED;
  if (s == schema::kDeclined) return pb::AUTH_DECLINED;
  if (s == schema::kCleared) return pb::AUTH_CLEARED;
  if (s == schema::kReversed) return pb::AUTH_REVERSED;
  if (s == schema::kExpired) return pb::AUTH_EXPIRED;
  return pb::AUTHORISATION_STATE_UNSPECIFIED;
}

// Fills a Stored from row 0 of `rows` (a SELECT or the current row of a failed LWT).
CardProcessor::Stored storedOf(const StoreRows& rows, const std::string& authorisation_id) {
  CardProcessor::Stored s;
  pb::AuthorisationRecord& r = s.record;
  r.set_authorisation_id(authorisation_id);
  r.set_idempotency_key(rows.cell(0, "idempotency_key").s);
  r.set_account_id(rows.cell(0, "account_id").s);
  r.set_card_id(rows.cell(0, "card_id").s);
  r.mutable_amount()->set_minor_units(rows.cell(0, "amount").i);
  r.mutable_amount()->set_currency(rows.cell(0, "currency").s);
  if (!r.mutable_merchant()->ParseFromString(rows.cell(0, "merchant").s)) r.clear_merchant();
  s.state = rows.cell(0, "state").s;
  r.set_state(stateOf(s.state));
  r.set_hold_id(rows.cell(0, "hold_id").s);
  r.set_decline_reason(rows.cell(0, "decline_reason").s);
  r.set_fraud_check(rows.cell(0, "fraud_check").s);
  r.set_created_at_us(rows.cell(0, "created_us").i);
  r.set_expires_at_us(rows.cell(0, "expires_us").i);
  r.set_ended_at_us(rows.cell(0, "ended_us").i);
  s.end_key = rows.cell(0, "end_key").s;
  s.end_done = rows.cell(0, "end_done").i != 0;
  s.clearing_key = rows.cell(0, "clearing_key").s;
  if (!s.clearing_key.empty()) {
    r.mutable_cleared_amount()->set_minor_units(rows.cell(0, "cleared_amount").i);
    r.mutable_cleared_amount()->set_currency(r.amount().currency());
  }
  r.set_clearing_entryset_id(rows.cell(0, "clearing_entryset_id").s);
  r.set_force_posted(rows.cell(0, "force_posted").i != 0);
  return s;
}

pb::AuthoriseResponse responseOf(const pb::AuthorisationRecord& r, bool replayed) {
  pb::AuthoriseResponse out;
  out.set_authorisation_id(r.authorisation_id());
  out.set_decision(r.state() == pb::AUTH_DECLINED ? pb::DECLINED : pb::APPROVED);
  out.set_decline_reason(r.decline_reason());
  out.set_hold_id(r.hold_id());
  out.set_replayed(replayed);
  return out;
}

// An upstream's failure as the status the scheme gets: nothing was decided, retransmit.
Status upstreamError(const std::string& service, const grpc::Status& s, std::chrono::milliseconds timeout) {
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Unavailable(service + " did not answer within " + std::to_string(timeout.count()) +
                       "ms; nothing was decided, retransmit the message");
  }
  return Unavailable(service + " failed (" + std::to_string(static_cast<int>(s.error_code())) +
                     "): " + s.error_message() + "; nothing was decided, retransmit the message");
}

void setDeadline(grpc::ClientContext* ctx, std::chrono::milliseconds timeout) {
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
}

std::string holdKey(const std::string& authorisation_id) { return "card-processor:hold:" + authorisation_id; }
std::string releaseKey(const std::string& authorisation_id) { return "card-processor:release:" + authorisation_id; }
std::string clearingKey(const std::string& authorisation_id) { return "card-processor:clearing:" + authorisation_id; }

}  // namespace

Result<FraudPolicy> parseFraudPolicy(std::string_view text) {
  if (text == "fail_open") return FraudPolicy::kFailOpen;
  if (text == "fail_closed") return FraudPolicy::kFailClosed;
  return InvalidArgument("fraud policy must be fail_open or fail_closed, got '" + std::string(text) + "'");
}

std::string_view fraudPolicyName(FraudPolicy policy) {
  return policy == FraudPolicy::kFailOpen ? "fail_open" : "fail_closed";
}

CardProcessor::CardProcessor(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                             CardProcessorOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()),
      stubs_(std::make_unique<Stubs>()) {}

CardProcessor::~CardProcessor() = default;

Result<std::unique_ptr<CardProcessor>> CardProcessor::open(kit::StoreClient& store, kit::BusProducer* bus,
                                                           const Clock& clock, Upstreams upstreams,
                                                           CardProcessorOptions options) {
  if (!upstreams.card || !upstreams.account || !upstreams.fraud || !upstreams.ledger) {
    return InvalidArgument("the card processor needs channels to card, account, fraud and ledger");
  }
  if (Status s = bank::validateAddress(options.scheme_address); !s.ok()) return s.withContext("scheme address");
  if (options.sweep_batch <= 0) return InvalidArgument("sweep_batch must be positive");
  std::unique_ptr<CardProcessor> p(new CardProcessor(store, bus, clock, std::move(options)));
  if (Status s = p->init(std::move(upstreams)); !s.ok()) return s.withContext("card processor start-up");
  return p;
}

Status CardProcessor::init(Upstreams upstreams) {
  stubs_->card = card_pb::Card::NewStub(upstreams.card);
  stubs_->account = account_pb::Account::NewStub(upstreams.account);
  stubs_->fraud = fraud_pb::Fraud::NewStub(upstreams.fraud);
  stubs_->ledger = ledger_pb::Ledger::NewStub(upstreams.ledger);
  SANDBANK_RETURN_IF_ERROR(
      store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, schema::kTables));
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&st_->insert_approved,
       "BEGIN BATCH INSERT INTO authorisations (authorisation_id, idempotency_key, account_id, card_id, amount, "
       "currency, merchant, state, decline_reason, fraud_check, hold_id, created_us, expires_us, end_key, ended_us, "
       "end_done, clearing_key, cleared_amount, clearing_entryset_id, force_posted) VALUES (?, ?, ?, ?, ?, ?, ?, "
       "'approved', '', ?, ?, ?, ?, '', 0, false, '', 0, '', false); "
       "INSERT INTO hold_expiry (bucket, expires_us, authorisation_id) VALUES (?, ?, ?); APPLY BATCH"},
      {&st_->insert_declined,
       "INSERT INTO authorisations (authorisation_id, idempotency_key, account_id, card_id, amount, currency, "
       "merchant, state, decline_reason, fraud_check, hold_id, created_us, expires_us, end_key, ended_us, end_done, "
       "clearing_key, cleared_amount, clearing_entryset_id, force_posted) VALUES (?, ?, ?, ?, ?, ?, ?, 'declined', "
       "?, ?, '', ?, 0, '', 0, false, '', 0, '', false)"},
      {&st_->read,
       "SELECT idempotency_key, account_id, card_id, amount, currency, merchant, state, decline_reason, fraud_check, "
       "hold_id, created_us, expires_us, end_key, ended_us, end_done, clearing_key, cleared_amount, "
       "clearing_entryset_id, force_posted FROM authorisations WHERE authorisation_id = ?"},
      {&st_->end_state,
       "UPDATE authorisations SET state = ?, end_key = ?, ended_us = ?, clearing_key = ?, cleared_amount = ? "
       "WHERE authorisation_id = ? IF state = 'approved'"},
      {&st_->force_clearing,
       "UPDATE authorisations SET clearing_key = ?, cleared_amount = ?, force_posted = true "
       "WHERE authorisation_id = ? IF clearing_key = ''"},
      {&st_->set_end_done, "UPDATE authorisations SET end_done = true WHERE authorisation_id = ?"},
      {&st_->set_clearing_entryset,
       "UPDATE authorisations SET clearing_entryset_id = ? WHERE authorisation_id = ?"},
      {&st_->read_expiry,
       "SELECT expires_us, authorisation_id FROM hold_expiry WHERE bucket = ? AND expires_us <= ? LIMIT ?"},
      {&st_->delete_expiry,
       "DELETE FROM hold_expiry WHERE bucket = ? AND expires_us = ? AND authorisation_id = ?"},
  };
  if (Status s = store_.prepareAll(all, std::string(schema::kKeyspace)); !s.ok()) return s;
  auto keys = bank::IdempotencyKeys::open(store_, schema::kKeyspace, options_.consistency, clock_);
  if (!keys.ok()) return keys.status();
  keys_ = std::move(keys).value();
  return OkStatus();
}

kit::StoreCall CardProcessor::readCall() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  return c;
}

kit::StoreCall CardProcessor::writeCall() {
  kit::StoreCall c = readCall();
  c.timestamp_us = timestamps_.next(clock_);
  return c;
}

kit::StoreCall CardProcessor::lwtCall() const {
  kit::StoreCall c = readCall();
  c.serial_consistency = "LOCAL_SERIAL";
  return c;
}

bool CardProcessor::beginFlight(const std::string& key) {
  std::lock_guard lock(flight_mu_);
  return in_flight_.insert(key).second;
}

void CardProcessor::endFlight(const std::string& key) {
  std::lock_guard lock(flight_mu_);
  in_flight_.erase(key);
}

Result<CardProcessor::Stored> CardProcessor::readStored(const std::string& authorisation_id) {
  auto r = store_.execute(st_->read, {StoreValue::text(authorisation_id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading authorisation " + authorisation_id);
  if (r->rows.empty()) return NotFound("no authorisation " + authorisation_id);
  return storedOf(*r, authorisation_id);
}

Result<pb::AuthorisationRecord> CardProcessor::getAuthorisation(const std::string& authorisation_id) {
  if (authorisation_id.empty()) return InvalidArgument("authorisation_id is required");
  SANDBANK_ASSIGN_OR_RETURN(Stored s, readStored(authorisation_id));
  return s.record;
}

// --- Authorise

Result<pb::AuthoriseResponse> CardProcessor::authorise(const pb::AuthoriseRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key (the scheme message id) is required");
  if (request.card_token().empty()) return InvalidArgument("card_token is required");
  if (Status s = bank::validateCurrency(request.amount().currency()); !s.ok()) return s.withContext("amount.currency");
  if (request.amount().minor_units() <= 0) {
    return InvalidArgument("amount.minor_units must be positive, got " + std::to_string(request.amount().minor_units()));
  }
  const std::string fingerprint = request.card_token() + "\n" + std::to_string(request.amount().minor_units()) + " " +
                                  request.amount().currency() + "\n" + request.merchant().SerializeAsString();
  // The card is read while the key is claimed: a read only, wasted at worst on a
  // retransmission that turns out to be a replay.
  CardLookup card_lookup;
  card_lookup.req.set_token(request.card_token());
  setDeadline(&card_lookup.ctx, options_.upstream_timeout);
  stubs_->card->async()->GetByToken(&card_lookup.ctx, &card_lookup.req, &card_lookup.resp, card_lookup.callback());
  SANDBANK_ASSIGN_OR_RETURN(bank::Claim claim,
                            keys_->claim(request.idempotency_key(), "authorisation", fingerprint, ids_.next("auth")));
  if (!beginFlight(request.idempotency_key())) {
    return Unavailable("authorisation message '" + request.idempotency_key() +
                       "' is still being decided; retransmit it shortly");
  }
  Result<pb::AuthoriseResponse> out = [&]() -> Result<pb::AuthoriseResponse> {
    if (!claim.fresh) {
      auto stored = readStored(claim.id);
      if (stored.ok()) return responseOf(stored->record, /*replayed=*/true);
      if (stored.status().code() != StatusCode::kNotFound) return stored.status();
      // The first attempt stopped before its record: decide again under the claimed id.
    }
    return decide(request, claim.id, /*recovering=*/!claim.fresh, card_lookup);
  }();
  endFlight(request.idempotency_key());
  return out;
}

Result<pb::AuthoriseResponse> CardProcessor::decide(const pb::AuthoriseRequest& request,
                                                    const std::string& authorisation_id, bool recovering,
                                                    CardLookup& card_lookup) {
  pb::AuthorisationRecord rec;
  rec.set_authorisation_id(authorisation_id);
  rec.set_idempotency_key(request.idempotency_key());
  *rec.mutable_amount() = request.amount();
  *rec.mutable_merchant() = request.merchant();
  rec.set_created_at_us(toMicros(clock_.now()));

  // 1. The card: valid and not frozen?
  {
    grpc::Status s = card_lookup.wait();
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return decline(rec, "card_invalid", request.card_token());
    if (!s.ok()) return upstreamError("the card service", s, options_.upstream_timeout);
  }
  const card_pb::CardRecord& card = card_lookup.resp;
  rec.set_card_id(card.card_id());
  rec.set_account_id(card.account_id());
  const std::string address = bank::mainAddress(bank::AccountId(card.account_id()));

  if (recovering) {
    // The earlier attempt may have taken the hold before it stopped: then it had passed
    // every check, and its approval stands (no second hold, whatever the checks say now).
    ledger_pb::ListHoldsRequest req;
    req.set_address(address);
    req.set_active_only(true);
    ledger_pb::ListHoldsResponse holds;
    grpc::ClientContext ctx;
    setDeadline(&ctx, options_.upstream_timeout);
    grpc::Status s = stubs_->ledger->ListHolds(&ctx, req, &holds);
    if (!s.ok()) return upstreamError("the ledger", s, options_.upstream_timeout);
    for (const auto& h : holds.holds()) {
      if (h.reference() == authorisation_id && h.idempotency_key() == holdKey(authorisation_id)) {
        kit::logWarn("finishing an authorisation that stopped after its hold",
                     {{"authorisation_id", authorisation_id}, {"hold_id", h.hold_id()}});
        rec.set_hold_id(h.hold_id());
        rec.set_created_at_us(h.created_at_us());
        rec.set_expires_at_us(h.expires_at_us());
        rec.set_fraud_check("recovered");
        return approve(rec);
      }
    }
  }

  if (card.status() == card_pb::CARD_FROZEN) return decline(rec, "card_frozen", request.card_token());
  if (card.status() != card_pb::CARD_ACTIVE) return decline(rec, "card_invalid", request.card_token());

  // 2 and 3 at once: fraud scores under its own deadline while the account is read. Both
  // only read (fraud counts the attempt for velocity, as it would for any decline after
  // it), so neither waits for the other. The score is waited for before any return.
  FraudCall fraud;
  fraud.req.set_account_id(card.account_id());
  fraud.req.set_card_id(card.card_id());
  fraud.req.set_card_status(card.status());  // spares fraud its own card.Get
  *fraud.req.mutable_amount() = request.amount();
  fraud.req.set_merchant_category_code(request.merchant().category_code());
  fraud.req.set_merchant_country(request.merchant().country());
  setDeadline(&fraud.ctx, options_.fraud_timeout);
  stubs_->fraud->async()->ScoreAuthorisation(&fraud.ctx, &fraud.req, &fraud.resp, fraud.callback());

  // 2. The account: active, and its overdraft limit for the hold's floor.
  account_pb::AccountRecord account;
  {
    account_pb::GetAccountRequest req;
    req.set_account_id(card.account_id());
    grpc::ClientContext ctx;
    setDeadline(&ctx, options_.upstream_timeout);
    grpc::Status s = stubs_->account->Get(&ctx, req, &account);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return decline(rec, "account_inactive", request.card_token());
    if (!s.ok()) return upstreamError("the account service", s, options_.upstream_timeout);
  }
  if (account.status() != account_pb::ACCOUNT_ACTIVE) return decline(rec, "account_inactive", request.card_token());
  if (!account.currency().empty() && account.currency() != request.amount().currency()) {
    return decline(rec, "currency_not_supported", request.card_token());
  }

  // 3. Fraud: a missing score is decided by the policy.
  {
    const grpc::Status s = fraud.wait();
    if (s.ok()) {
      if (fraud.resp.verdict() == fraud_pb::BLOCK) {
        rec.set_fraud_check("block");
        return decline(rec, "fraud", request.card_token());
      }
      rec.set_fraud_check("allow");
    } else {
      const bool timeout = s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
      rec.set_fraud_check(std::string(timeout ? "timeout:" : "unavailable:") +
                          std::string(fraudPolicyName(options_.fraud_policy)));
      kit::logWarn("fraud score missing; the policy decides",
                   {{"authorisation_id", authorisation_id}, {"fraud_check", rec.fraud_check()},
                    {"error", s.error_message()}});
      if (options_.fraud_policy == FraudPolicy::kFailClosed) {
        return decline(rec, timeout ? "fraud_timeout" : "fraud_unavailable", request.card_token());
      }
    }
  }

  // 4. The hold, with available not allowed below -overdraft.
  {
    const int64_t now_us = toMicros(clock_.now());
    ledger_pb::CreateHoldRequest req;
    req.set_idempotency_key(holdKey(authorisation_id));
    req.set_address(address);
    *req.mutable_amount() = request.amount();
    req.set_reference(authorisation_id);
    req.set_expires_at_us(now_us + options_.hold_ttl.count());
    req.set_has_floor(true);
    req.set_minimum_available_minor_units(-account.overdraft_limit_minor_units());
    ledger_pb::Hold hold;
    grpc::ClientContext ctx;
    setDeadline(&ctx, options_.upstream_timeout);
    grpc::Status s = stubs_->ledger->CreateHold(&ctx, req, &hold);
    // The ledger refuses a hold below its floor with FAILED_PRECONDITION "insufficient
    // funds ..." (and answers a retry of that refusal the same way).
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
        s.error_message().find("insufficient funds") != std::string::npos) {
      return decline(rec, "insufficient_funds", request.card_token());
    }
    if (!s.ok()) return upstreamError("the ledger", s, options_.upstream_timeout);
    rec.set_hold_id(hold.hold_id());
    rec.set_created_at_us(now_us);
    rec.set_expires_at_us(req.expires_at_us());
  }
  return approve(rec);
}

Result<pb::AuthoriseResponse> CardProcessor::decline(pb::AuthorisationRecord record, const std::string& reason,
                                                     const std::string& card_token) {
  record.set_state(pb::AUTH_DECLINED);
  record.set_decline_reason(reason);
  auto w = store_.execute(st_->insert_declined,
                          {StoreValue::text(record.authorisation_id()), StoreValue::text(record.idempotency_key()),
                           StoreValue::text(record.account_id()), StoreValue::text(record.card_id()),
                           StoreValue::integer(record.amount().minor_units()),
                           StoreValue::text(record.amount().currency()),
                           StoreValue::blob(record.merchant().SerializeAsString()), StoreValue::text(reason),
                           StoreValue::text(record.fraud_check()), StoreValue::integer(record.created_at_us())},
                          writeCall());
  if (!w.ok()) return w.status().withContext("recording declined authorisation " + record.authorisation_id());
  publishAuthorisation(record, card_token);
  return responseOf(record, /*replayed=*/false);
}

Result<pb::AuthoriseResponse> CardProcessor::approve(pb::AuthorisationRecord record) {
  record.set_state(pb::AUTH_APPROVED);
  const std::string& id = record.authorisation_id();
  // The record and its expiry row in one logged batch: an approval the sweeper cannot
  // find would keep its hold for ever.
  auto w = store_.execute(
      st_->insert_approved,
      {StoreValue::text(id), StoreValue::text(record.idempotency_key()), StoreValue::text(record.account_id()),
       StoreValue::text(record.card_id()), StoreValue::integer(record.amount().minor_units()),
       StoreValue::text(record.amount().currency()), StoreValue::blob(record.merchant().SerializeAsString()),
       StoreValue::text(record.fraud_check()), StoreValue::text(record.hold_id()),
       StoreValue::integer(record.created_at_us()), StoreValue::integer(record.expires_at_us()),
       StoreValue::integer(bank::bucketOf(id, schema::kExpiryBuckets)), StoreValue::integer(record.expires_at_us()),
       StoreValue::text(id)},
      writeCall());
  if (!w.ok()) return w.status().withContext("recording approved authorisation " + id);
  publishAuthorisation(record, record.account_id());
  return responseOf(record, /*replayed=*/false);
}

// --- Ends of an approved authorisation: reversal and expiry

Status CardProcessor::dropExpiryRow(const std::string& authorisation_id, int64_t expires_us) {
  auto d = store_.execute(st_->delete_expiry,
                          {StoreValue::integer(bank::bucketOf(authorisation_id, schema::kExpiryBuckets)),
                           StoreValue::integer(expires_us), StoreValue::text(authorisation_id)},
                          writeCall());
  return d.ok() ? OkStatus() : d.status().withContext("dropping the expiry row of " + authorisation_id);
}

Status CardProcessor::finishEnd(Stored& stored, bool expired) {
  pb::AuthorisationRecord& rec = stored.record;
  ledger_pb::ReleaseHoldRequest req;
  req.set_idempotency_key(releaseKey(rec.authorisation_id()));
  req.set_hold_id(rec.hold_id());
  req.set_expired(expired);
  ledger_pb::Hold hold;
  grpc::ClientContext ctx;
  setDeadline(&ctx, options_.upstream_timeout);
  grpc::Status s = stubs_->ledger->ReleaseHold(&ctx, req, &hold);
  if (!s.ok()) {
    return upstreamError("the ledger (releasing hold " + rec.hold_id() + " of " + rec.authorisation_id() + ")", s,
                         options_.upstream_timeout);
  }
  publishAuthorisation(rec, rec.account_id());
  auto done = store_.execute(st_->set_end_done, {StoreValue::text(rec.authorisation_id())}, writeCall());
  if (!done.ok()) return done.status().withContext("marking the end of " + rec.authorisation_id());
  stored.end_done = true;
  return dropExpiryRow(rec.authorisation_id(), rec.expires_at_us());
}

Result<pb::ReverseResponse> CardProcessor::reverse(const pb::ReverseRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key (the scheme message id) is required");
  if (request.authorisation_id().empty()) return InvalidArgument("authorisation_id is required");
  SANDBANK_ASSIGN_OR_RETURN(bank::Claim claim, keys_->claim(request.idempotency_key(), "reversal",
                                                            request.authorisation_id(), ids_.next("rev")));
  const std::string& id = request.authorisation_id();
  SANDBANK_ASSIGN_OR_RETURN(Stored stored, readStored(id));
  pb::ReverseResponse out;
  out.set_authorisation_id(id);
  for (int round = 0; round < 5; ++round) {
    if (stored.state == schema::kDeclined) {
      return FailedPrecondition("authorisation " + id + " was declined (" + stored.record.decline_reason() +
                                "); there is no hold to reverse");
    }
    if (stored.state == schema::kCleared) {
      return FailedPrecondition("authorisation " + id + " was already cleared by message '" + stored.clearing_key +
                                "'; money that has settled comes back as a refund, not a reversal");
    }
    if (stored.state == schema::kExpired) {
      return FailedPrecondition("authorisation " + id + " expired; its hold has already ended");
    }
    if (stored.state == schema::kReversed) {
      if (stored.end_key != request.idempotency_key()) {
        out.set_replayed(true);  // reversed by another message: nothing changes, no event
        return out;
      }
      if (stored.end_done) {
        out.set_replayed(!claim.fresh);
        return out;
      }
      if (Status s = finishEnd(stored, /*expired=*/false); !s.ok()) return s;  // ours, unfinished
      return out;
    }
    if (stored.state != schema::kApproved) return Internal("authorisation " + id + " is in unknown state '" + stored.state + "'");
    const int64_t now_us = toMicros(clock_.now());
    auto r = store_.execute(st_->end_state,
                            {StoreValue::text(std::string(schema::kReversed)), StoreValue::text(request.idempotency_key()),
                             StoreValue::integer(now_us), StoreValue::text(""), StoreValue::integer(0),
                             StoreValue::text(id)},
                            lwtCall());
    if (!r.ok()) return r.status().withContext("reversing authorisation " + id);
    if (r->applied.value_or(false)) {
      stored.state = std::string(schema::kReversed);
      stored.record.set_state(pb::AUTH_REVERSED);
      stored.end_key = request.idempotency_key();
      stored.record.set_ended_at_us(now_us);
      if (Status s = finishEnd(stored, /*expired=*/false); !s.ok()) return s;
      return out;
    }
    stored = storedOf(*r, id);  // moved meanwhile (a clearing, the sweeper): look again
  }
  return Aborted("authorisation " + id + " kept changing under the reversal; retransmit it");
}

Result<pb::ExpireHoldsResponse> CardProcessor::expireHolds() {
  std::lock_guard sweep(sweep_mu_);
  const int64_t now_us = toMicros(clock_.now());
  pb::ExpireHoldsResponse out;
  Status first_error;
  for (int bucket = 0; bucket < schema::kExpiryBuckets; ++bucket) {
    for (;;) {
      auto rows = store_.execute(st_->read_expiry,
                                 {StoreValue::integer(bucket), StoreValue::integer(now_us),
                                  StoreValue::integer(options_.sweep_batch)},
                                 readCall());
      if (!rows.ok()) {
        if (first_error.ok()) first_error = rows.status().withContext("reading expiry bucket " + std::to_string(bucket));
        break;
      }
      bool all_done = true;
      for (size_t i = 0; i < rows->rows.size(); ++i) {
        const std::string id = rows->cell(i, "authorisation_id").s;
        auto expired = expireOne(id, rows->cell(i, "expires_us").i, now_us);
        if (!expired.ok()) {
          kit::logWarn("could not expire an authorisation; the next sweep retries",
                       {{"authorisation_id", id}, {"error", expired.status().toString()}});
          if (first_error.ok()) first_error = expired.status();
          all_done = false;
        } else if (*expired) {
          out.set_expired(out.expired() + 1);
        }
      }
      // A full page whose rows are all gone may have more behind it; a failure waits for
      // the next sweep rather than spinning on the same row.
      if (!all_done || rows->rows.size() < static_cast<size_t>(options_.sweep_batch)) break;
    }
  }
  if (out.expired() == 0 && !first_error.ok()) return first_error;
  return out;
}

Result<bool> CardProcessor::expireOne(const std::string& authorisation_id, int64_t expires_us, int64_t now_us) {
  auto read = readStored(authorisation_id);
  if (read.status().code() == StatusCode::kNotFound) {
    SANDBANK_RETURN_IF_ERROR(dropExpiryRow(authorisation_id, expires_us));
    return false;
  }
  if (!read.ok()) return read.status();
  Stored stored = std::move(read).value();
  for (int round = 0; round < 5; ++round) {
    if (stored.state == schema::kExpired && stored.end_key == schema::kExpiryEndKey) {
      if (stored.end_done) {  // an earlier sweep finished all but this row
        SANDBANK_RETURN_IF_ERROR(dropExpiryRow(authorisation_id, expires_us));
        return false;
      }
      SANDBANK_RETURN_IF_ERROR(finishEnd(stored, /*expired=*/true));
      return true;
    }
    if (stored.state != schema::kApproved) {
      // Cleared or reversed: that path ends the hold (its message's retransmission
      // finishes it); the expiry row just goes.
      SANDBANK_RETURN_IF_ERROR(dropExpiryRow(authorisation_id, expires_us));
      return false;
    }
    if (stored.record.expires_at_us() > now_us) return false;
    auto r = store_.execute(st_->end_state,
                            {StoreValue::text(std::string(schema::kExpired)),
                             StoreValue::text(std::string(schema::kExpiryEndKey)), StoreValue::integer(now_us),
                             StoreValue::text(""), StoreValue::integer(0), StoreValue::text(authorisation_id)},
                            lwtCall());
    if (!r.ok()) return r.status().withContext("expiring authorisation " + authorisation_id);
    if (r->applied.value_or(false)) {
      stored.state = std::string(schema::kExpired);
      stored.record.set_state(pb::AUTH_EXPIRED);
      stored.end_key = std::string(schema::kExpiryEndKey);
      stored.record.set_ended_at_us(now_us);
      continue;  // finish it above
    }
    stored = storedOf(*r, authorisation_id);
  }
  return Aborted("authorisation " + authorisation_id + " kept changing under the sweeper");
}

// --- Clearing

Result<pb::ClearingResponse> CardProcessor::applyClearing(const pb::ClearingRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key (the scheme message id) is required");
  if (request.authorisation_id().empty()) return InvalidArgument("authorisation_id is required");
  if (Status s = bank::validateCurrency(request.amount().currency()); !s.ok()) return s.withContext("amount.currency");
  if (request.amount().minor_units() <= 0) {
    return InvalidArgument("amount.minor_units (the presented amount) must be positive, got " +
                           std::to_string(request.amount().minor_units()));
  }
  const std::string& id = request.authorisation_id();
  const int64_t amount = request.amount().minor_units();
  SANDBANK_ASSIGN_OR_RETURN(
      bank::Claim claim,
      keys_->claim(request.idempotency_key(), "clearing",
                   id + "\n" + std::to_string(amount) + " " + request.amount().currency(), ids_.next("clr")));
  SANDBANK_ASSIGN_OR_RETURN(Stored stored, readStored(id));
  if (stored.record.amount().currency() != request.amount().currency()) {
    return InvalidArgument("amount.currency " + request.amount().currency() + " differs from the authorisation's " +
                           stored.record.amount().currency());
  }
  pb::ClearingResponse out;
  out.set_authorisation_id(id);
  // Decide, by LWT, that this presentment is the one that clears the authorisation.
  bool ours = false;
  for (int round = 0; round < 5 && !ours; ++round) {
    if (stored.state == schema::kDeclined) {
      return FailedPrecondition("authorisation " + id + " was declined (" + stored.record.decline_reason() +
                                "); it cannot be cleared");
    }
    if (stored.clearing_key == request.idempotency_key()) {
      ours = true;
      break;
    }
    if (!stored.clearing_key.empty()) {
      return FailedPrecondition("authorisation " + id + " was already cleared by message '" + stored.clearing_key +
                                "'; it is never settled twice");
    }
    const int64_t now_us = toMicros(clock_.now());
    Result<StoreRows> r = Internal("unreachable");
    if (stored.state == schema::kApproved) {
      r = store_.execute(st_->end_state,
                         {StoreValue::text(std::string(schema::kCleared)), StoreValue::text(request.idempotency_key()),
                          StoreValue::integer(now_us), StoreValue::text(request.idempotency_key()),
                          StoreValue::integer(amount), StoreValue::text(id)},
                         lwtCall());
    } else if (stored.state == schema::kReversed || stored.state == schema::kExpired) {
      // A late presentment: the scheme has the merchant paid whatever we did with the
      // hold, so the presented amount is force-posted (once: IF clearing_key = '').
      r = store_.execute(st_->force_clearing,
                         {StoreValue::text(request.idempotency_key()), StoreValue::integer(amount), StoreValue::text(id)},
                         lwtCall());
    } else {
      return Internal("authorisation " + id + " is in unknown state '" + stored.state + "'");
    }
    if (!r.ok()) return r.status().withContext("clearing authorisation " + id);
    if (r->applied.value_or(false)) {
      if (stored.state == schema::kApproved) {
        stored.state = std::string(schema::kCleared);
        stored.record.set_state(pb::AUTH_CLEARED);
        stored.end_key = request.idempotency_key();
        stored.record.set_ended_at_us(now_us);
      } else {
        stored.record.set_force_posted(true);
      }
      stored.clearing_key = request.idempotency_key();
      *stored.record.mutable_cleared_amount() = request.amount();
      ours = true;
      break;
    }
    stored = storedOf(*r, id);
  }
  if (!ours) return Aborted("authorisation " + id + " kept changing under the clearing; retransmit it");
  if (!stored.record.clearing_entryset_id().empty()) {  // done before: the original answer
    out.set_entryset_id(stored.record.clearing_entryset_id());
    out.set_replayed(true);
    return out;
  }
  // Settle in the ledger under a key of the authorisation, so whichever attempt gets here
  // posts the same single EntrySet.
  const std::string address = bank::mainAddress(bank::AccountId(stored.record.account_id()));
  ledger_pb::Entry debit, credit;
  debit.set_address(address);
  debit.mutable_amount()->set_minor_units(-amount);
  debit.mutable_amount()->set_currency(request.amount().currency());
  credit.set_address(options_.scheme_address);
  credit.mutable_amount()->set_minor_units(amount);
  credit.mutable_amount()->set_currency(request.amount().currency());
  const std::string description = "card payment " + stored.record.merchant().name();
  std::string entryset_id;
  if (stored.state == schema::kCleared) {
    ledger_pb::SettleHoldRequest req;
    req.set_idempotency_key(clearingKey(id));
    req.set_hold_id(stored.record.hold_id());
    *req.add_entries() = debit;
    *req.add_entries() = credit;
    req.set_description(description);
    req.set_source(kSource);
    ledger_pb::SettleHoldResponse resp;
    grpc::ClientContext ctx;
    setDeadline(&ctx, options_.upstream_timeout);
    grpc::Status s = stubs_->ledger->SettleHold(&ctx, req, &resp);
    if (!s.ok()) return upstreamError("the ledger (settling hold " + stored.record.hold_id() + ")", s, options_.upstream_timeout);
    entryset_id = resp.entryset().entryset_id();
  } else {
    ledger_pb::PostEntrySetRequest req;
    req.set_idempotency_key(clearingKey(id));
    *req.add_entries() = debit;
    *req.add_entries() = credit;
    req.set_description(description + " (late presentment)");
    req.set_source(kSource);
    req.set_reference(id);
    ledger_pb::PostEntrySetResponse resp;
    grpc::ClientContext ctx;
    setDeadline(&ctx, options_.upstream_timeout);
    grpc::Status s = stubs_->ledger->PostEntrySet(&ctx, req, &resp);
    if (!s.ok()) return upstreamError("the ledger (force-posting " + id + ")", s, options_.upstream_timeout);
    entryset_id = resp.entryset().entryset_id();
  }
  auto w = store_.execute(st_->set_clearing_entryset, {StoreValue::text(entryset_id), StoreValue::text(id)},
                          writeCall());
  if (!w.ok()) return w.status().withContext("recording the clearing of " + id);
  if (stored.state == schema::kCleared) {
    auto done = store_.execute(st_->set_end_done, {StoreValue::text(id)}, writeCall());
    if (!done.ok()) return done.status().withContext("marking the end of " + id);
    SANDBANK_RETURN_IF_ERROR(dropExpiryRow(id, stored.record.expires_at_us()));
  }
  pb::ClearingEvent ev;
  ev.set_authorisation_id(id);
  ev.set_account_id(stored.record.account_id());
  *ev.mutable_amount() = request.amount();
  ev.set_entryset_id(entryset_id);
  *ev.mutable_merchant() = stored.record.merchant();
  ev.set_at_us(toMicros(clock_.now()));
  ev.set_card_id(stored.record.card_id());
  *ev.mutable_authorised_amount() = stored.record.amount();
  ev.set_force_posted(stored.record.force_posted());
  publishClearing(ev);
  out.set_entryset_id(entryset_id);
  return out;
}

// --- Events

void CardProcessor::publishAuthorisation(const pb::AuthorisationRecord& record, const std::string& fallback_key) {
  if (bus_ == nullptr) return;
  pb::AuthorisationEvent ev;
  *ev.mutable_authorisation() = record;
  ev.set_at_us(toMicros(clock_.now()));
  kit::BusMessage m;
  // Keyed by account; a decline for an unknown card has none and goes by its token.
  m.key = record.account_id().empty() ? fallback_key : record.account_id();
  m.value = ev.SerializeAsString();
  m.headers.emplace_back("type", "sandbank.bank.card_processor.AuthorisationEvent");
  const std::string id = record.authorisation_id();
  bus_->send(options_.authorisations_topic, std::move(m), [id](const kit::BusAck& ack) {
    if (!ack.status.ok()) {
      kit::logError("publishing an authorisation event failed", {{"authorisation_id", id}, {"error", ack.status.toString()}});
    }
  });
}

void CardProcessor::publishClearing(const pb::ClearingEvent& event) {
  if (bus_ == nullptr) return;
  kit::BusMessage m;
  m.key = event.account_id();
  m.value = event.SerializeAsString();
  m.headers.emplace_back("type", "sandbank.bank.card_processor.ClearingEvent");
  const std::string id = event.authorisation_id();
  bus_->send(options_.clearings_topic, std::move(m), [id](const kit::BusAck& ack) {
    if (!ack.status.ok()) {
      kit::logError("publishing a clearing event failed", {{"authorisation_id", id}, {"error", ack.status.toString()}});
    }
  });
}

// --- HoldSweeper

HoldSweeper::HoldSweeper(CardProcessor& processor, std::chrono::milliseconds interval)
    : processor_(processor), interval_(interval), thread_([this] { run(); }) {}

HoldSweeper::~HoldSweeper() { stop(); }

void HoldSweeper::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t HoldSweeper::sweeps() const {
  std::lock_guard lock(mu_);
  return sweeps_;
}

void HoldSweeper::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Wall time between sweeps: the simulated clock may jump days at once, and the next
    // sweep after the jump finds everything that expired.
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    auto r = processor_.expireHolds();
    if (!r.ok()) {
      kit::logWarn("hold sweep failed; retrying next interval", {{"error", r.status().toString()}});
    } else if (r->expired() > 0) {
      kit::logInfo("expired holds", {{"count", std::to_string(r->expired())}});
    }
    lock.lock();
    ++sweeps_;
  }
}

}  // namespace sandbank::card_processor
