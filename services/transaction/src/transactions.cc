// Transactions from the bus into the store; see transactions.h.
//
//   card.authorisations --+
//   card.clearings -------+--> handle() --> Desired{record, state} --> apply()
//   transfer.events ------+                                              |
//   fps.events -----------+        INSERT IF NOT EXISTS (new) or UPDATE IF state = read
//                                                                         |
//                                            transaction.events <-- publish, await ack
#include "sandbank/transaction/transactions.h"

#include <future>

#include "sandbank/bank/card_processor.pb.h"
#include "sandbank/bank/fps.pb.h"
#include "sandbank/bank/p2p.pb.h"
#include "sandbank/bankcore/idempotency.h"
#include "sandbank/bankcore/transaction_schema.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/trace.h"
#include "sandbank/transaction/merchant_directory.h"

namespace sandbank::transaction {
namespace schema = bank::transaction_schema;
namespace cp = ::sandbank::bank::card_processor;
using kit::StoreRows;
using kit::StoreValue;

struct Transactions::Statements {
  kit::StoreStatement insert, read, move, index, list;
};

namespace {

constexpr int kMaxAttempts = 8;  // LWT races lost in a row before the record is retried later

std::string stateName(pb::TransactionState s) {
  switch (s) {
    case pb::PENDING: return std::string(schema::kPending);
    case pb::SETTLED: return std::string(schema::kSettled);
    case pb::REVERSED: return std::string(schema::kReversed);
    case pb::DECLINED: return std::string(schema::kDeclined);
    default: return "";
  }
}

pb::TransactionState stateOf(const std::string& s) {
  if (s == schema::kPending) return pb::PENDING;
  if (s == schema::kSettled) return pb::SETTLED;
  if (s == schema::kReversed) return pb::REVERSED;
  if (s == schema::kDeclined) return pb::DECLINED;
  return pb::TRANSACTION_STATE_UNSPECIFIED;
}

// The only moves: pending -> settled, pending -> reversed.
bool forward(pb::TransactionState from, pb::TransactionState to) {
  return from == pb::PENDING && (to == pb::SETTLED || to == pb::REVERSED);
}

std::string stateText(pb::TransactionState s) {
  const std::string n = stateName(s);
  return n.empty() ? "none" : n;
}

void enrich(const cp::Merchant& m, pb::TransactionRecord* t) {
  MerchantInfo info = enrichMerchant(m.merchant_id(), m.name(), m.category_code());
  t->set_merchant_id(m.merchant_id());
  t->set_merchant_name(info.display_name);
  t->set_merchant_logo(info.logo_url);
  t->set_category(info.category);
  t->set_counterparty(info.display_name);
}

}  // namespace

Transactions::Transactions(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                           TransactionsOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()) {}

Transactions::~Transactions() = default;

std::vector<std::string> Transactions::consumedTopics() {
  return {kAuthorisationsTopic, kClearingsTopic, kTransfersTopic, kFpsTopic};
}

Result<std::unique_ptr<Transactions>> Transactions::open(kit::StoreClient& store, kit::BusProducer* bus,
                                                         const Clock& clock, TransactionsOptions options) {
  std::unique_ptr<Transactions> t(new Transactions(store, bus, clock, std::move(options)));
  if (Status s = t->init(); !s.ok()) return s.withContext("transaction service start-up");
  return t;
}

Status Transactions::init() {
  SANDBANK_RETURN_IF_ERROR(
      store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, schema::kTables));
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&st_->insert,
       "INSERT INTO transactions (transaction_id, account_id, kind, source_id, state, previous_state, amount, "
       "currency, merchant_id, merchant_name, merchant_logo, category, counterparty, reference, decline_reason, "
       "trace_id, created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"},
      {&st_->read,
       "SELECT account_id, kind, source_id, state, previous_state, amount, currency, merchant_id, merchant_name, "
       "merchant_logo, category, counterparty, reference, decline_reason, created_us, updated_us FROM transactions "
       "WHERE transaction_id = ?"},
      {&st_->move,
       "UPDATE transactions SET state = ?, previous_state = ?, amount = ?, trace_id = ?, updated_us = ? "
       "WHERE transaction_id = ? IF state = ?"},
      {&st_->index,
       "INSERT INTO by_account (account_id, created_us, transaction_id, kind, source_id) VALUES (?, ?, ?, ?, ?)"},
      {&st_->list, "SELECT transaction_id FROM by_account WHERE account_id = ? LIMIT ?"},
  };
  return store_.prepareAll(all, std::string(schema::kKeyspace));
}

