// Cards over the store; see cards.h. Issue: claim the key, check the account, reserve a
// unique token (LWT), write the card and its account index in one batch, publish ISSUED.
#include "sandbank/card/cards.h"

#include <grpcpp/grpcpp.h>

#include <cstdio>

#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bankcore/card_schema.h"
#include "sandbank/kit/log.h"

namespace sandbank::card {
namespace schema = bank::card_schema;
namespace account_pb = ::sandbank::bank::account;
using kit::StoreValue;

struct Cards::Statements {
  kit::StoreStatement insert_card, read_card, reserve_token, read_token, read_by_account, set_status;
};

struct Cards::Upstream {
  std::unique_ptr<account_pb::Account::Stub> account;
};

namespace {

std::string statusName(pb::CardStatus s) {
  switch (s) {
    case pb::CARD_ACTIVE: return std::string(schema::kActive);
    case pb::CARD_FROZEN: return std::string(schema::kFrozen);
    case pb::CARD_CANCELLED: return std::string(schema::kCancelled);
    default: return "";
  }
}

pb::CardStatus statusOf(const std::string& s) {
  if (s == schema::kActive) return pb::CARD_ACTIVE;
  if (s == schema::kFrozen) return pb::CARD_FROZEN;
  if (s == schema::kCancelled) return pb::CARD_CANCELLED;
  return pb::CARD_STATUS_UNSPECIFIED;
}

}  // namespace

Cards::Cards(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, CardsOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()),
      up_(std::make_unique<Upstream>()), rng_(std::random_device{}()) {}

Cards::~Cards() = default;

Result<std::unique_ptr<Cards>> Cards::open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                           std::shared_ptr<grpc::Channel> account, CardsOptions options) {
  if (!account) return InvalidArgument("the card service needs a channel to the account service");
  std::unique_ptr<Cards> c(new Cards(store, bus, clock, std::move(options)));
  if (Status s = c->init(std::move(account)); !s.ok()) return s.withContext("card service start-up");
  return c;
}

Status Cards::init(std::shared_ptr<grpc::Channel> account) {
  up_->account = account_pb::Account::NewStub(std::move(account));
  SANDBANK_RETURN_IF_ERROR(
      store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, schema::kTables));
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&st_->insert_card, "BEGIN BATCH INSERT INTO cards (card_id, account_id, token, last_four, status, created_us) "
                          "VALUES (?, ?, ?, ?, 'active', ?); "
                          "INSERT INTO cards_by_account (account_id, card_id) VALUES (?, ?); APPLY BATCH"},
      {&st_->read_card, "SELECT account_id, token, last_four, status, created_us FROM cards WHERE card_id = ?"},
      {&st_->reserve_token, "INSERT INTO cards_by_token (token, card_id) VALUES (?, ?) IF NOT EXISTS"},
      {&st_->read_token, "SELECT card_id FROM cards_by_token WHERE token = ?"},
      {&st_->read_by_account, "SELECT card_id FROM cards_by_account WHERE account_id = ?"},
      {&st_->set_status, "UPDATE cards SET status = ? WHERE card_id = ? IF status = ?"},
  };
  if (Status s = store_.prepareAll(all, std::string(schema::kKeyspace)); !s.ok()) return s;
  auto keys = bank::IdempotencyKeys::open(store_, schema::kKeyspace, options_.consistency, clock_);
  if (!keys.ok()) return keys.status();
  keys_ = std::move(keys).value();
  return OkStatus();
}

kit::StoreCall Cards::readCall() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  return c;
}

kit::StoreCall Cards::writeCall() {
  kit::StoreCall c = readCall();
  c.timestamp_us = timestamps_.next(clock_);
  return c;
}

kit::StoreCall Cards::lwtCall() const {
  kit::StoreCall c = readCall();
  c.serial_consistency = "LOCAL_SERIAL";
  return c;
}

Status Cards::checkAccount(const std::string& account_id) {
  account_pb::GetAccountRequest req;
  req.set_account_id(account_id);
  account_pb::AccountRecord account;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options_.upstream_timeout);
  grpc::Status s = up_->account->Get(&ctx, req, &account);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    return NotFound("no account " + account_id + " (cards are issued to existing accounts)");
  }
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Unavailable("the account service did not answer within " +
                       std::to_string(options_.upstream_timeout.count()) + "ms; retry with the same key");
  }
  if (!s.ok()) return Unavailable("the account service failed: " + s.error_message() + "; retry with the same key");
  if (account.status() != account_pb::ACCOUNT_ACTIVE) {
    return FailedPrecondition("account " + account_id + " is " + account_pb::AccountStatus_Name(account.status()) +
                              "; cards are issued to active accounts only");
  }
  return OkStatus();
}

