// Transfers over the store, account, fraud and ledger; see transfers.h.
#include "sandbank/p2p/transfers.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>

#include "sandbank/bank/account.grpc.pb.h"
#include "sandbank/bank/fraud.grpc.pb.h"
#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/bankcore/money.h"
#include "sandbank/bankcore/p2p_schema.h"
#include "sandbank/kit/log.h"

namespace sandbank::p2p {
namespace schema = bank::p2p_schema;
namespace accountpb = ::sandbank::bank::account;
namespace fraudpb = ::sandbank::bank::fraud;
namespace ledgerpb = ::sandbank::bank::ledger;
using kit::StoreValue;

struct Transfers::Statements {
  kit::StoreStatement insert, read;
};

struct Transfers::Stubs {
  std::unique_ptr<accountpb::Account::Stub> account;
  std::unique_ptr<fraudpb::Fraud::Stub> fraud;
  std::unique_ptr<ledgerpb::Ledger::Stub> ledger;
};

namespace {

constexpr const char* kPending = "pending";
constexpr const char* kCompleted = "completed";
constexpr const char* kDeclined = "declined";

std::string stateName(pb::TransferState s) {
  switch (s) {
    case pb::TRANSFER_PENDING: return kPending;
    case pb::TRANSFER_COMPLETED: return kCompleted;
    case pb::TRANSFER_DECLINED: return kDeclined;
    default: return "";
  }
}

pb::TransferState stateOf(const std::string& s) {
  if (s == kPending) return pb::TRANSFER_PENDING;
  if (s == kCompleted) return pb::TRANSFER_COMPLETED;
  if (s == kDeclined) return pb::TRANSFER_DECLINED;
  return pb::TRANSFER_STATE_UNSPECIFIED;
}

Status fromGrpc(const grpc::Status& s, const std::string& what) {
  return Status(static_cast<StatusCode>(s.error_code()), what + ": " + s.error_message());
}

void setDeadline(grpc::ClientContext& ctx, std::chrono::milliseconds timeout) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

std::string accountStatusName(accountpb::AccountStatus s) {
  switch (s) {
    case accountpb::ACCOUNT_FROZEN: return "frozen";
    case accountpb::ACCOUNT_CLOSED: return "closed";
    default: return "not active";
  }
}

}  // namespace

Result<TransfersOptions> TransfersOptions::fromConfig(const kit::Config& config) {
  TransfersOptions o;
  o.consistency = config.getOr("P2P_CONSISTENCY", o.consistency);
  const std::string policy = config.getOr("P2P_FRAUD_POLICY", "fail_closed");
  if (policy == "fail_open") {
    o.fraud_policy = FraudPolicy::kFailOpen;
  } else if (policy == "fail_closed") {
    o.fraud_policy = FraudPolicy::kFailClosed;
  } else {
    return InvalidArgument("P2P_FRAUD_POLICY must be fail_open or fail_closed, got '" + policy + "'");
  }
  auto fraud = config.getDuration("P2P_FRAUD_TIMEOUT", o.fraud_timeout);
  if (!fraud.ok()) return fraud.status();
  o.fraud_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*fraud);
  auto upstream = config.getDuration("P2P_UPSTREAM_TIMEOUT", o.upstream_timeout);
  if (!upstream.ok()) return upstream.status();
  o.upstream_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*upstream);
  auto pending = config.getDuration("P2P_PENDING_TIMEOUT", o.pending_timeout);
  if (!pending.ok()) return pending.status();
  if (pending->count() <= 0) return InvalidArgument("P2P_PENDING_TIMEOUT must be positive");
  o.pending_timeout = std::chrono::duration_cast<std::chrono::microseconds>(*pending);
  return o;
}

Transfers::Transfers(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, TransfersOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(std::move(options)), st_(std::make_unique<Statements>()),
      stubs_(std::make_unique<Stubs>()) {}

Transfers::~Transfers() { stopSweeper(); }

Result<std::unique_ptr<Transfers>> Transfers::open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                                   TransfersOptions options) {
  std::unique_ptr<Transfers> t(new Transfers(store, bus, clock, std::move(options)));
  if (Status s = t->init(); !s.ok()) return s.withContext("p2p service start-up");
  return t;
}

