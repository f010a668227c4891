// The feed from transaction.events and pot.events into the store; see feed.h.
#include "sandbank/feed/feed.h"

#include <cctype>
#include <cstdio>
#include <future>

#include "sandbank/bank/pots.pb.h"
#include "sandbank/bank/transaction.pb.h"
#include "sandbank/bankcore/feed_schema.h"
#include "sandbank/bankcore/idempotency.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/trace.h"

namespace sandbank::feed {
namespace schema = bank::feed_schema;
namespace tx = ::sandbank::bank::transaction;
namespace pots = ::sandbank::bank::pots;
using kit::StoreValue;

struct Feed::Statements {
  kit::StoreStatement insert, read, rewrite, index, list;
};

namespace {

constexpr int kMaxAttempts = 8;

std::string stateName(tx::TransactionState s) {
  switch (s) {
    case tx::PENDING: return "pending";
    case tx::SETTLED: return "settled";
    case tx::REVERSED: return "reversed";
    case tx::DECLINED: return "declined";
    default: return "none";
  }
}

// Where a state sits: an item's text only moves to a later state.
int rank(const std::string& state) {
  if (state == "pending") return 1;
  if (state == "settled" || state == "reversed" || state == "declined") return 2;
  return 0;
}

// "eating_out" -> "Eating out".
std::string categoryText(const std::string& category) {
  std::string out = category.empty() ? std::string("General") : category;
  for (char& c : out) {
    if (c == '_') c = ' ';
  }
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

// "insufficient_funds" -> "insufficient funds".
std::string reasonText(const std::string& reason) {
  std::string out = reason;
  for (char& c : out) {
    if (c == '_') c = ' ';
  }
  return out;
}

Status skip(const kit::BusDelivery& record, const std::string& why) {
  kit::logWarn("feed: record skipped: " + why, {{"topic", record.topic},
                                                {"partition", std::to_string(record.partition)},
                                                {"offset", std::to_string(record.offset)}});
  return OkStatus();
}

}  // namespace

std::string formatMoney(int64_t minor_units, const std::string& currency, bool signed_amount) {
  const bool negative = minor_units < 0;
  const uint64_t abs = negative ? static_cast<uint64_t>(-(minor_units + 1)) + 1 : static_cast<uint64_t>(minor_units);
  char digits[48];
  std::snprintf(digits, sizeof digits, "%llu.%02llu", static_cast<unsigned long long>(abs / 100),
                static_cast<unsigned long long>(abs % 100));
  std::string symbol;
  if (currency == "GBP") symbol = "\xC2\xA3";  // £
  else if (currency == "EUR") symbol = "\xE2\x82\xAC";  // €
  else if (currency == "USD") symbol = "$";
  else symbol = currency + " ";
  return std::string(signed_amount && negative ? "-" : "") + symbol + digits;
}

ItemText describeTransaction(const tx::TransactionRecord& t) {
  const int64_t amount = t.amount().minor_units();
  const std::string& cur = t.amount().currency();
  const std::string plain_abs = formatMoney(amount < 0 ? -amount : amount, cur);
  const std::string signed_text = formatMoney(amount, cur, true);
  const std::string who = t.counterparty().empty() ? std::string("someone") : t.counterparty();
  const std::string reference = t.reference().empty() ? std::string() : " \xC2\xB7 " + t.reference();
  if (t.kind() == "card") {
    const std::string merchant = t.merchant_name().empty() ? std::string("Card payment") : t.merchant_name();
    switch (t.state()) {
      case tx::PENDING: return {merchant + " " + signed_text, categoryText(t.category()) + " \xC2\xB7 pending"};
      case tx::SETTLED: return {merchant + " " + signed_text, categoryText(t.category())};
      case tx::REVERSED:
        return {merchant + " " + plain_abs + " reversed", "The payment was cancelled, so nothing was taken"};
      case tx::DECLINED:
        return {"Declined: " + merchant + " " + plain_abs,
                t.decline_reason().empty() ? "The payment was declined" : "Declined: " + reasonText(t.decline_reason())};
      default: break;
    }
  } else if (t.kind() == "p2p") {
    if (t.state() == tx::DECLINED) {
      return {"Transfer of " + plain_abs + " to " + who + " declined", "Declined: " + reasonText(t.decline_reason())};
    }
    if (amount < 0) return {"You sent " + plain_abs + " to " + who, "Transfer" + reference};
    return {who + " sent you " + plain_abs, "Transfer" + reference};
  } else if (t.kind() == "fps_out") {
    switch (t.state()) {
      case tx::PENDING: return {"Sending " + plain_abs + " to " + who, "Faster Payment" + reference + " \xC2\xB7 pending"};
      case tx::SETTLED: return {"You paid " + plain_abs + " to " + who, "Faster Payment" + reference};
      case tx::REVERSED:
        return {"Payment of " + plain_abs + " to " + who + " returned",
                "The payment did not go through, so the money is back in your account"};
      case tx::DECLINED:
        return {"Payment of " + plain_abs + " to " + who + " declined", "Declined: " + reasonText(t.decline_reason())};
      default: break;
    }
  } else if (t.kind() == "fps_in") {
    if (t.state() == tx::DECLINED || t.state() == tx::REVERSED) {
      return {"Incoming payment of " + plain_abs + " from " + who + " " + stateName(t.state()),
              t.decline_reason().empty() ? "Faster Payment" + reference : "Declined: " + reasonText(t.decline_reason())};
    }
    return {"You received " + plain_abs, "Faster Payment from " + who + reference};
  }
  return {(t.merchant_name().empty() ? std::string("Payment") : t.merchant_name()) + " " + signed_text,
          stateName(t.state())};
}

Feed::Feed(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, FeedOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()) {}

Feed::~Feed() = default;

std::vector<std::string> Feed::consumedTopics() { return {kTransactionsTopic, kPotsTopic}; }

Result<std::unique_ptr<Feed>> Feed::open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                         FeedOptions options) {
  std::unique_ptr<Feed> f(new Feed(store, bus, clock, std::move(options)));
  if (Status s = f->init(); !s.ok()) return s.withContext("feed service start-up");
  return f;
}

Status Feed::init() {
  SANDBANK_RETURN_IF_ERROR(
      store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, schema::kTables));
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&st_->insert,
       "INSERT INTO items (feed_item_id, account_id, source_event_id, transaction_id, title, body, amount, currency, "
       "image_url, state, origin, trace_id, created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
       "IF NOT EXISTS"},
      {&st_->read,
       "SELECT account_id, source_event_id, transaction_id, title, body, amount, currency, image_url, state, origin, "
       "created_us, updated_us FROM items WHERE feed_item_id = ?"},
      {&st_->rewrite,
       "UPDATE items SET title = ?, body = ?, amount = ?, state = ?, updated_us = ? WHERE feed_item_id = ? "
       "IF state = ?"},
      {&st_->index,
       "INSERT INTO by_account (account_id, created_us, feed_item_id, source_event_id, transaction_id) "
       "VALUES (?, ?, ?, ?, ?)"},
      {&st_->list, "SELECT feed_item_id FROM by_account WHERE account_id = ? LIMIT ?"},
  };
  return store_.prepareAll(all, std::string(schema::kKeyspace));
}