std::string Cards::randomDigits(int n) {
  std::lock_guard lock(rng_mu_);
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>('0' + rng_() % 10));
  return out;
}

Result<std::string> Cards::reserveToken(const std::string& card_id) {
  // 128 random bits: a collision is all but impossible, but the LWT makes it certain.
  for (int attempt = 0; attempt < 5; ++attempt) {
    char buf[40];
    {
      std::lock_guard lock(rng_mu_);
      std::snprintf(buf, sizeof buf, "tok_%016llx%016llx", static_cast<unsigned long long>(rng_()),
                    static_cast<unsigned long long>(rng_()));
    }
    auto r = store_.execute(st_->reserve_token, {StoreValue::text(buf), StoreValue::text(card_id)}, lwtCall());
    if (!r.ok()) return r.status().withContext("reserving a token for card " + card_id);
    if (r->applied.value_or(false)) return std::string(buf);
  }
  return Internal("five random tokens in a row were taken; the token generator is broken");
}

Result<pb::CardRecord> Cards::issue(const pb::IssueRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  if (request.account_id().empty()) return InvalidArgument("account_id is required");
  SANDBANK_ASSIGN_OR_RETURN(bank::Claim claim,
                            keys_->claim(request.idempotency_key(), "card", request.account_id(), ids_.next("card")));
  if (!claim.fresh) {
    auto c = get(claim.id);
    if (c.ok()) c->set_replayed(true);
    // NotFound: the first attempt claimed the key and stopped before the card row; finish
    // it under the claimed id (a token it may have reserved stays unused: GetByToken
    // checks the card's own token).
    if (c.status().code() != StatusCode::kNotFound) return c;
  }
  // After the claim, so a retry of an issued card is answered whatever the account's
  // status is now; a refused check leaves no card, and a later retry checks again.
  SANDBANK_RETURN_IF_ERROR(checkAccount(request.account_id()));
  SANDBANK_ASSIGN_OR_RETURN(std::string token, reserveToken(claim.id));
  pb::CardRecord card;
  card.set_card_id(claim.id);
  card.set_account_id(request.account_id());
  card.set_token(token);
  card.set_last_four(randomDigits(4));
  card.set_status(pb::CARD_ACTIVE);
  card.set_created_at_us(toMicros(clock_.now()));
  auto w = store_.execute(st_->insert_card,
                          {StoreValue::text(card.card_id()), StoreValue::text(card.account_id()),
                           StoreValue::text(card.token()), StoreValue::text(card.last_four()),
                           StoreValue::integer(card.created_at_us()), StoreValue::text(card.account_id()),
                           StoreValue::text(card.card_id())},
                          writeCall());
  if (!w.ok()) return w.status().withContext("writing card " + card.card_id());
  publish(pb::CardEvent::ISSUED, card);
  return card;
}

