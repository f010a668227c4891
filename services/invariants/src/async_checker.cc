// Invariants 5 and 7 from the bus's history and the async services' tables; see
// async_checker.h. The bus is read with readTopic (bus_history.h: Browse, no consumer
// group, so checking moves no one's offsets); the store per account partition, since it
// has no full scans.
#include "sandbank/invariants/async_checker.h"

#include <map>
#include <set>
#include <sstream>

#include "sandbank/bank/card_processor.pb.h"
#include "sandbank/bank/fps.pb.h"
#include "sandbank/bank/transaction.pb.h"
#include "sandbank/bankcore/feed_schema.h"
#include "sandbank/bankcore/fps_schema.h"
#include "sandbank/bankcore/transaction_schema.h"
#include "sandbank/invariants/bus_history.h"

namespace sandbank::invariants {
namespace {

namespace cp = ::sandbank::bank::card_processor;
namespace tx = ::sandbank::bank::transaction;
namespace fps = ::sandbank::bank::fps;
using kit::StoreRows;
using kit::StoreValue;

std::string where(const std::string& topic, const BusRecord& r) {
  return topic + "[" + std::to_string(r.partition) + "]@" + std::to_string(r.offset) +
         (r.trace_id.empty() ? "" : " trace=" + r.trace_id);
}

std::string show(const StoreValue& v) {
  switch (v.kind) {
    case StoreValue::Kind::kNull: return "null";
    case StoreValue::Kind::kInt:
    case StoreValue::Kind::kTimestampMs: return std::to_string(v.i);
    case StoreValue::Kind::kBool: return v.i ? "true" : "false";
    default: return "'" + v.s + "'";
  }
}

std::string rowText(const std::string& table, const StoreRows& rows, size_t row) {
  std::string out = table + ":";
  for (size_t c = 0; c < rows.columns.size() && c < rows.rows[row].size(); ++c) {
    out += " " + rows.columns[c] + "=" + show(rows.rows[row][c]);
  }
  return out;
}

bool missingSchema(const Status& s) {
  return s.message().find("nconfigured") != std::string::npos || s.message().find("does not exist") != std::string::npos ||
         s.message().find("nknown keyspace") != std::string::npos || s.message().find("nknown table") != std::string::npos;
}

std::string txState(tx::TransactionState s) {
  switch (s) {
    case tx::PENDING: return "pending";
    case tx::SETTLED: return "settled";
    case tx::REVERSED: return "reversed";
    case tx::DECLINED: return "declined";
    default: return "none";
  }
}

tx::TransactionState txStateOf(const std::string& s) {
  if (s == "pending") return tx::PENDING;
  if (s == "settled") return tx::SETTLED;
  if (s == "reversed") return tx::REVERSED;
  if (s == "declined") return tx::DECLINED;
  return tx::TRANSACTION_STATE_UNSPECIFIED;
}

// A transaction is created in any state; after that only pending -> settled | reversed.
bool txForward(tx::TransactionState from, tx::TransactionState to) {
  if (to == tx::TRANSACTION_STATE_UNSPECIFIED) return false;
  if (from == tx::TRANSACTION_STATE_UNSPECIFIED) return true;
  return from == tx::PENDING && (to == tx::SETTLED || to == tx::REVERSED);
}

bool payForward(fps::PaymentState from, fps::PaymentState to) {
  return from == fps::PAYMENT_PENDING && (to == fps::PAYMENT_COMPLETED || to == fps::PAYMENT_REVERSED);
}

class AsyncWalk {
 public:
  AsyncWalk(kit::StoreClient& store, const AsyncCheckOptions& options)
      : store_(store), bus_address_(options.bus_address) {
    call_.consistency = options.consistency;
  }

  Result<AsyncCheckReport> run() {
    SANDBANK_RETURN_IF_ERROR(checkAuthorisations());
    SANDBANK_RETURN_IF_ERROR(checkTransactionHistory());
    SANDBANK_RETURN_IF_ERROR(checkPaymentHistory());
    return out_;
  }

 private:
  // `trace_id`: the trace of the first record that shows it, when it has one.
  void add(int invariant, std::string subject, std::string detail, std::vector<std::string> rows,
           std::string trace_id = "") {
    out_.report.violations.push_back({invariant, std::move(subject), std::move(detail), std::move(rows),
                                      std::move(trace_id)});
  }

  // A query whose keyspace or table does not exist yet reads as no rows.
  Result<StoreRows> query(const std::string& cql, const std::vector<StoreValue>& values) {
    auto r = store_.execute(cql, values, call_);
    if (!r.ok() && missingSchema(r.status())) return StoreRows{};
    return r;
  }

