// Invariants 1-4 and 6 over the ledger's tables; see ledger_checker.h. The store has no
// full scans, so the walk starts from the address directory (ledger.addresses) and
// reaches entries, EntrySets, balances and holds from there.
#include "sandbank/invariants/ledger_checker.h"

#include <map>
#include <set>
#include <sstream>

#include "sandbank/bankcore/ledger_schema.h"
#include "sandbank/bankcore/money.h"

namespace sandbank::invariants {
namespace schema = bank::ledger_schema;
using kit::StoreRows;
using kit::StoreValue;

namespace {

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

std::string sumsText(const std::map<std::string, int64_t>& sums) {
  std::string out;
  for (const auto& [cur, sum] : sums) out += (out.empty() ? "" : ", ") + cur + " " + std::to_string(sum);
  return out.empty() ? "nothing" : out;
}

class Walk {
 public:
  Walk(kit::StoreClient& store, const CheckOptions& options) : store_(store) { call_.consistency = options.consistency; }

  Result<CheckReport> run() {
    auto ks = query("SELECT address FROM ledger.addresses WHERE bucket = ?", {StoreValue::integer(0)});
    if (!ks.ok()) {
      // No ledger yet: nothing can be violated.
      if (ks.status().message().find("nconfigured") != std::string::npos ||
          ks.status().message().find("does not exist") != std::string::npos) {
        return report_;
      }
      return ks.status();
    }
    std::vector<std::string> addresses;
    for (int b = 0; b < schema::kAddressBuckets; ++b) {
      SANDBANK_ASSIGN_OR_RETURN(StoreRows rows,
                                query("SELECT address FROM ledger.addresses WHERE bucket = ?", {StoreValue::integer(b)}));
      for (size_t i = 0; i < rows.rows.size(); ++i) addresses.push_back(rows.cell(i, "address").s);
    }
    report_.addresses = static_cast<int64_t>(addresses.size());
    for (const std::string& a : addresses) SANDBANK_RETURN_IF_ERROR(checkAddress(a));
    SANDBANK_RETURN_IF_ERROR(checkEntrySets());
    return report_;
  }

 private:
  Result<StoreRows> query(const std::string& cql, const std::vector<StoreValue>& values) {
    return store_.execute(cql, values, call_);
  }

  void add(int invariant, std::string subject, std::string detail, std::vector<std::string> rows = {}) {
    report_.violations.push_back({invariant, std::move(subject), std::move(detail), std::move(rows), ""});
  }

  // Overdraft of account:<id>:main from account.accounts; 0 when the account is unknown.
  int64_t floorOf(const std::string& address, std::string* source) {
    if (address.rfind("pot:", 0) == 0) {
      *source = "pots may not go below 0";
      return 0;
    }
    auto account = bank::accountOf(address);
    auto r = query("SELECT overdraft FROM account.accounts WHERE account_id = ?", {StoreValue::text(account->value())});
    if (!r.ok() || r->rows.empty()) {
      *source = "no account row for " + account->value() + ", so no overdraft";
      return 0;
    }
    *source = rowText("account.accounts", *r, 0);
    return -r->cell(0, "overdraft").i;
  }

