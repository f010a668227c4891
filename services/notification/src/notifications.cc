// Devices and at-most-once pushes over the store; see notifications.h.
//
//   feed.events -> handle(): account -> user (cached) -> newest device
//                  -> INSERT push_claims IF NOT EXISTS  (lost: a duplicate, stop)
//                  -> "send" (log) -> pushes_by_account, pushes_by_user
#include "sandbank/notification/notifications.h"

#include "sandbank/bank/feed.pb.h"
#include "sandbank/bankcore/notification_schema.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/trace.h"

namespace sandbank::notification {
namespace schema = bank::notification_schema;
using kit::StoreRows;
using kit::StoreValue;

struct Notifications::Statements {
  kit::StoreStatement insert_device, read_device, insert_device_by_user, newest_device, read_account_user,
      insert_account_user, claim, insert_by_account, insert_by_user, list_by_account, list_by_user;
};

Notifications::Notifications(kit::StoreClient& store, const Clock& clock, AccountDirectory& accounts,
                             NotificationsOptions options)
    : store_(store), clock_(clock), accounts_(accounts), options_(std::move(options)),
      st_(std::make_unique<Statements>()) {}

Notifications::~Notifications() = default;

Result<std::unique_ptr<Notifications>> Notifications::open(kit::StoreClient& store, const Clock& clock,
                                                           AccountDirectory& accounts, NotificationsOptions options) {
  std::unique_ptr<Notifications> n(new Notifications(store, clock, accounts, std::move(options)));
  if (Status s = n->init(); !s.ok()) return s.withContext("notification service start-up");
  return n;
}

Status Notifications::init() {
  const std::string idempotency = bank::idempotencyTableCql(schema::kKeyspace);
  std::vector<std::string_view> tables = {idempotency};
  tables.insert(tables.end(), schema::kTables.begin(), schema::kTables.end());
  SANDBANK_RETURN_IF_ERROR(store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, tables));
  auto keys = bank::IdempotencyKeys::open(store_, schema::kKeyspace, options_.consistency, clock_);
  if (!keys.ok()) return keys.status();
  keys_ = std::move(keys).value();
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&st_->insert_device, "INSERT INTO devices (device_id, user_id, push_token, registered_us) VALUES (?, ?, ?, ?)"},
      {&st_->read_device, "SELECT user_id, push_token, registered_us FROM devices WHERE device_id = ?"},
      {&st_->insert_device_by_user,
       "INSERT INTO devices_by_user (user_id, registered_us, device_id, push_token) VALUES (?, ?, ?, ?)"},
      {&st_->newest_device, "SELECT device_id, push_token FROM devices_by_user WHERE user_id = ? LIMIT 1"},
      {&st_->read_account_user, "SELECT user_id FROM account_users WHERE account_id = ?"},
      {&st_->insert_account_user, "INSERT INTO account_users (account_id, user_id) VALUES (?, ?)"},
      {&st_->claim,
       "INSERT INTO push_claims (feed_item_id, push_id, account_id, claimed_us) VALUES (?, ?, ?, ?) IF NOT EXISTS"},
      {&st_->insert_by_account,
       "INSERT INTO pushes_by_account (account_id, sent_us, push_id, device_id, user_id, feed_item_id, title, body, "
       "trace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"},
      {&st_->insert_by_user,
       "INSERT INTO pushes_by_user (user_id, sent_us, push_id, device_id, account_id, feed_item_id, title, body) "
       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"},
      {&st_->list_by_account,
       "SELECT push_id, device_id, account_id, feed_item_id, title, body, sent_us FROM pushes_by_account "
       "WHERE account_id = ? LIMIT 500"},
      {&st_->list_by_user,
       "SELECT push_id, device_id, account_id, feed_item_id, title, body, sent_us FROM pushes_by_user "
       "WHERE user_id = ? LIMIT 500"},
  };
  return store_.prepareAll(all, std::string(schema::kKeyspace));
}