  // The rows of one account partition, read once.
  Result<const StoreRows*> partition(std::map<std::string, StoreRows>& cache, const std::string& cql,
                                     const std::string& account) {
    auto it = cache.find(account);
    if (it != cache.end()) return &it->second;
    SANDBANK_ASSIGN_OR_RETURN(StoreRows rows, query(cql, {StoreValue::text(account)}));
    return &cache.emplace(account, std::move(rows)).first->second;
  }

  // ---- invariant 5 -------------------------------------------------------------------------

  Status checkAuthorisations() {
    SANDBANK_ASSIGN_OR_RETURN(auto records, readTopic(bus_address_, "card.authorisations"));
    out_.authorisation_records = static_cast<int64_t>(records.size());
    struct Approved {
      std::string account_id;
      std::string evidence;
      std::string trace_id;
    };
    std::map<std::string, Approved> approved;  // by authorisation id
    for (const BusRecord& r : records) {
      cp::AuthorisationEvent ev;
      if (!ev.ParseFromString(r.value)) continue;
      const auto& a = ev.authorisation();
      const bool was_approved = a.state() == cp::AUTH_APPROVED || a.state() == cp::AUTH_CLEARED ||
                                a.state() == cp::AUTH_REVERSED || a.state() == cp::AUTH_EXPIRED;
      if (!was_approved || a.authorisation_id().empty() || approved.count(a.authorisation_id())) continue;
      approved[a.authorisation_id()] = {a.account_id(), where("card.authorisations", r) + ": authorisation_id='" +
                                                            a.authorisation_id() + "' account_id='" + a.account_id() +
                                                            "' state=" + cp::AuthorisationState_Name(a.state()),
                                    r.trace_id};
    }
    out_.approved_authorisations = static_cast<int64_t>(approved.size());
    for (const auto& [auth_id, a] : approved) {
      SANDBANK_RETURN_IF_ERROR(checkApproved(auth_id, a.account_id, a.evidence, a.trace_id));
    }
    return OkStatus();
  }

  Status checkApproved(const std::string& auth_id, const std::string& account, const std::string& evidence,
                       const std::string& trace) {
    const std::string subject = "authorisation " + auth_id;
    const std::string txn_id = bank::transaction_schema::cardTransactionId(auth_id);
    // Transactions: the row by its derived id, and every transaction of the account that
    // names this authorisation as its source.
    SANDBANK_ASSIGN_OR_RETURN(
        StoreRows row, query("SELECT transaction_id, account_id, kind, source_id, state, previous_state, amount, "
                             "trace_id FROM transaction.transactions WHERE transaction_id = ?",
                             {StoreValue::text(txn_id)}));
    SANDBANK_ASSIGN_OR_RETURN(const StoreRows* listed,
                              partition(txn_index_,
                                        "SELECT account_id, created_us, transaction_id, kind, source_id FROM "
                                        "transaction.by_account WHERE account_id = ?",
                                        account));
    std::set<std::string> txn_ids;
    std::vector<std::string> txn_rows = {evidence};
    for (size_t i = 0; i < listed->rows.size(); ++i) {
      if (listed->cell(i, "kind").s != "card" || listed->cell(i, "source_id").s != auth_id) continue;
      txn_ids.insert(listed->cell(i, "transaction_id").s);
      txn_rows.push_back(rowText("transaction.by_account", *listed, i));
    }
    if (!row.rows.empty()) txn_rows.push_back(rowText("transaction.transactions", row, 0));
    if (row.rows.empty() && txn_ids.empty()) {
      add(5, subject, "approved, but it has no transaction (expected " + txn_id + ")", txn_rows, trace);
      return OkStatus();
    }
    if (txn_ids.size() > 1) {
      add(5, subject, "approved, and it has " + std::to_string(txn_ids.size()) + " transactions instead of one",
          txn_rows, trace);
    } else if (row.rows.empty()) {
      add(5, subject, "listed for account " + account + " but its transaction row " + txn_id + " is missing", txn_rows, trace);
    } else if (txn_ids.empty()) {
      add(5, subject, "transaction " + txn_id + " exists but is not listed for account " + account, txn_rows, trace);
    }
    // Feed items: the account's items that show this transaction.
    SANDBANK_ASSIGN_OR_RETURN(const StoreRows* items,
                              partition(feed_index_,
                                        "SELECT account_id, created_us, feed_item_id, source_event_id, transaction_id "
                                        "FROM feed.by_account WHERE account_id = ?",
                                        account));
    std::set<std::string> item_ids;
    std::vector<std::string> item_rows = {evidence};
    for (size_t i = 0; i < items->rows.size(); ++i) {
      const std::string& shows = items->cell(i, "transaction_id").s;
      if (shows.empty() || (shows != txn_id && !txn_ids.count(shows))) continue;
      item_ids.insert(items->cell(i, "feed_item_id").s);
      item_rows.push_back(rowText("feed.by_account", *items, i));
    }
    out_.feed_items += static_cast<int64_t>(item_ids.size());
    if (item_ids.size() != 1) {
      add(5, subject,
          item_ids.empty() ? "approved, but transaction " + txn_id + " has no feed item"
                           : "transaction " + txn_id + " has " + std::to_string(item_ids.size()) +
                                 " feed items instead of one",
          item_rows, trace);
    }
    // Pushes: at most one per feed item.
    SANDBANK_ASSIGN_OR_RETURN(const StoreRows* pushes,
                              partition(push_index_,
                                        "SELECT account_id, sent_us, push_id, device_id, feed_item_id, trace_id FROM "
                                        "notification.pushes_by_account WHERE account_id = ?",
                                        account));
    for (const std::string& item : item_ids) {
      std::vector<std::string> push_rows = {evidence};
      int64_t count = 0;
      for (size_t i = 0; i < pushes->rows.size(); ++i) {
        if (pushes->cell(i, "feed_item_id").s != item) continue;
        ++count;
        push_rows.push_back(rowText("notification.pushes_by_account", *pushes, i));
      }
      out_.pushes += count;
      if (count > 1) {
        add(5, "feed item " + item, std::to_string(count) + " pushes were sent for it (at most one allowed)",
            push_rows, trace);
      }
    }
    return OkStatus();
  }