Status Transfers::init() {
  if (!options_.account || !options_.fraud || !options_.ledger) {
    return FailedPrecondition("p2p needs channels to account, fraud and ledger");
  }
  stubs_->account = accountpb::Account::NewStub(options_.account);
  stubs_->fraud = fraudpb::Fraud::NewStub(options_.fraud);
  stubs_->ledger = ledgerpb::Ledger::NewStub(options_.ledger);
  SANDBANK_RETURN_IF_ERROR(
      store_.createSchema(std::string(schema::kKeyspace), options_.replication_factor, schema::kTables));
  auto insert = store_.prepare(
      "INSERT INTO transfers (transfer_id, idempotency_key, from_account_id, to_account_id, minor_units, currency, "
      "reference, state, decline_reason, entryset_id, entryset_key, floor_minor_units, created_us, updated_us) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      std::string(schema::kKeyspace));
  if (!insert.ok()) return insert.status();
  st_->insert = std::move(insert).value();
  auto read = store_.prepare(
      "SELECT idempotency_key, from_account_id, to_account_id, minor_units, currency, reference, state, "
      "decline_reason, entryset_id, floor_minor_units, created_us FROM transfers WHERE transfer_id = ?",
      std::string(schema::kKeyspace));
  if (!read.ok()) return read.status();
  st_->read = std::move(read).value();
  auto keys = bank::IdempotencyKeys::open(store_, schema::kKeyspace, options_.consistency, clock_);
  if (!keys.ok()) return keys.status();
  keys_ = std::move(keys).value();
  auto open = bank::OpenItems::open(store_, schema::kKeyspace, schema::kOpenTable, options_.consistency, clock_,
                                    schema::kOpenBuckets);
  if (!open.ok()) return open.status();
  open_ = std::move(open).value();
  return OkStatus();
}

kit::StoreCall Transfers::readCall() const {
  kit::StoreCall c;
  c.consistency = options_.consistency;
  return c;
}

kit::StoreCall Transfers::writeCall() {
  kit::StoreCall c = readCall();
  c.timestamp_us = timestamps_.next(clock_);
  return c;
}

namespace {
// The ledger key of a transfer's one EntrySet: fixed by the transfer id, which the
// transfer's idempotency key names, so every retry posts under the same key.
std::string ledgerKey(const std::string& transfer_id) { return "p2p:" + transfer_id; }
}  // namespace

Status Transfers::write(const Row& row) {
  const pb::TransferRecord& t = row.record;
  const bool pending = t.state() == pb::TRANSFER_PENDING;
  // Listed before the PENDING row exists and taken off after the final one, so no
  // pending transfer is ever off the list.
  if (pending) SANDBANK_RETURN_IF_ERROR(open_->add(t.transfer_id()));
  auto w = store_.execute(
      st_->insert,
      {StoreValue::text(t.transfer_id()), StoreValue::text(row.idempotency_key), StoreValue::text(t.from_account_id()),
       StoreValue::text(t.to_account_id()), StoreValue::integer(t.amount().minor_units()),
       StoreValue::text(t.amount().currency()), StoreValue::text(t.reference()), StoreValue::text(stateName(t.state())),
       StoreValue::text(t.decline_reason()), StoreValue::text(t.entryset_id()),
       StoreValue::text(ledgerKey(t.transfer_id())), StoreValue::integer(row.floor),
       StoreValue::integer(t.created_at_us()), StoreValue::integer(toMicros(clock_.now()))},
      writeCall());
  if (!w.ok()) return w.status().withContext("writing transfer " + t.transfer_id());
  if (!pending && row.listed) {
    // The transfer is final whatever happens here; a stale listing only costs the
    // sweeper a read.
    if (Status s = open_->remove(t.transfer_id()); !s.ok()) {
      kit::logWarn("p2p: finished transfer stays on the open list", {{"error", s.toString()}});
    }
  }
  return OkStatus();
}

Result<Transfers::Row> Transfers::read(const std::string& transfer_id) {
  auto r = store_.execute(st_->read, {StoreValue::text(transfer_id)}, readCall());
  if (!r.ok()) return r.status().withContext("reading transfer " + transfer_id);
  if (r->rows.empty()) return NotFound("no transfer " + transfer_id);
  Row row;
  pb::TransferRecord& t = row.record;
  t.set_transfer_id(transfer_id);
  t.set_from_account_id(r->cell(0, "from_account_id").s);
  t.set_to_account_id(r->cell(0, "to_account_id").s);
  t.mutable_amount()->set_minor_units(r->cell(0, "minor_units").i);
  t.mutable_amount()->set_currency(r->cell(0, "currency").s);
  t.set_reference(r->cell(0, "reference").s);
  t.set_state(stateOf(r->cell(0, "state").s));
  t.set_decline_reason(r->cell(0, "decline_reason").s);
  t.set_entryset_id(r->cell(0, "entryset_id").s);
  t.set_created_at_us(r->cell(0, "created_us").i);
  row.idempotency_key = r->cell(0, "idempotency_key").s;
  row.floor = r->cell(0, "floor_minor_units").i;
  row.listed = t.state() == pb::TRANSFER_PENDING;
  return row;
}

Result<pb::TransferRecord> Transfers::getTransfer(const std::string& transfer_id) {
  if (transfer_id.empty()) return InvalidArgument("transfer_id is required");
  SANDBANK_ASSIGN_OR_RETURN(Row row, read(transfer_id));
  return row.record;
}

Status Transfers::validateAccounts(const pb::CreateTransferRequest& request, int64_t* floor) {
  const std::pair<const char*, const std::string*> sides[] = {{"from_account_id", &request.from_account_id()},
                                                              {"to_account_id", &request.to_account_id()}};
  for (const auto& [field, id] : sides) {
    accountpb::GetAccountRequest req;
    req.set_account_id(*id);
    accountpb::AccountRecord a;
    grpc::ClientContext ctx;
    setDeadline(ctx, options_.upstream_timeout);
    grpc::Status s = stubs_->account->Get(&ctx, req, &a);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return NotFound(std::string(field) + ": no account " + *id);
    if (!s.ok()) return fromGrpc(s, "account.Get " + *id);
    if (a.status() != accountpb::ACCOUNT_ACTIVE) {
      return FailedPrecondition(std::string(field) + ": account " + *id + " is " + accountStatusName(a.status()));
    }
    if (a.currency() != request.amount().currency()) {
      return FailedPrecondition(std::string(field) + ": account " + *id + " holds " + a.currency() +
                                ", the transfer is in " + request.amount().currency());
    }
    if (*id == request.from_account_id()) *floor = -a.overdraft_limit_minor_units();
  }
  return OkStatus();
}

std::string Transfers::fraudCheck(const pb::CreateTransferRequest& request, const std::string& transfer_id) {
  fraudpb::ScoreTransferRequest req;
  req.set_from_account_id(request.from_account_id());
  req.set_to_account_id(request.to_account_id());
  *req.mutable_amount() = request.amount();
  req.set_external(false);
  fraudpb::Score score;
  grpc::ClientContext ctx;
  setDeadline(ctx, options_.fraud_timeout);
  grpc::Status s = stubs_->fraud->ScoreTransfer(&ctx, req, &score);
  if (s.ok()) {
    if (score.verdict() != fraudpb::BLOCK) return "";
    kit::logInfo("transfer blocked by fraud", {{"transfer_id", transfer_id}, {"reason", score.reason()}});
    return "fraud_blocked";
  }
  const bool open = options_.fraud_policy == FraudPolicy::kFailOpen;
  kit::logWarn(open ? "fraud check failed; failing open" : "fraud check failed; failing closed",
               {{"transfer_id", transfer_id}, {"error", s.error_message()}});
  return open ? "" : "fraud_unavailable";
}

Result<pb::TransferRecord> Transfers::createTransfer(const pb::CreateTransferRequest& request) {
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  if (request.from_account_id().empty()) return InvalidArgument("from_account_id is required");
  if (request.to_account_id().empty()) return InvalidArgument("to_account_id is required");
  if (request.from_account_id() == request.to_account_id()) {
    return InvalidArgument("to_account_id must differ from from_account_id (a transfer to oneself moves nothing)");
  }
  if (request.amount().minor_units() <= 0) {
    return InvalidArgument("amount.minor_units must be > 0, got " + std::to_string(request.amount().minor_units()));
  }
  if (Status s = bank::validateCurrency(request.amount().currency()); !s.ok()) {
    return InvalidArgument("amount.currency: " + std::string(s.message()));
  }
  const std::string fingerprint = request.from_account_id() + "\n" + request.to_account_id() + "\n" +
                                  std::to_string(request.amount().minor_units()) + " " +
                                  request.amount().currency() + "\n" + request.reference();
  SANDBANK_ASSIGN_OR_RETURN(bank::Claim claim,
                            keys_->claim(request.idempotency_key(), "transfer", fingerprint, ids_.next("tr")));
  if (!claim.fresh) {
    auto row = read(claim.id);
    if (row.ok()) {
      // A pending row: an earlier attempt passed fraud and stopped around the posting.
      if (row->record.state() == pb::TRANSFER_PENDING) {
        auto done = post(std::move(row).value());
        if (done.ok()) done->set_replayed(true);
        return done;
      }
      row->record.set_replayed(true);
      return row->record;
    }
    if (row.status().code() != StatusCode::kNotFound) return row.status();
    // The first attempt stopped before writing anything: do the work under its id.
  }
  Row row;
  row.idempotency_key = request.idempotency_key();
  SANDBANK_RETURN_IF_ERROR(validateAccounts(request, &row.floor));
  pb::TransferRecord& t = row.record;
  t.set_transfer_id(claim.id);
  t.set_from_account_id(request.from_account_id());
  t.set_to_account_id(request.to_account_id());
  *t.mutable_amount() = request.amount();
  t.set_reference(request.reference());
  t.set_created_at_us(toMicros(clock_.now()));
  const std::string declined = fraudCheck(request, claim.id);
  if (!declined.empty()) {
    t.set_state(pb::TRANSFER_DECLINED);
    t.set_decline_reason(declined);
    return finish(std::move(row));
  }
  t.set_state(pb::TRANSFER_PENDING);
  row.listed = true;
  SANDBANK_RETURN_IF_ERROR(write(row));
  return post(std::move(row));
}

Result<pb::TransferRecord> Transfers::post(Row row) {
  pb::TransferRecord& t = row.record;
  ledgerpb::PostEntrySetRequest req;
  req.set_idempotency_key(ledgerKey(t.transfer_id()));
  auto* debit = req.add_entries();
  debit->set_address(bank::mainAddress(bank::AccountId(t.from_account_id())));
  debit->mutable_amount()->set_minor_units(-t.amount().minor_units());
  debit->mutable_amount()->set_currency(t.amount().currency());
  auto* credit = req.add_entries();
  credit->set_address(bank::mainAddress(bank::AccountId(t.to_account_id())));
  *credit->mutable_amount() = t.amount();
  req.set_description("transfer to " + t.to_account_id() + (t.reference().empty() ? "" : ": " + t.reference()));
  req.set_source("p2p");
  req.set_reference(t.transfer_id());
  auto* floor = req.add_floors();
  floor->set_address(debit->address());
  floor->set_currency(t.amount().currency());
  floor->set_minimum_minor_units(row.floor);
  ledgerpb::PostEntrySetResponse resp;
  grpc::ClientContext ctx;
  setDeadline(ctx, options_.upstream_timeout);
  grpc::Status s = stubs_->ledger->PostEntrySet(&ctx, req, &resp);
  if (s.ok()) {
    t.set_state(pb::TRANSFER_COMPLETED);
    t.set_entryset_id(resp.entryset().entryset_id());
  } else if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
             s.error_message().find("insufficient funds") != std::string::npos) {
    t.set_state(pb::TRANSFER_DECLINED);
    t.set_decline_reason("insufficient_funds");
  } else {
    // The posting may or may not have happened; the transfer stays pending and a retry
    // with the same key re-sends this same posting, which the ledger applies once.
    return fromGrpc(s, "posting transfer " + t.transfer_id() +
                           " to the ledger failed; retry with the same idempotency key");
  }
  return finish(std::move(row));
}