kit::StoreCall Notifications::readCall() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  return c;
}

kit::StoreCall Notifications::writeCall() {
  kit::StoreCall c = readCall();
  c.timestamp_us = timestamps_.next(clock_);
  return c;
}

kit::StoreCall Notifications::lwtCall() const {
  kit::StoreCall c = readCall();
  c.serial_consistency = "LOCAL_SERIAL";
  return c;
}

NotificationStats Notifications::stats() const {
  return {sent_.load(), duplicates_.load(), no_device_.load(), unknown_account_.load()};
}

// ---- devices -------------------------------------------------------------------------------

Result<pb::Device> Notifications::readDevice(const std::string& device_id) {
  auto r = store_.execute(st_->read_device, {StoreValue::text(device_id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading device " + device_id);
  if (r->rows.empty()) return NotFound("no device " + device_id);
  pb::Device d;
  d.set_device_id(device_id);
  d.set_user_id(r->cell(0, "user_id").s);
  d.set_push_token(r->cell(0, "push_token").s);
  return d;
}

Result<pb::Device> Notifications::registerDevice(const pb::RegisterDeviceRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  if (request.user_id().empty()) return InvalidArgument("user_id is required");
  if (request.push_token().empty()) return InvalidArgument("push_token is required (the device's push address)");
  SANDBANK_ASSIGN_OR_RETURN(bank::Claim claim, keys_->claim(request.idempotency_key(), "device",
                                                            request.user_id() + "\n" + request.push_token(),
                                                            ids_.next("dev")));
  if (!claim.fresh) {
    auto d = readDevice(claim.id);
    if (d.ok()) d->set_replayed(true);
    // NotFound: the first attempt stopped after its claim; finish it under the claimed id.
    if (d.status().code() != StatusCode::kNotFound) return d;
  }
  const int64_t now = toMicros(clock_.now());
  auto w = store_.execute(st_->insert_device,
                          {StoreValue::text(claim.id), StoreValue::text(request.user_id()),
                           StoreValue::text(request.push_token()), StoreValue::integer(now)},
                          writeCall());
  if (!w.ok()) return w.status().withContext("writing device " + claim.id);
  auto idx = store_.execute(st_->insert_device_by_user,
                            {StoreValue::text(request.user_id()), StoreValue::integer(now), StoreValue::text(claim.id),
                             StoreValue::text(request.push_token())},
                            writeCall());
  if (!idx.ok()) return idx.status().withContext("indexing device " + claim.id);
  pb::Device d;
  d.set_device_id(claim.id);
  d.set_user_id(request.user_id());
  d.set_push_token(request.push_token());
  return d;
}

// ---- pushes --------------------------------------------------------------------------------

Result<std::string> Notifications::userOf(const std::string& account_id) {
  auto r = store_.execute(st_->read_account_user, {StoreValue::text(account_id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading the owner of " + account_id);
  if (!r->rows.empty()) return r->cell(0, "user_id").s;
  SANDBANK_ASSIGN_OR_RETURN(std::string user, accounts_.userOf(account_id));
  auto w = store_.execute(st_->insert_account_user, {StoreValue::text(account_id), StoreValue::text(user)},
                          writeCall());
  if (!w.ok()) return w.status().withContext("caching the owner of " + account_id);
  return user;
}

Status Notifications::handle(const kit::BusDelivery& record) {
  ::sandbank::bank::feed::FeedEvent ev;
  if (record.topic != kFeedTopic || !ev.ParseFromString(record.message.value) || ev.item().feed_item_id().empty() ||
      ev.item().account_id().empty()) {
    kit::logWarn("notification: record skipped: not a FeedEvent with an item and an account",
                 {{"topic", record.topic}, {"offset", std::to_string(record.offset)}});
    return OkStatus();
  }
  const auto& item = ev.item();
  auto user = userOf(item.account_id());
  if (!user.ok()) {
    if (user.status().code() == StatusCode::kNotFound) {
      ++unknown_account_;
      kit::logWarn("notification: no push for a feed item of an unknown account",
                   {{"feed_item_id", item.feed_item_id()}, {"error", user.status().toString()}});
      return OkStatus();
    }
    return user.status().withContext("finding who to push feed item " + item.feed_item_id() + " to");
  }
  auto devices = store_.execute(st_->newest_device, {StoreValue::text(*user)}, readCall());
  if (!devices.ok()) return devices.status().withContext("reading the devices of " + *user);
  if (devices->rows.empty()) {
    ++no_device_;
    return OkStatus();
  }
  const std::string device_id = devices->cell(0, "device_id").s;
  const std::string push_id = ids_.next("push");
  const int64_t now = toMicros(clock_.now());
  auto claim = store_.execute(st_->claim,
                              {StoreValue::text(item.feed_item_id()), StoreValue::text(push_id),
                               StoreValue::text(item.account_id()), StoreValue::integer(now)},
                              lwtCall());
  if (!claim.ok()) return claim.status().withContext("claiming feed item " + item.feed_item_id() + " for a push");
  if (!claim->applied.value_or(false)) {
    ++duplicates_;
    return OkStatus();
  }
  // The simulated send. Past this point nothing is retried: a failure below loses the
  // record of the push, never sends a second one.
  kit::logInfo("push sent", {{"push_id", push_id},
                             {"device_id", device_id},
                             {"push_token", devices->cell(0, "push_token").s},
                             {"feed_item_id", item.feed_item_id()},
                             {"title", item.title()}});
  ++sent_;
  auto a = store_.execute(st_->insert_by_account,
                          {StoreValue::text(item.account_id()), StoreValue::integer(now), StoreValue::text(push_id),
                           StoreValue::text(device_id), StoreValue::text(*user), StoreValue::text(item.feed_item_id()),
                           StoreValue::text(item.title()), StoreValue::text(item.body()),
                           StoreValue::text(kit::currentTrace().trace_id)},
                          writeCall());
  auto u = store_.execute(st_->insert_by_user,
                          {StoreValue::text(*user), StoreValue::integer(now), StoreValue::text(push_id),
                           StoreValue::text(device_id), StoreValue::text(item.account_id()),
                           StoreValue::text(item.feed_item_id()), StoreValue::text(item.title()),
                           StoreValue::text(item.body())},
                          writeCall());
  if (!a.ok() || !u.ok()) {
    kit::logError("notification: a sent push could not be recorded",
                  {{"push_id", push_id}, {"error", (!a.ok() ? a.status() : u.status()).toString()}});
  }
  return OkStatus();
}

Result<pb::ListPushesResponse> Notifications::listPushes(const pb::ListPushesRequest& request) {
  if (request.account_id().empty() && request.user_id().empty()) {
    return InvalidArgument("account_id or user_id is required");
  }
  const bool by_account = !request.account_id().empty();
  auto r = by_account ? store_.execute(st_->list_by_account, {StoreValue::text(request.account_id())}, readCall())
                      : store_.execute(st_->list_by_user, {StoreValue::text(request.user_id())}, readCall());
  if (!r.ok()) return r.status().withContext("listing pushes");
  pb::ListPushesResponse out;
  for (size_t i = 0; i < r->rows.size(); ++i) {
    pb::Push* p = out.add_pushes();
    p->set_push_id(r->cell(i, "push_id").s);
    p->set_device_id(r->cell(i, "device_id").s);
    p->set_account_id(r->cell(i, "account_id").s);
    p->set_feed_item_id(r->cell(i, "feed_item_id").s);
    p->set_title(r->cell(i, "title").s);
    p->set_body(r->cell(i, "body").s);
    p->set_sent_at_us(r->cell(i, "sent_us").i);
  }
  return out;
}

}  // namespace sandbank::notification
