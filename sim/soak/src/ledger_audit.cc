// auditLedger: reads every customer address's EntrySets and holds, traces each EntrySet
// to its origin, then matches the acknowledged movements against those origins.
// Thread-safety: stateless.
#include "sandbank/soak/ledger_audit.h"

#include <map>
#include <set>
#include <unordered_map>

#include "sandbank/kit/store_client.h"

namespace sandbank::soak {
namespace {

using kit::StoreCall;
using kit::StoreRows;
using kit::StoreStatement;
using kit::StoreValue;
using load::MoneyMovement;
using load::OpKind;

constexpr size_t kMaxProblems = 50;

std::string mainAddress(const std::string& account_id) { return "account:" + account_id + ":main"; }
std::string potAddress(const std::string& pot_id) { return "pot:" + pot_id; }
std::string holdKey(const std::string& auth) { return "card-processor:hold:" + auth; }

std::string idOf(const MoneyMovement& m, const char* field) {
  auto it = m.ids.find(field);
  return it == m.ids.end() ? std::string() : it->second;
}

// Prepared statements, one per CQL text, prepared on first use.
class Reader {
 public:
  Reader(kit::StoreClient& store, const std::string& consistency) : store_(store) { call_.consistency = consistency; }

  Result<StoreRows> query(const std::string& cql, const std::vector<StoreValue>& values) {
    auto it = prepared_.find(cql);
    if (it == prepared_.end()) {
      SANDBANK_ASSIGN_OR_RETURN(StoreStatement st, store_.prepare(cql));
      it = prepared_.emplace(cql, std::move(st)).first;
    }
    auto r = store_.execute(it->second, values, call_);
    if (!r.ok()) return r.status().withContext(cql);
    return r;
  }

 private:
  kit::StoreClient& store_;
  StoreCall call_;
  std::unordered_map<std::string, StoreStatement> prepared_;
};

struct Posting {
  std::string entryset_id;
  std::string ledger_key;
};

struct HoldRow {
  std::string hold_id;
  std::string state;
};

class Audit {
 public:
  Audit(kit::StoreClient& store, const std::string& consistency) : reader_(store, consistency) {}

  // The origin of a ledger key (see ledger_audit.h), cached by key.
  Result<std::string> originOf(const std::string& key) {
    if (auto it = origins_.find(key); it != origins_.end()) return it->second;
    std::string origin = "ledger/" + key;
    if (key.rfind("p2p:", 0) == 0) {
      SANDBANK_ASSIGN_OR_RETURN(StoreRows r, reader_.query("SELECT idempotency_key FROM p2p.transfers WHERE transfer_id = ?",
                                                           {StoreValue::text(key.substr(4))}));
      if (!r.rows.empty()) origin = "transfer/" + r.cell(0, "idempotency_key").s;
    } else if (key.rfind("pots:", 0) == 0) {
      SANDBANK_ASSIGN_OR_RETURN(StoreRows r, reader_.query("SELECT idempotency_key FROM pots.moves WHERE move_id = ?",
                                                           {StoreValue::text(key.substr(5))}));
      if (!r.rows.empty()) origin = "pot/" + r.cell(0, "idempotency_key").s;
    } else if (key.rfind("card-processor:clearing:", 0) == 0) {
      origin = "clear/" + key.substr(24);
    } else if (key.rfind("fps:", 0) == 0) {
      auto colon = key.rfind(':');
      if (colon > 4) origin = "fps/" + key.substr(4, colon - 4) + "/" + key.substr(colon + 1);
    }
    origins_.emplace(key, origin);
    return origin;
  }

  // Every EntrySet at `address`, by origin.
  Result<const std::map<std::string, std::vector<Posting>>*> postingsAt(const std::string& address) {
    if (auto it = postings_.find(address); it != postings_.end()) return &it->second;
    SANDBANK_ASSIGN_OR_RETURN(StoreRows entries, reader_.query("SELECT entryset_id FROM ledger.entries WHERE address = ?",
                                                               {StoreValue::text(address)}));
    std::set<std::string> ids;
    for (size_t i = 0; i < entries.rows.size(); ++i) ids.insert(entries.cell(i, "entryset_id").s);
    std::map<std::string, std::vector<Posting>> by_origin;
    for (const auto& id : ids) {
      std::string key;
      if (auto it = entryset_keys_.find(id); it != entryset_keys_.end()) {
        key = it->second;
      } else {
        SANDBANK_ASSIGN_OR_RETURN(StoreRows es, reader_.query("SELECT idempotency_key FROM ledger.entrysets WHERE entryset_id = ?",
                                                              {StoreValue::text(id)}));
        key = es.rows.empty() ? "" : es.cell(0, "idempotency_key").s;
        entryset_keys_.emplace(id, key);
        ++entrysets_;
      }
      SANDBANK_ASSIGN_OR_RETURN(std::string origin, originOf(key));
      by_origin[origin].push_back({id, key});
    }
    return &postings_.emplace(address, std::move(by_origin)).first->second;
  }