Result<pb::TransferRecord> Transfers::finish(Row row) {
  // Events first, row second: a transfer is only marked finished once its events are on
  // the bus, so a crash in between ends in a retry that publishes again (duplicates are
  // the consumers' to drop, by transfer id), never in a lost event.
  SANDBANK_RETURN_IF_ERROR(publish(row.record));
  SANDBANK_RETURN_IF_ERROR(write(row));
  return row.record;
}

Result<bool> Transfers::resolve(const std::string& transfer_id) {
  auto row = read(transfer_id);
  if (row.status().code() == StatusCode::kNotFound) return true;  // listed, then stopped: nothing moved
  if (!row.ok()) return row.status();
  if (row->record.state() != pb::TRANSFER_PENDING) return true;  // finished, but still listed
  kit::logInfo("p2p sweeper: finishing a transfer left pending",
               {{"transfer_id", transfer_id}, {"from", row->record.from_account_id()}});
  SANDBANK_ASSIGN_OR_RETURN(pb::TransferRecord done, post(std::move(row).value()));
  return done.state() != pb::TRANSFER_PENDING;
}

bank::SweepReport Transfers::sweepOnce() {
  return open_->sweep(options_.pending_timeout, [this](const std::string& id) { return resolve(id); });
}

void Transfers::startSweeper(std::chrono::milliseconds interval) {
  sweeper_.start("p2p", interval, [this] { return sweepOnce(); });
}