  Status checkAddress(const std::string& address) {
    SANDBANK_ASSIGN_OR_RETURN(StoreRows entries,
                              query("SELECT entryset_id, leg, amount, currency FROM ledger.entries WHERE address = ?",
                                    {StoreValue::text(address)}));
    SANDBANK_ASSIGN_OR_RETURN(StoreRows balances,
                              query("SELECT currency, settled, held, entry_count FROM ledger.balances WHERE address = ?",
                                    {StoreValue::text(address)}));
    SANDBANK_ASSIGN_OR_RETURN(StoreRows hold_ids, query("SELECT hold_id FROM ledger.holds_by_address WHERE address = ?",
                                                        {StoreValue::text(address)}));
    report_.entries += static_cast<int64_t>(entries.rows.size());
    struct Sum {
      int64_t settled = 0, count = 0, held = 0;
      std::vector<std::string> rows;
    };
    std::map<std::string, Sum> sums;
    for (size_t i = 0; i < entries.rows.size(); ++i) {
      const std::string& id = entries.cell(i, "entryset_id").s;
      const std::string& cur = entries.cell(i, "currency").s;
      sums[cur].settled += entries.cell(i, "amount").i;
      sums[cur].count += 1;
      if (sums[cur].rows.size() < 5) sums[cur].rows.push_back("ledger.entries: address='" + address + "' " +
                                                              rowText("", entries, i).substr(1));
      auto& legs = entry_legs_[id];
      legs.push_back({address, entries.cell(i, "amount").i, cur});
      leg_rows_[id].push_back("ledger.entries: address='" + address + "' " + rowText("", entries, i).substr(1));
    }
    for (size_t i = 0; i < hold_ids.rows.size(); ++i) {
      SANDBANK_RETURN_IF_ERROR(checkHold(address, hold_ids.cell(i, "hold_id").s, &sums));
    }
    std::set<std::string> cached;
    for (size_t i = 0; i < balances.rows.size(); ++i) {
      const std::string cur = balances.cell(i, "currency").s;
      cached.insert(cur);
      const int64_t settled = balances.cell(i, "settled").i;
      const int64_t held = balances.cell(i, "held").i;
      const int64_t count = balances.cell(i, "entry_count").i;
      const Sum& s = sums[cur];
      const std::string subject = "address " + address + " " + cur;
      std::vector<std::string> rows = {rowText("ledger.balances", balances, i)};
      rows.insert(rows.end(), s.rows.begin(), s.rows.end());
      if (settled != s.settled || count != s.count) {
        add(2, subject,
            "cached settled balance " + std::to_string(settled) + " over " + std::to_string(count) +
                " entries, but the entries sum to " + std::to_string(s.settled) + " over " + std::to_string(s.count),
            rows);
      }
      if (held != s.held) {
        add(4, subject,
            "cached held " + std::to_string(held) + " but the active holds sum to " + std::to_string(s.held) +
                ", so available (settled - held) is wrong",
            rows);
      }
      if (address.rfind("pot:", 0) == 0 || (bank::accountOf(address) && address.size() > 5 &&
                                            address.compare(address.size() - 5, 5, ":main") == 0)) {
        std::string source;
        const int64_t floor = floorOf(address, &source);
        const int64_t available = s.settled - s.held;
        if (available < floor) {
          rows.push_back(source);
          add(4, subject,
              "available " + std::to_string(available) + " (settled " + std::to_string(s.settled) + " - held " +
                  std::to_string(s.held) + ") is below the floor " + std::to_string(floor),
              rows);
        }
      }
    }
    for (const auto& [cur, s] : sums) {
      if (!cached.count(cur) && (s.count > 0 || s.held != 0)) {
        add(2, "address " + address + " " + cur,
            "no cached balance row, but " + std::to_string(s.count) + " entries sum to " + std::to_string(s.settled),
            s.rows);
      }
    }
    return OkStatus();
  }

  template <class Sums>
  Status checkHold(const std::string& address, const std::string& hold_id, Sums* sums) {
    ++report_.holds;
    SANDBANK_ASSIGN_OR_RETURN(StoreRows hold,
                              query("SELECT address, amount, currency, state, end_key, ended_us, settle_entryset_id "
                                    "FROM ledger.holds WHERE hold_id = ?",
                                    {StoreValue::text(hold_id)}));
    const std::string subject = "hold " + hold_id;
    if (hold.rows.empty()) {
      add(6, subject, "listed at " + address + " in ledger.holds_by_address but has no ledger.holds row");
      return OkStatus();
    }
    SANDBANK_ASSIGN_OR_RETURN(StoreRows ends, query("SELECT end_key, state, at_us FROM ledger.hold_ends WHERE hold_id = ?",
                                                    {StoreValue::text(hold_id)}));
    std::vector<std::string> rows = {rowText("ledger.holds", hold, 0)};
    for (size_t i = 0; i < ends.rows.size(); ++i) rows.push_back(rowText("ledger.hold_ends", ends, i));
    const std::string state = hold.cell(0, "state").s;
    if (state == schema::kHoldActive) {
      (*sums)[hold.cell(0, "currency").s].held += hold.cell(0, "amount").i;
      if (!ends.rows.empty()) {
        add(6, subject, "still active but has " + std::to_string(ends.rows.size()) + " recorded end(s)", rows);
      }
      return OkStatus();
    }
    if (ends.rows.size() != 1) {
      add(6, subject,
          "ended as " + state + " but has " + std::to_string(ends.rows.size()) +
              " recorded ends; a hold ends exactly once",
          rows);
    } else if (ends.cell(0, "state").s != state || ends.cell(0, "end_key").s != hold.cell(0, "end_key").s) {
      add(6, subject, "its state (" + state + ") disagrees with its recorded end (" + ends.cell(0, "state").s + ")",
          rows);
    }
    return OkStatus();
  }