kit::StoreCall Feed::readCall() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  return c;
}

kit::StoreCall Feed::writeCall() {
  kit::StoreCall c = readCall();
  c.timestamp_us = timestamps_.next(clock_);
  return c;
}

kit::StoreCall Feed::lwtCall() const {
  kit::StoreCall c = readCall();
  c.serial_consistency = "LOCAL_SERIAL";
  return c;
}

Status Feed::handle(const kit::BusDelivery& record) {
  if (record.topic == kTransactionsTopic) return onTransaction(record);
  if (record.topic == kPotsTopic) return onPot(record);
  return skip(record, "a topic the feed does not consume");
}

Status Feed::onTransaction(const kit::BusDelivery& record) {
  tx::TransactionEvent ev;
  if (!ev.ParseFromString(record.message.value)) return skip(record, "not a TransactionEvent");
  const tx::TransactionRecord& t = ev.transaction();
  if (t.transaction_id().empty() || t.account_id().empty()) return skip(record, "transaction without an id or account");
  const ItemText text = describeTransaction(t);
  pb::FeedItem item;
  item.set_feed_item_id(schema::transactionFeedItemId(t.transaction_id()));
  item.set_account_id(t.account_id());
  item.set_source_event_id(t.transaction_id());
  item.set_transaction_id(t.transaction_id());
  item.set_title(text.title);
  item.set_body(text.body);
  *item.mutable_amount() = t.amount();
  item.set_image_url(t.merchant_logo());
  item.set_created_at_us(t.created_at_us() != 0 ? t.created_at_us() : ev.at_us());
  const std::string state = stateName(t.state());
  const std::string origin = stateName(ev.previous_state()) + ">" + state;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    SANDBANK_ASSIGN_OR_RETURN(auto existing, create(item, state, origin));
    if (!existing) return OkStatus();  // created and published
    SANDBANK_RETURN_IF_ERROR(writeIndex(existing->item));
    // A redelivery of the event that made the item: its FeedEvent may never have left.
    if (existing->origin == origin) return publish(existing->item);
    if (rank(state) <= rank(existing->state)) return OkStatus();  // stale or already shown
    const int64_t now = toMicros(clock_.now());
    auto r = store_.execute(st_->rewrite,
                            {StoreValue::text(text.title), StoreValue::text(text.body),
                             StoreValue::integer(t.amount().minor_units()), StoreValue::text(state),
                             StoreValue::integer(now), StoreValue::text(item.feed_item_id()),
                             StoreValue::text(existing->state)},
                            lwtCall());
    if (!r.ok()) return r.status().withContext("updating feed item " + item.feed_item_id());
    if (r->applied.value_or(false)) return OkStatus();
  }
  return Aborted("feed item " + item.feed_item_id() + " kept changing; the record will be retried");
}