kit::StoreCall Transactions::readCall() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  return c;
}

kit::StoreCall Transactions::writeCall() {
  kit::StoreCall c = readCall();
  c.timestamp_us = timestamps_.next(clock_);
  return c;
}

kit::StoreCall Transactions::lwtCall() const {
  kit::StoreCall c = readCall();
  c.serial_consistency = "LOCAL_SERIAL";
  return c;
}

// ---- consuming -----------------------------------------------------------------------------

Status Transactions::handle(const kit::BusDelivery& record) {
  if (record.topic == kAuthorisationsTopic) return onAuthorisation(record);
  if (record.topic == kClearingsTopic) return onClearing(record);
  if (record.topic == kTransfersTopic) return onTransfer(record);
  if (record.topic == kFpsTopic) return onPayment(record);
  kit::logWarn("transaction: record from a topic it does not consume, skipped", {{"topic", record.topic}});
  return OkStatus();
}

namespace {

// A record that can never become a transaction: logged and committed, because
// redelivering it would fail the same way until it is dead-lettered.
Status skip(const kit::BusDelivery& record, const std::string& why) {
  kit::logWarn("transaction: record skipped: " + why,
               {{"topic", record.topic},
                {"partition", std::to_string(record.partition)},
                {"offset", std::to_string(record.offset)}});
  return OkStatus();
}

}  // namespace

Status Transactions::onAuthorisation(const kit::BusDelivery& record) {
  cp::AuthorisationEvent ev;
  if (!ev.ParseFromString(record.message.value)) return skip(record, "not an AuthorisationEvent");
  const cp::AuthorisationRecord& a = ev.authorisation();
  if (a.authorisation_id().empty() || a.account_id().empty()) return skip(record, "authorisation without an id or account");
  Desired d;
  pb::TransactionRecord& t = d.record;
  switch (a.state()) {
    // A cleared authorisation was approved; the settlement itself (with the presented
    // amount) comes from its ClearingEvent on card.clearings.
    case cp::AUTH_APPROVED:
    case cp::AUTH_CLEARED: t.set_state(pb::PENDING); break;
    case cp::AUTH_DECLINED:
      t.set_state(pb::DECLINED);
      t.set_decline_reason(a.decline_reason());
      break;
    case cp::AUTH_REVERSED:
    case cp::AUTH_EXPIRED: t.set_state(pb::REVERSED); break;
    default: return skip(record, "authorisation " + a.authorisation_id() + " has no state");
  }
  t.set_transaction_id(schema::cardTransactionId(a.authorisation_id()));
  t.set_account_id(a.account_id());
  t.set_kind("card");
  t.set_source_id(a.authorisation_id());
  t.mutable_amount()->set_minor_units(-a.amount().minor_units());
  t.mutable_amount()->set_currency(a.amount().currency());
  enrich(a.merchant(), &t);
  t.set_created_at_us(a.created_at_us() != 0 ? a.created_at_us() : ev.at_us());
  return apply(d);
}

Status Transactions::onClearing(const kit::BusDelivery& record) {
  cp::ClearingEvent ev;
  if (!ev.ParseFromString(record.message.value)) return skip(record, "not a ClearingEvent");
  if (ev.authorisation_id().empty() || ev.account_id().empty()) return skip(record, "clearing without an authorisation or account");
  Desired d;
  d.set_amount = true;
  pb::TransactionRecord& t = d.record;
  t.set_transaction_id(schema::cardTransactionId(ev.authorisation_id()));
  t.set_account_id(ev.account_id());
  t.set_kind("card");
  t.set_source_id(ev.authorisation_id());
  t.set_state(pb::SETTLED);
  t.mutable_amount()->set_minor_units(-ev.amount().minor_units());
  t.mutable_amount()->set_currency(ev.amount().currency());
  enrich(ev.merchant(), &t);
  t.set_created_at_us(ev.at_us());
  SANDBANK_RETURN_IF_ERROR(apply(d));
  if (!ev.force_posted()) return OkStatus();
  // A late presentment: money was taken after the authorisation ended. Settling above
  // did nothing if the transaction already showed the reversal (states never move back;
  // and a settled one can no longer be reversed, so reading after the attempt decides
  // without a race): the charge then becomes a transaction of its own.
  SANDBANK_ASSIGN_OR_RETURN(auto current, read(t.transaction_id(), nullptr));
  if (!current || current->state() != pb::REVERSED) return OkStatus();
  t.set_transaction_id(schema::cardLatePresentmentTransactionId(ev.authorisation_id()));
  t.set_source_id(ev.authorisation_id() + ":late_presentment");
  return apply(d);
}