  // Holds at `address` by their idempotency key.
  Result<const std::map<std::string, std::vector<HoldRow>>*> holdsAt(const std::string& address) {
    if (auto it = holds_.find(address); it != holds_.end()) return &it->second;
    SANDBANK_ASSIGN_OR_RETURN(StoreRows ids, reader_.query("SELECT hold_id FROM ledger.holds_by_address WHERE address = ?",
                                                           {StoreValue::text(address)}));
    std::map<std::string, std::vector<HoldRow>> by_key;
    for (size_t i = 0; i < ids.rows.size(); ++i) {
      std::string id = ids.cell(i, "hold_id").s;
      SANDBANK_ASSIGN_OR_RETURN(StoreRows h, reader_.query("SELECT idempotency_key, state FROM ledger.holds WHERE hold_id = ?",
                                                           {StoreValue::text(id)}));
      if (h.rows.empty()) continue;
      by_key[h.cell(0, "idempotency_key").s].push_back({id, h.cell(0, "state").s});
    }
    return &holds_.emplace(address, std::move(by_key)).first->second;
  }

  Result<std::string> fpsClaim(const std::string& claim_key) {
    SANDBANK_ASSIGN_OR_RETURN(StoreRows r, reader_.query("SELECT result_id FROM fps.idempotency WHERE idempotency_key = ?",
                                                         {StoreValue::text(claim_key)}));
    return r.rows.empty() ? std::string() : r.cell(0, "result_id").s;
  }

  const std::map<std::string, std::map<std::string, std::vector<Posting>>>& allPostings() const { return postings_; }
  int64_t entrysets() const { return entrysets_; }