Status Feed::onPot(const kit::BusDelivery& record) {
  pots::PotEvent ev;
  if (!ev.ParseFromString(record.message.value)) return skip(record, "not a PotEvent");
  const pots::Pot& pot = ev.pot();
  if (pot.pot_id().empty() || pot.account_id().empty()) return skip(record, "pot event without a pot or account");
  pb::FeedItem item;
  item.set_account_id(pot.account_id());
  const std::string name = pot.name().empty() ? std::string("your pot") : pot.name();
  const std::string amount = formatMoney(ev.amount().minor_units(), ev.amount().currency());
  switch (ev.kind()) {
    case pots::PotEvent::CREATED:
      item.set_source_event_id("pot_created:" + pot.pot_id());
      item.set_feed_item_id("feed_pot_created_" + pot.pot_id());
      item.set_title("New pot: " + name);
      item.set_body("Start saving by moving money into it");
      break;
    case pots::PotEvent::DEPOSITED:
    case pots::PotEvent::WITHDRAWN: {
      if (ev.entryset_id().empty()) return skip(record, "pot movement without an EntrySet id");
      const bool deposit = ev.kind() == pots::PotEvent::DEPOSITED;
      item.set_source_event_id("pot_move:" + ev.entryset_id());
      item.set_feed_item_id("feed_pot_move_" + ev.entryset_id());
      item.set_title(deposit ? amount + " added to " + name : amount + " withdrawn from " + name);
      item.set_body(deposit ? "Moved from your current account" : "Moved to your current account");
      item.mutable_amount()->set_minor_units(deposit ? -ev.amount().minor_units() : ev.amount().minor_units());
      item.mutable_amount()->set_currency(ev.amount().currency());
      break;
    }
    default: return skip(record, "pot event of no kind");
  }
  item.set_created_at_us(ev.at_us() != 0 ? ev.at_us() : toMicros(clock_.now()));
  SANDBANK_ASSIGN_OR_RETURN(auto existing, create(item, "", "pot"));
  if (!existing) return OkStatus();
  // Each pot event is its own source: a second sight of it is a redelivery.
  SANDBANK_RETURN_IF_ERROR(writeIndex(existing->item));
  return publish(existing->item);
}

Result<std::optional<Feed::Stored>> Feed::create(const pb::FeedItem& item_in, const std::string& state,
                                                 const std::string& origin) {
  pb::FeedItem item = item_in;
  const int64_t now = toMicros(clock_.now());
  item.set_updated_at_us(now);
  auto r = store_.execute(
      st_->insert,
      {StoreValue::text(item.feed_item_id()), StoreValue::text(item.account_id()),
       StoreValue::text(item.source_event_id()), StoreValue::text(item.transaction_id()), StoreValue::text(item.title()),
       StoreValue::text(item.body()), StoreValue::integer(item.amount().minor_units()),
       StoreValue::text(item.amount().currency()), StoreValue::text(item.image_url()), StoreValue::text(state),
       StoreValue::text(origin), StoreValue::text(kit::currentTrace().trace_id), StoreValue::integer(item.created_at_us()),
       StoreValue::integer(now)},
      lwtCall());
  if (!r.ok()) return r.status().withContext("creating feed item " + item.feed_item_id());
  if (r->applied.value_or(false)) {
    SANDBANK_RETURN_IF_ERROR(writeIndex(item));
    SANDBANK_RETURN_IF_ERROR(publish(item));
    return std::optional<Stored>();
  }
  SANDBANK_ASSIGN_OR_RETURN(auto existing, read(item.feed_item_id()));
  if (!existing) return Unavailable("feed item " + item.feed_item_id() + " exists but could not be read back yet");
  return existing;
}