Status Transactions::onTransfer(const kit::BusDelivery& record) {
  ::sandbank::bank::p2p::TransferEvent ev;
  if (!ev.ParseFromString(record.message.value)) return skip(record, "not a TransferEvent");
  const auto& tr = ev.transfer();
  if (tr.transfer_id().empty()) return skip(record, "transfer without an id");
  const std::string side = ev.account_id().empty() ? tr.from_account_id() : ev.account_id();
  const bool outgoing = side == tr.from_account_id();
  if (!outgoing && side != tr.to_account_id()) {
    return skip(record, "transfer " + tr.transfer_id() + " event for account " + side + ", which is neither side");
  }
  Desired d;
  pb::TransactionRecord& t = d.record;
  switch (tr.state()) {
    case ::sandbank::bank::p2p::TRANSFER_COMPLETED: t.set_state(pb::SETTLED); break;
    case ::sandbank::bank::p2p::TRANSFER_DECLINED:
      // Nothing moved; only the sender ever saw it.
      if (!outgoing) return OkStatus();
      t.set_state(pb::DECLINED);
      t.set_decline_reason(tr.decline_reason());
      break;
    default: return skip(record, "transfer " + tr.transfer_id() + " in a state that makes no transaction");
  }
  t.set_transaction_id(schema::p2pTransactionId(tr.transfer_id(), outgoing));
  t.set_account_id(side);
  t.set_kind("p2p");
  t.set_source_id(tr.transfer_id());
  t.mutable_amount()->set_minor_units(outgoing ? -tr.amount().minor_units() : tr.amount().minor_units());
  t.mutable_amount()->set_currency(tr.amount().currency());
  t.set_counterparty(outgoing ? tr.to_account_id() : tr.from_account_id());
  t.set_category("transfers");
  t.set_reference(tr.reference());
  t.set_created_at_us(tr.created_at_us() != 0 ? tr.created_at_us() : ev.at_us());
  return apply(d);
}

Status Transactions::onPayment(const kit::BusDelivery& record) {
  ::sandbank::bank::fps::FpsEvent ev;
  if (!ev.ParseFromString(record.message.value)) return skip(record, "not an FpsEvent");
  const auto& p = ev.payment();
  if (p.payment_id().empty() || p.account_id().empty()) return skip(record, "payment without an id or account");
  const bool outgoing = p.direction() != "in";
  Desired d;
  pb::TransactionRecord& t = d.record;
  switch (p.state()) {
    case ::sandbank::bank::fps::PAYMENT_PENDING: t.set_state(pb::PENDING); break;
    case ::sandbank::bank::fps::PAYMENT_COMPLETED: t.set_state(pb::SETTLED); break;
    case ::sandbank::bank::fps::PAYMENT_REVERSED: t.set_state(pb::REVERSED); break;
    case ::sandbank::bank::fps::PAYMENT_DECLINED:
      t.set_state(pb::DECLINED);
      t.set_decline_reason(p.reason());
      break;
    default: return skip(record, "payment " + p.payment_id() + " has no state");
  }
  t.set_transaction_id(schema::fpsTransactionId(p.payment_id()));
  t.set_account_id(p.account_id());
  t.set_kind(outgoing ? "fps_out" : "fps_in");
  t.set_source_id(p.payment_id());
  t.mutable_amount()->set_minor_units(outgoing ? -p.amount().minor_units() : p.amount().minor_units());
  t.mutable_amount()->set_currency(p.amount().currency());
  std::string counterparty = p.counterparty_sort_code();
  if (!p.counterparty_account_number().empty()) {
    counterparty += (counterparty.empty() ? "" : " ") + p.counterparty_account_number();
  }
  t.set_counterparty(counterparty);
  t.set_category("transfers");
  t.set_reference(p.reference());
  t.set_created_at_us(p.created_at_us() != 0 ? p.created_at_us() : ev.at_us());
  return apply(d);
}