void Transfers::stopSweeper() { sweeper_.stop(); }

Status Transfers::publish(const pb::TransferRecord& t) {
  if (bus_ == nullptr) return OkStatus();
  std::vector<std::string> sides = {t.from_account_id()};
  // A declined transfer concerns the payer only: the payee never saw money move.
  if (t.state() == pb::TRANSFER_COMPLETED) sides.push_back(t.to_account_id());
  struct Acks {
    std::mutex mu;
    std::condition_variable cv;
    size_t waiting = 0;  // guarded by mu
    Status error;        // guarded by mu
  };
  auto acks = std::make_shared<Acks>();
  acks->waiting = sides.size();
  for (const std::string& side : sides) {
    pb::TransferEvent ev;
    *ev.mutable_transfer() = t;
    ev.mutable_transfer()->set_replayed(false);
    ev.set_account_id(side);
    ev.set_at_us(toMicros(clock_.now()));
    kit::BusMessage m;
    m.key = side;
    m.value = ev.SerializeAsString();
    m.headers.emplace_back("type", "sandbank.bank.p2p.TransferEvent");
    bus_->send(options_.topic, std::move(m), [acks](const kit::BusAck& ack) {
      std::lock_guard lock(acks->mu);
      if (!ack.status.ok() && acks->error.ok()) acks->error = ack.status;
      --acks->waiting;
      acks->cv.notify_all();
    });
  }
  std::unique_lock lock(acks->mu);
  if (!acks->cv.wait_for(lock, options_.publish_timeout, [&] { return acks->waiting == 0; })) {
    return Unavailable("the bus did not acknowledge the events of transfer " + t.transfer_id() +
                       " in time; retry with the same idempotency key");
  }
  if (!acks->error.ok()) {
    return acks->error.withContext("publishing transfer " + t.transfer_id() + " (retry with the same key)");
  }
  return OkStatus();
}

}  // namespace sandbank::p2p