Result<std::optional<Feed::Stored>> Feed::read(const std::string& id) {
  auto r = store_.execute(st_->read, {StoreValue::text(id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading feed item " + id);
  if (r->rows.empty()) return std::optional<Stored>();
  Stored s;
  pb::FeedItem& i = s.item;
  i.set_feed_item_id(id);
  i.set_account_id(r->cell(0, "account_id").s);
  i.set_source_event_id(r->cell(0, "source_event_id").s);
  i.set_transaction_id(r->cell(0, "transaction_id").s);
  i.set_title(r->cell(0, "title").s);
  i.set_body(r->cell(0, "body").s);
  i.mutable_amount()->set_minor_units(r->cell(0, "amount").i);
  i.mutable_amount()->set_currency(r->cell(0, "currency").s);
  i.set_image_url(r->cell(0, "image_url").s);
  i.set_created_at_us(r->cell(0, "created_us").i);
  i.set_updated_at_us(r->cell(0, "updated_us").i);
  s.state = r->cell(0, "state").s;
  s.origin = r->cell(0, "origin").s;
  return std::optional<Stored>(std::move(s));
}

Status Feed::writeIndex(const pb::FeedItem& item) {
  auto r = store_.execute(st_->index,
                          {StoreValue::text(item.account_id()), StoreValue::integer(item.created_at_us()),
                           StoreValue::text(item.feed_item_id()), StoreValue::text(item.source_event_id()),
                           StoreValue::text(item.transaction_id())},
                          writeCall());
  return r.ok() ? OkStatus() : r.status().withContext("indexing feed item " + item.feed_item_id());
}

Status Feed::publish(const pb::FeedItem& item) {
  if (bus_ == nullptr) return OkStatus();
  pb::FeedEvent ev;
  *ev.mutable_item() = item;
  kit::BusMessage m;
  m.key = item.account_id();
  m.value = ev.SerializeAsString();
  m.headers.emplace_back("type", "sandbank.bank.feed.FeedEvent");
  auto acked = std::make_shared<std::promise<Status>>();
  std::future<Status> done = acked->get_future();
  bus_->send(options_.topic, std::move(m), [acked](const kit::BusAck& ack) { acked->set_value(ack.status); });
  if (done.wait_for(options_.publish_timeout) != std::future_status::ready) {
    return DeadlineExceeded("the bus did not acknowledge feed item " + item.feed_item_id() + " on " + options_.topic +
                            " in time; the record will be retried");
  }
  Status s = done.get();
  return s.ok() ? s : s.withContext("publishing feed item " + item.feed_item_id());
}

Result<pb::FeedItem> Feed::item(const std::string& feed_item_id) {
  if (feed_item_id.empty()) return InvalidArgument("feed_item_id is required");
  SANDBANK_ASSIGN_OR_RETURN(auto s, read(feed_item_id));
  if (!s) return NotFound("no feed item " + feed_item_id);
  return std::move(s->item);
}

Result<pb::ListFeedResponse> Feed::listFeed(const pb::ListFeedRequest& request) {
  if (request.account_id().empty()) return InvalidArgument("account_id is required");
  if (request.limit() < 0) return InvalidArgument("limit must be >= 0 (0 means 50), got " + std::to_string(request.limit()));
  const int64_t limit = request.limit() == 0 ? 50 : std::min(request.limit(), 500);
  auto r = store_.execute(st_->list, {StoreValue::text(request.account_id()), StoreValue::integer(limit)}, readCall());
  if (!r.ok()) return r.status().withContext("listing the feed of " + request.account_id());
  pb::ListFeedResponse out;
  for (size_t i = 0; i < r->rows.size(); ++i) {
    const std::string& id = r->cell(i, "feed_item_id").s;
    SANDBANK_ASSIGN_OR_RETURN(auto s, read(id));
    if (!s) return Internal("feed item " + id + " is listed for " + request.account_id() + " but has no row");
    *out.add_items() = std::move(s->item);
  }
  return out;
}

}  // namespace sandbank::feed