// ---- the state machine ---------------------------------------------------------------------

Status Transactions::apply(const Desired& desired) {
  const pb::TransactionRecord& want = desired.record;
  const std::string& id = want.transaction_id();
  const std::string trace_id = kit::currentTrace().trace_id;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    std::string previous_name;
    SANDBANK_ASSIGN_OR_RETURN(auto current, read(id, &previous_name));
    if (!current) {
      pb::TransactionRecord t = want;
      const int64_t now = toMicros(clock_.now());
      if (t.created_at_us() == 0) t.set_created_at_us(now);
      t.set_updated_at_us(now);
      auto r = store_.execute(
          st_->insert,
          {StoreValue::text(id), StoreValue::text(t.account_id()), StoreValue::text(t.kind()),
           StoreValue::text(t.source_id()), StoreValue::text(stateName(t.state())), StoreValue::text(""),
           StoreValue::integer(t.amount().minor_units()), StoreValue::text(t.amount().currency()),
           StoreValue::text(t.merchant_id()), StoreValue::text(t.merchant_name()), StoreValue::text(t.merchant_logo()),
           StoreValue::text(t.category()), StoreValue::text(t.counterparty()), StoreValue::text(t.reference()),
           StoreValue::text(t.decline_reason()), StoreValue::text(trace_id), StoreValue::integer(t.created_at_us()),
           StoreValue::integer(now)},
          lwtCall());
      if (!r.ok()) return r.status().withContext("creating transaction " + id);
      if (!r->applied.value_or(false)) continue;  // another consumer created it: read it and go on
      SANDBANK_RETURN_IF_ERROR(writeIndex(t));
      return publish(t, pb::TRANSACTION_STATE_UNSPECIFIED);
    }
    pb::TransactionRecord t = std::move(*current);
    if (t.state() == want.state()) {
      // Done before: by an earlier delivery of this record (which may have died before
      // its event was acknowledged) or by another consumer. Finish what it may have left.
      SANDBANK_RETURN_IF_ERROR(writeIndex(t));
      return publish(t, stateOf(previous_name));
    }
    if (!forward(t.state(), want.state())) {
      // Late or out of order (an authorisation after its clearing, a reversal after the
      // settlement): states never move back, so there is nothing to do.
      kit::logInfo("transaction: event would not move the transaction forward; kept as it is",
                   {{"transaction_id", id}, {"state", stateText(t.state())}, {"event_state", stateText(want.state())}});
      return writeIndex(t);
    }
    const pb::TransactionState from = t.state();
    const int64_t now = toMicros(clock_.now());
    if (desired.set_amount) *t.mutable_amount() = want.amount();
    t.set_state(want.state());
    t.set_updated_at_us(now);
    auto r = store_.execute(st_->move,
                            {StoreValue::text(stateName(t.state())), StoreValue::text(stateName(from)),
                             StoreValue::integer(t.amount().minor_units()), StoreValue::text(trace_id),
                             StoreValue::integer(now), StoreValue::text(id), StoreValue::text(stateName(from))},
                            lwtCall());
    if (!r.ok()) return r.status().withContext("moving transaction " + id + " to " + stateName(want.state()));
    if (!r->applied.value_or(false)) continue;  // it moved under us: look again
    SANDBANK_RETURN_IF_ERROR(writeIndex(t));
    return publish(t, from);
  }
  return Aborted("transaction " + id + " kept changing under " + std::to_string(kMaxAttempts) +
                 " attempts to move it to " + stateName(want.state()) + "; the record will be retried");
}