  Status checkEntrySets() {
    std::map<std::string, std::vector<std::string>> by_key;  // idempotency key -> EntrySet ids
    for (const auto& [id, legs] : entry_legs_) {
      ++report_.entrysets;
      SANDBANK_ASSIGN_OR_RETURN(StoreRows es, query("SELECT idempotency_key, legs FROM ledger.entrysets WHERE entryset_id = ?",
                                                    {StoreValue::text(id)}));
      const std::string subject = "entryset " + id;
      std::vector<std::string> rows = leg_rows_[id];
      auto entry_sums = bank::sumsByCurrency(legs);
      for (const auto& [cur, sum] : entry_sums) {
        if (sum != 0) {
          add(1, subject, "its entry rows sum to " + sumsText(entry_sums) + " (must be 0 in each currency)", rows);
          break;
        }
      }
      if (es.rows.empty()) {
        add(1, subject, "entries reference this EntrySet but it has no ledger.entrysets row", rows);
        continue;
      }
      rows.insert(rows.begin(), rowText("ledger.entrysets", es, 0));
      std::vector<bank::Leg> stored;
      if (Status s = bank::decodeLegs(es.cell(0, "legs").s, &stored); !s.ok()) {
        add(1, subject, "its legs are malformed: " + s.message(), rows);
      } else {
        auto stored_sums = bank::sumsByCurrency(stored);
        for (const auto& [cur, sum] : stored_sums) {
          if (sum != 0) {
            add(1, subject, "its legs sum to " + sumsText(stored_sums) + " (must be 0 in each currency)", rows);
            break;
          }
        }
        if (stored.size() != legs.size()) {
          add(1, subject,
              "it has " + std::to_string(stored.size()) + " legs but " + std::to_string(legs.size()) +
                  " entry rows point at it",
              rows);
        }
      }
      by_key[es.cell(0, "idempotency_key").s].push_back(id);
    }
    for (const auto& [key, ids] : by_key) {
      std::string list;
      for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
      if (ids.size() > 1) {
        add(3, "idempotency key '" + key + "'", std::to_string(ids.size()) + " EntrySets were posted with it: " + list);
        continue;
      }
      SANDBANK_ASSIGN_OR_RETURN(StoreRows k, query("SELECT kind, result_id, state FROM ledger.idempotency WHERE "
                                                   "idempotency_key = ?",
                                                   {StoreValue::text(key)}));
      if (k.rows.empty() || k.cell(0, "result_id").s != ids[0] || k.cell(0, "state").s != "posted") {
        add(3, "idempotency key '" + key + "'",
            "EntrySet " + ids[0] + " was posted with it, but the key " +
                (k.rows.empty() ? std::string("has no ledger.idempotency row")
                                : "records " + show(k.cell(0, "result_id")) + " in state " + show(k.cell(0, "state"))) +
                ", so a retry would not return it",
            k.rows.empty() ? std::vector<std::string>{} : std::vector<std::string>{rowText("ledger.idempotency", k, 0)});
      }
    }
    return OkStatus();
  }

  kit::StoreClient& store_;
  kit::StoreCall call_;
  CheckReport report_;
  std::map<std::string, std::vector<bank::Leg>> entry_legs_;         // EntrySet id -> legs found in entries
  std::map<std::string, std::vector<std::string>> leg_rows_;          // EntrySet id -> those rows, as text
};

}  // namespace

std::vector<Violation> CheckReport::of(int invariant) const {
  std::vector<Violation> out;
  for (const auto& v : violations) {
    if (v.invariant == invariant) out.push_back(v);
  }
  return out;
}

std::string CheckReport::toText() const {
  std::ostringstream o;
  for (const auto& v : violations) {
    o << "invariant " << v.invariant << " violated by " << v.subject << ": " << v.detail << "\n";
    for (const auto& r : v.rows) o << "    " << r << "\n";
  }
  o << (violations.empty() ? "clean" : std::to_string(violations.size()) + " violation(s)") << ": " << addresses
    << " addresses, " << entrysets << " EntrySets, " << entries << " entries, " << holds << " holds checked\n";
  return o.str();
}

Result<CheckReport> checkLedger(kit::StoreClient& store, const CheckOptions& options) {
  return Walk(store, options).run();
}

}  // namespace sandbank::invariants