 private:
  Reader reader_;
  std::unordered_map<std::string, std::string> origins_;        // ledger key -> origin
  std::unordered_map<std::string, std::string> entryset_keys_;  // entryset id -> ledger key
  std::map<std::string, std::map<std::string, std::vector<Posting>>> postings_;  // address -> origin -> postings
  std::map<std::string, std::map<std::string, std::vector<HoldRow>>> holds_;      // address -> key -> holds
  int64_t entrysets_ = 0;
};

std::string describe(const MoneyMovement& m) {
  return std::string(load::opKindName(m.kind)) + " key " + m.key + " (" + std::to_string(m.amount_minor) + " " +
         m.currency + ", account " + m.account_id + ", trace " + m.trace_id + ")";
}

}  // namespace

Result<LedgerAudit> auditLedger(kit::StoreClient& store, const load::LoadReport& report, const std::string& consistency) {
  LedgerAudit out;
  Audit audit(store, consistency);
  auto problem = [&](std::string text) {
    if (out.problems.size() < kMaxProblems) out.problems.push_back(std::move(text));
  };

  std::set<std::string> explained;  // "address|origin" an acknowledged movement accounts for
  // Checks that `origin` has exactly one EntrySet at `address`; 0 = missing, 2+ = duplicated.
  auto exactlyOnce = [&](const MoneyMovement& m, const std::string& address, const std::string& origin) -> Result<int> {
    SANDBANK_ASSIGN_OR_RETURN(auto postings, audit.postingsAt(address));
    explained.insert(address + "|" + origin);
    auto it = postings->find(origin);
    int n = it == postings->end() ? 0 : static_cast<int>(it->second.size());
    if (n == 0) problem("missing: " + describe(m) + ": no EntrySet of " + origin + " at " + address);
    if (n > 1) {
      std::string ids;
      for (const auto& p : it->second) ids += " " + p.entryset_id + "(" + p.ledger_key + ")";
      problem("duplicated: " + describe(m) + ": " + std::to_string(n) + " EntrySets of " + origin + " at " + address +
              ":" + ids);
    }
    return n;
  };

  // The edge scopes a customer's idempotency key to the customer before the services see
  // it ("edge:<user id>:<key>"); scheme routes pass the scheme's ids through unchanged.
  std::map<std::string, std::string> user_of;  // account id -> user id
  for (const auto& c : report.customers) user_of[c.account_id] = c.user_id;
  auto scoped = [&](const MoneyMovement& m) { return "edge:" + user_of[m.account_id] + ":" + m.key; };

  std::map<std::string, std::string> authorised;  // scheme message id -> authorisation id
  for (const auto& m : report.movements)
    if (m.kind == OpKind::kCardAuthorise) authorised[m.key] = idOf(m, "authorisation_id");

  for (const auto& m : report.movements) {
    if (m.kind == OpKind::kCardRetransmit) {
      auto it = authorised.find(m.key);
      if (it != authorised.end()) {
        ++out.retransmissions;
        if (it->second != idOf(m, "authorisation_id")) {
          ++out.mismatched;
          problem("mismatched: " + describe(m) + ": retransmission answered with authorisation " +
                  idOf(m, "authorisation_id") + ", the original with " + it->second);
        }
        continue;
      }
      // The original got no answer: this retransmission is the acknowledged authorise.
    }
    ++out.acknowledged;
    const std::string main = mainAddress(m.account_id);
    int worst = 1;  // the count furthest from 1 across the addresses checked
    auto fold = [&](int n) {
      if (n != 1 && (worst == 1 || n == 0)) worst = n;
    };
    bool mismatch = false;
    switch (m.kind) {
      case OpKind::kGetPaid:
      case OpKind::kPayment: {
        const bool in = m.kind == OpKind::kGetPaid;
        std::string pid = idOf(m, "payment_id");
        SANDBANK_ASSIGN_OR_RETURN(std::string claimed, audit.fpsClaim(in ? "scheme:" + m.key : "send:" + scoped(m)));
        if (claimed != pid) {
          mismatch = true;
          problem("mismatched: " + describe(m) + ": answered payment " + pid + " but fps.idempotency names '" +
                  claimed + "'");
        }
        SANDBANK_ASSIGN_OR_RETURN(int n, exactlyOnce(m, main, "fps/" + pid + (in ? "/credit" : "/debit")));
        fold(n);
        // A payment out may since have been settled or reversed: those legs are its own.
        for (const char* leg : {"/settle", "/reverse"}) explained.insert(main + "|fps/" + pid + leg);
        break;
      }
      case OpKind::kTransfer: {
        SANDBANK_ASSIGN_OR_RETURN(int n, exactlyOnce(m, main, "transfer/" + scoped(m)));
        fold(n);
        SANDBANK_ASSIGN_OR_RETURN(int n2, exactlyOnce(m, mainAddress(m.counterparty), "transfer/" + scoped(m)));
        fold(n2);
        break;
      }
      case OpKind::kPotDeposit:
      case OpKind::kPotWithdraw: {
        SANDBANK_ASSIGN_OR_RETURN(int n, exactlyOnce(m, main, "pot/" + scoped(m)));
        fold(n);
        SANDBANK_ASSIGN_OR_RETURN(int n2, exactlyOnce(m, potAddress(idOf(m, "pot_id")), "pot/" + scoped(m)));
        fold(n2);
        break;
      }
      case OpKind::kCardClear: {
        SANDBANK_ASSIGN_OR_RETURN(int n, exactlyOnce(m, main, "clear/" + idOf(m, "authorisation_id")));
        fold(n);
        break;
      }
      case OpKind::kCardAuthorise:
      case OpKind::kCardRetransmit:
      case OpKind::kCardReverse: {
        std::string auth = idOf(m, "authorisation_id");
        SANDBANK_ASSIGN_OR_RETURN(auto holds, audit.holdsAt(main));
        auto it = holds->find(holdKey(auth));
        int n = it == holds->end() ? 0 : static_cast<int>(it->second.size());
        if (n == 0) problem("missing: " + describe(m) + ": no hold with key " + holdKey(auth) + " at " + main);
        if (n > 1) problem("duplicated: " + describe(m) + ": " + std::to_string(n) + " holds with key " + holdKey(auth));
        fold(n);
        if (n == 1 && m.kind != OpKind::kCardReverse && !idOf(m, "hold_id").empty() &&
            it->second[0].hold_id != idOf(m, "hold_id")) {
          mismatch = true;
          problem("mismatched: " + describe(m) + ": answered hold " + idOf(m, "hold_id") + ", the ledger holds " +
                  it->second[0].hold_id);
        }
        if (n == 1 && m.kind == OpKind::kCardReverse && it->second[0].state == "active") {
          mismatch = true;
          problem("mismatched: " + describe(m) + ": reversed, but hold " + it->second[0].hold_id + " is still active");
        }
        break;
      }
      default:
        break;
    }
    if (worst == 0) ++out.missing;
    else if (worst > 1) ++out.duplicated;
    else if (mismatch) ++out.mismatched;
    else ++out.found_once;
  }

  // Every customer address, whether or not an acknowledged movement touched it: any
  // origin posted twice is a duplicate; postings no acknowledged movement explains came
  // from requests whose answer was lost.
  for (const auto& c : report.customers)
    if (!c.account_id.empty()) SANDBANK_RETURN_IF_ERROR(audit.postingsAt(mainAddress(c.account_id)).status());
  for (const auto& [address, by_origin] : audit.allPostings()) {
    ++out.addresses;
    for (const auto& [origin, postings] : by_origin) {
      if (postings.size() > 1 && !explained.count(address + "|" + origin)) {
        ++out.duplicate_origins;
        std::string ids;
        for (const auto& p : postings) ids += " " + p.entryset_id + "(" + p.ledger_key + ")";
        problem("duplicated (unacknowledged request): " + std::to_string(postings.size()) + " EntrySets of " + origin +
                " at " + address + ":" + ids);
      }
      if (!explained.count(address + "|" + origin)) ++out.unacknowledged_postings;
    }
  }
  out.entrysets = audit.entrysets();
  return out;
}

}  // namespace sandbank::soak