Result<pb::CardRecord> Cards::get(const std::string& card_id) {
  if (card_id.empty()) return InvalidArgument("card_id is required");
  auto r = store_.execute(st_->read_card, {StoreValue::text(card_id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading card " + card_id);
  if (r->rows.empty()) return NotFound("no card " + card_id);
  pb::CardRecord c;
  c.set_card_id(card_id);
  c.set_account_id(r->cell(0, "account_id").s);
  c.set_token(r->cell(0, "token").s);
  c.set_last_four(r->cell(0, "last_four").s);
  c.set_status(statusOf(r->cell(0, "status").s));
  c.set_created_at_us(r->cell(0, "created_us").i);
  return c;
}

Result<pb::CardRecord> Cards::getByToken(const std::string& token) {
  if (token.empty()) return InvalidArgument("token is required");
  std::string cached;
  {
    std::lock_guard lock(token_mu_);
    if (auto it = token_cache_.find(token); it != token_cache_.end()) cached = it->second;
  }
  if (!cached.empty()) {
    auto c = get(cached);
    if (c.ok() && c->token() == token) return c;
    if (!c.ok() && c.status().code() != StatusCode::kNotFound) return c;
    // The card is gone (the store was reset): forget the pair and look the token up again.
    std::lock_guard lock(token_mu_);
    token_cache_.erase(token);
  }
  auto r = store_.execute(st_->read_token, {StoreValue::text(token)}, readCall());
  if (!r.ok()) return r.status().withContext("looking up a card token");
  if (r->rows.empty()) return NotFound("no card has token " + token);
  auto c = get(r->cell(0, "card_id").s);
  // A token reserved by an issue that stopped half-way belongs to no card.
  if (c.ok() && c->token() != token) return NotFound("no card has token " + token);
  if (c.status().code() == StatusCode::kNotFound) return NotFound("no card has token " + token);
  if (c.ok()) {
    std::lock_guard lock(token_mu_);
    if (token_cache_.size() >= kTokenCacheSize) token_cache_.clear();
    token_cache_.emplace(token, c->card_id());
  }
  return c;
}

Result<pb::ListByAccountResponse> Cards::listByAccount(const std::string& account_id) {
  if (account_id.empty()) return InvalidArgument("account_id is required");
  auto r = store_.execute(st_->read_by_account, {StoreValue::text(account_id)}, readCall());
  if (!r.ok()) return r.status().withContext("listing the cards of " + account_id);
  pb::ListByAccountResponse out;
  for (size_t i = 0; i < r->rows.size(); ++i) {
    SANDBANK_ASSIGN_OR_RETURN(*out.add_cards(), get(r->cell(i, "card_id").s));
  }
  return out;
}

Result<pb::CardRecord> Cards::changeStatus(const std::string& key, const std::string& card_id, pb::CardStatus to,
                                           pb::CardEvent::Kind kind) {
  if (key.empty()) return InvalidArgument("idempotency_key is required");
  SANDBANK_ASSIGN_OR_RETURN(pb::CardRecord card, get(card_id));
  // Each round reads the status, then moves it by LWT from exactly what it read; a lost
  // race re-reads (another change landed in between).
  for (int round = 0; round < 5; ++round) {
    if (card.status() == to) return card;  // a repeat, or nothing to do: no write, no event
    if (card.status() == pb::CARD_CANCELLED) {
      return FailedPrecondition("card " + card_id + " is cancelled; a cancelled card cannot become " +
                                statusName(to));
    }
    auto r = store_.execute(st_->set_status,
                            {StoreValue::text(statusName(to)), StoreValue::text(card_id),
                             StoreValue::text(statusName(card.status()))},
                            lwtCall());
    if (!r.ok()) return r.status().withContext("changing the status of card " + card_id);
    if (r->applied.value_or(false)) {
      card.set_status(to);
      publish(kind, card);
      return card;
    }
    card.set_status(statusOf(r->cell(0, "status").s));
  }
  return Aborted("card " + card_id + " kept changing under five attempts to make it " + statusName(to) + "; retry");
}

Result<pb::CardRecord> Cards::freeze(const pb::FreezeRequest& request) {
  return changeStatus(request.idempotency_key(), request.card_id(), pb::CARD_FROZEN, pb::CardEvent::FROZEN);
}

Result<pb::CardRecord> Cards::unfreeze(const pb::FreezeRequest& request) {
  return changeStatus(request.idempotency_key(), request.card_id(), pb::CARD_ACTIVE, pb::CardEvent::UNFROZEN);
}

Result<pb::CardRecord> Cards::cancel(const pb::CancelCardRequest& request) {
  return changeStatus(request.idempotency_key(), request.card_id(), pb::CARD_CANCELLED, pb::CardEvent::CANCELLED);
}

void Cards::publish(pb::CardEvent::Kind kind, const pb::CardRecord& card) {
  if (bus_ == nullptr) return;
  pb::CardEvent ev;
  ev.set_kind(kind);
  *ev.mutable_card() = card;
  ev.set_at_us(toMicros(clock_.now()));
  kit::BusMessage m;
  m.key = card.account_id();
  m.value = ev.SerializeAsString();
  m.headers.emplace_back("type", "sandbank.bank.card.CardEvent");
  const std::string id = card.card_id();
  bus_->send(options_.topic, std::move(m), [id](const kit::BusAck& ack) {
    if (!ack.status.ok()) kit::logError("publishing a card event failed", {{"card_id", id}, {"error", ack.status.toString()}});
  });
}

}  // namespace sandbank::card