  // ---- invariant 7: transactions -----------------------------------------------------------

  Status checkTransactionHistory() {
    SANDBANK_ASSIGN_OR_RETURN(auto records, readTopic(bus_address_, "transaction.events"));
    out_.transaction_events = static_cast<int64_t>(records.size());
    struct History {
      // Each distinct move seen, with the first record that showed it.
      std::map<std::pair<int, int>, std::string> moves;
      tx::TransactionState furthest = tx::TRANSACTION_STATE_UNSPECIFIED;
      std::vector<std::string> evidence;
      std::string trace_id;  // of the first event that has one
    };
    std::map<std::string, History> by_txn;
    for (const BusRecord& r : records) {
      tx::TransactionEvent ev;
      if (!ev.ParseFromString(r.value) || ev.transaction().transaction_id().empty()) continue;
      const std::string& id = ev.transaction().transaction_id();
      History& h = by_txn[id];
      const tx::TransactionState from = ev.previous_state();
      const tx::TransactionState to = ev.transaction().state();
      const std::string text = where("transaction.events", r) + ": transaction_id='" + id + "' previous_state=" +
                               txState(from) + " state=" + txState(to);
      if (h.evidence.size() < 8) h.evidence.push_back(text);
      if (h.trace_id.empty()) h.trace_id = r.trace_id;
      if (!txForward(from, to)) {
        add(7, "transaction " + id,
            "an event moved it from " + txState(from) + " to " + txState(to) + ", which is not a forward move", {text},
            r.trace_id);
      }
      h.moves.emplace(std::make_pair(static_cast<int>(from), static_cast<int>(to)), text);
      if (to == tx::SETTLED || to == tx::REVERSED || to == tx::DECLINED) h.furthest = to;
      else if (h.furthest == tx::TRANSACTION_STATE_UNSPECIFIED) h.furthest = to;
    }
    out_.transactions = static_cast<int64_t>(by_txn.size());
    for (auto& [id, h] : by_txn) {
      // A state left two different ways (pending -> settled and pending -> reversed, or
      // created twice in different states) means it moved after it had ended.
      std::map<int, std::vector<std::string>> leaving;
      for (const auto& [move, text] : h.moves) leaving[move.first].push_back(text);
      for (const auto& [from, texts] : leaving) {
        if (texts.size() > 1) {
          add(7, "transaction " + id,
              "it left " + txState(static_cast<tx::TransactionState>(from)) + " " + std::to_string(texts.size()) +
                  " different ways, so a final state was left",
              texts, h.trace_id);
        }
      }
      SANDBANK_ASSIGN_OR_RETURN(StoreRows row,
                                query("SELECT transaction_id, account_id, state, previous_state, amount, trace_id, "
                                      "updated_us FROM transaction.transactions WHERE transaction_id = ?",
                                      {StoreValue::text(id)}));
      if (row.rows.empty()) {
        add(7, "transaction " + id, "its events are on transaction.events but its row is missing", h.evidence,
            h.trace_id);
        continue;
      }
      const tx::TransactionState now = txStateOf(row.cell(0, "state").s);
      const tx::TransactionState prev = txStateOf(row.cell(0, "previous_state").s);
      std::vector<std::string> rows = h.evidence;
      rows.insert(rows.begin(), rowText("transaction.transactions", row, 0));
      // The row may be ahead of its events (published after the write), never behind.
      if (now != h.furthest && !txForward(h.furthest, now)) {
        add(7, "transaction " + id,
            "the row is " + txState(now) + " but its events already reached " + txState(h.furthest), rows, h.trace_id);
      } else if (!row.cell(0, "previous_state").s.empty() && !txForward(prev, now)) {
        add(7, "transaction " + id, "the row records a move from " + txState(prev) + " to " + txState(now), rows,
            h.trace_id);
      }
    }
    return OkStatus();
  }