Result<std::optional<pb::TransactionRecord>> Transactions::read(const std::string& id, std::string* previous_state) {
  // Read at SERIAL-equivalent freshness is not needed: a stale read only makes the LWT
  // below fail and the loop read again.
  auto r = store_.execute(st_->read, {StoreValue::text(id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading transaction " + id);
  if (r->rows.empty()) return std::optional<pb::TransactionRecord>();
  pb::TransactionRecord t;
  t.set_transaction_id(id);
  t.set_account_id(r->cell(0, "account_id").s);
  t.set_kind(r->cell(0, "kind").s);
  t.set_source_id(r->cell(0, "source_id").s);
  t.set_state(stateOf(r->cell(0, "state").s));
  t.mutable_amount()->set_minor_units(r->cell(0, "amount").i);
  t.mutable_amount()->set_currency(r->cell(0, "currency").s);
  t.set_merchant_id(r->cell(0, "merchant_id").s);
  t.set_merchant_name(r->cell(0, "merchant_name").s);
  t.set_merchant_logo(r->cell(0, "merchant_logo").s);
  t.set_category(r->cell(0, "category").s);
  t.set_counterparty(r->cell(0, "counterparty").s);
  t.set_reference(r->cell(0, "reference").s);
  t.set_decline_reason(r->cell(0, "decline_reason").s);
  t.set_created_at_us(r->cell(0, "created_us").i);
  t.set_updated_at_us(r->cell(0, "updated_us").i);
  if (previous_state != nullptr) *previous_state = r->cell(0, "previous_state").s;
  return std::optional<pb::TransactionRecord>(std::move(t));
}

Status Transactions::writeIndex(const pb::TransactionRecord& t) {
  auto r = store_.execute(st_->index,
                          {StoreValue::text(t.account_id()), StoreValue::integer(t.created_at_us()),
                           StoreValue::text(t.transaction_id()), StoreValue::text(t.kind()),
                           StoreValue::text(t.source_id())},
                          writeCall());
  return r.ok() ? OkStatus() : r.status().withContext("indexing transaction " + t.transaction_id());
}

Status Transactions::publish(const pb::TransactionRecord& t, pb::TransactionState previous) {
  if (bus_ == nullptr) return OkStatus();
  pb::TransactionEvent ev;
  *ev.mutable_transaction() = t;
  ev.set_previous_state(previous);
  ev.set_at_us(toMicros(clock_.now()));
  kit::BusMessage m;
  m.key = t.account_id();
  m.value = ev.SerializeAsString();
  m.headers.emplace_back("type", "sandbank.bank.transaction.TransactionEvent");
  auto acked = std::make_shared<std::promise<Status>>();
  std::future<Status> done = acked->get_future();
  bus_->send(options_.topic, std::move(m), [acked](const kit::BusAck& ack) { acked->set_value(ack.status); });
  if (done.wait_for(options_.publish_timeout) != std::future_status::ready) {
    return DeadlineExceeded("the bus did not acknowledge the event of transaction " + t.transaction_id() + " on " +
                            options_.topic + " in time; the record will be retried");
  }
  Status s = done.get();
  return s.ok() ? s : s.withContext("publishing transaction " + t.transaction_id() + " on " + options_.topic);
}

// ---- reading -------------------------------------------------------------------------------

Result<pb::TransactionRecord> Transactions::get(const std::string& transaction_id) {
  if (transaction_id.empty()) return InvalidArgument("transaction_id is required");
  SANDBANK_ASSIGN_OR_RETURN(auto t, read(transaction_id, nullptr));
  if (!t) return NotFound("no transaction " + transaction_id);
  return std::move(*t);
}

Result<pb::ListByAccountResponse> Transactions::listByAccount(const pb::ListByAccountRequest& request) {
  if (request.account_id().empty()) return InvalidArgument("account_id is required");
  if (request.limit() < 0) return InvalidArgument("limit must be >= 0 (0 means 50), got " + std::to_string(request.limit()));
  const int64_t limit = request.limit() == 0 ? 50 : std::min(request.limit(), 500);
  auto r = store_.execute(st_->list, {StoreValue::text(request.account_id()), StoreValue::integer(limit)}, readCall());
  if (!r.ok()) return r.status().withContext("listing the transactions of " + request.account_id());
  pb::ListByAccountResponse out;
  for (size_t i = 0; i < r->rows.size(); ++i) {
    const std::string& id = r->cell(i, "transaction_id").s;
    SANDBANK_ASSIGN_OR_RETURN(auto t, read(id, nullptr));
    // An index row is written after its transaction, so a missing one is a lost write.
    if (!t) return Internal("transaction " + id + " is listed for " + request.account_id() + " but has no row");
    *out.add_transactions() = std::move(*t);
  }
  return out;
}

}  // namespace sandbank::transaction