  // ---- invariant 7: payments ---------------------------------------------------------------

  Status checkPaymentHistory() {
    SANDBANK_ASSIGN_OR_RETURN(auto records, readTopic(bus_address_, "fps.events"));
    out_.payment_events = static_cast<int64_t>(records.size());
    struct Last {
      fps::PaymentState state = fps::PAYMENT_STATE_UNSPECIFIED;
      std::string text;
      std::string trace_id;
    };
    std::map<std::string, Last> last;  // per payment, in offset order (one partition per account)
    for (const BusRecord& r : records) {
      fps::FpsEvent ev;
      if (!ev.ParseFromString(r.value) || ev.payment().payment_id().empty()) continue;
      const auto& p = ev.payment();
      const std::string text = where("fps.events", r) + ": payment_id='" + p.payment_id() + "' state=" +
                               fps::PaymentState_Name(p.state());
      Last& l = last[p.payment_id()];
      if (l.state != fps::PAYMENT_STATE_UNSPECIFIED && l.state != p.state() && !payForward(l.state, p.state())) {
        add(7, "payment " + p.payment_id(),
            "it moved from " + fps::PaymentState_Name(l.state) + " to " + fps::PaymentState_Name(p.state()) +
                ", which is not a forward move",
            {l.text, text}, r.trace_id);
      }
      // Keep the furthest state: after a violation, later events compare with it.
      if (l.state == fps::PAYMENT_STATE_UNSPECIFIED || payForward(l.state, p.state())) l = {p.state(), text, r.trace_id};
    }
    out_.payments = static_cast<int64_t>(last.size());
    // The fps service's current rows must not be behind what their events said.
    for (const auto& [id, l] : last) {
      SANDBANK_ASSIGN_OR_RETURN(StoreRows row, query("SELECT payment_id, account_id, direction, state, updated_us "
                                                     "FROM fps.payments WHERE payment_id = ?",
                                                     {StoreValue::text(id)}));
      if (row.rows.empty()) continue;  // no fps keyspace here, or a lost row: not an order question
      const std::string& state = row.cell(0, "state").s;
      bool behind = false;
      switch (l.state) {
        case fps::PAYMENT_COMPLETED: behind = state != bank::fps_schema::kCompleted; break;
        case fps::PAYMENT_REVERSED: behind = state != bank::fps_schema::kReversed; break;
        case fps::PAYMENT_DECLINED: behind = state != bank::fps_schema::kDeclined; break;
        case fps::PAYMENT_PENDING: behind = state == bank::fps_schema::kCreated; break;
        default: break;
      }
      if (behind) {
        add(7, "payment " + id,
            "the row is " + state + " but its events already reached " + fps::PaymentState_Name(l.state),
            {rowText("fps.payments", row, 0), l.text}, l.trace_id);
      }
    }
    return OkStatus();
  }

  kit::StoreClient& store_;
  std::string bus_address_;
  kit::StoreCall call_;
  AsyncCheckReport out_;
  std::map<std::string, StoreRows> txn_index_, feed_index_, push_index_;  // by account id
};

}  // namespace

std::string AsyncCheckReport::toText() const {
  std::ostringstream o;
  for (const auto& v : report.violations) {
    o << "invariant " << v.invariant << " violated by " << v.subject << ": " << v.detail << "\n";
    for (const auto& r : v.rows) o << "    " << r << "\n";
  }
  o << (report.violations.empty() ? "clean" : std::to_string(report.violations.size()) + " violation(s)") << ": "
    << approved_authorisations << " approved authorisations (" << authorisation_records << " records), "
    << feed_items << " feed items and " << pushes << " pushes for them; " << transactions << " transactions over "
    << transaction_events << " events; " << payments << " payments over " << payment_events << " events checked\n";
  return o.str();
}

Result<AsyncCheckReport> checkAsync(kit::StoreClient& store, const AsyncCheckOptions& options) {
  if (options.bus_address.empty()) return InvalidArgument("bus_address is required (host:port of the bus)");
  AsyncWalk walk(store, options);
  return walk.run();
}

}  // namespace sandbank::invariants
