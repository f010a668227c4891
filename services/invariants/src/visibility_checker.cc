// Invariant 8 from the bus's record of acknowledged ledger writes; see visibility_checker.h.
#include "sandbank/invariants/visibility_checker.h"

#include <algorithm>

#include "sandbank/bank/ledger.pb.h"
#include "sandbank/invariants/bus_history.h"

namespace sandbank::invariants {

namespace {

int readReplicas(const std::string& cl, int rf) {
  if (cl == "ONE" || cl == "LOCAL_ONE") return 1;
  if (cl == "TWO") return 2;
  if (cl == "THREE") return 3;
  if (cl == "ALL") return rf;
  return rf / 2 + 1;  // QUORUM, LOCAL_QUORUM, EACH_QUORUM, SERIAL
}

}  // namespace

Result<CheckReport> checkVisibility(kit::StoreClient& store, const VisibilityOptions& options) {
  CheckReport report;
  auto history = readTopic(options.bus_address, "ledger.entrysets");
  if (!history.ok()) return history.status().withContext("invariant 8");
  const int r = readReplicas(options.read_consistency, options.replication_factor);
  if (options.write_ack_replicas + r <= options.replication_factor) {
    report.notes.push_back("invariant 8 not checked: W + R = " + std::to_string(options.write_ack_replicas + r) +
                           " <= RF " + std::to_string(options.replication_factor) + ", stale reads are allowed");
    return report;
  }
  std::vector<BusRecord>& records = *history;
  std::sort(records.begin(), records.end(), [](const BusRecord& a, const BusRecord& b) {
    return a.append_us > b.append_us;
  });
  if (static_cast<int>(records.size()) > options.max_writes) {
    report.notes.push_back("invariant 8: checked the " + std::to_string(options.max_writes) + " most recent of " +
                           std::to_string(records.size()) + " acknowledged EntrySets");
    records.resize(static_cast<size_t>(options.max_writes));
  }
  auto stmt = store.prepare("SELECT entryset_id, posted_us FROM entrysets WHERE entryset_id = ?", "ledger");
  if (!stmt.ok()) {
    if (records.empty()) return report;  // no ledger at all yet
    return stmt.status().withContext("invariant 8: preparing the read");
  }
  int refused = 0;
  for (const auto& rec : records) {
    sandbank::bank::ledger::EntrySetPosted posted;
    if (!posted.ParseFromString(rec.value) || posted.entryset().entryset_id().empty()) {
      report.notes.push_back("invariant 8: ledger.entrysets/" + std::to_string(rec.partition) + "@" +
                             std::to_string(rec.offset) + " is not an EntrySetPosted; skipped");
      continue;
    }
    const std::string& id = posted.entryset().entryset_id();
    ++report.visibility_reads;
    for (int node = 1; node <= options.coordinators; ++node) {
      kit::StoreCall call;
      call.consistency = options.read_consistency;
      call.coordinator = node;
      call.timeout_ms = 2000;
      auto row = store.execute(*stmt, {kit::StoreValue::text(id)}, call);
      if (!row.ok()) {
        ++refused;
        continue;
      }
      if (row->rows.empty()) {
        Violation v;
        v.invariant = 8;
        v.subject = "entryset " + id;
        v.detail = "acknowledged (published on ledger.entrysets) but a " + options.read_consistency +
                   " read through node-" + std::to_string(node) + " returns no row (W+R > RF must see it)";
        v.trace_id = rec.trace_id;
        v.rows.push_back("ledger.entrysets/" + std::to_string(rec.partition) + "@" + std::to_string(rec.offset) +
                         ": entryset_id=" + id + " account=" + posted.account_id());
        report.violations.push_back(std::move(v));
      }
    }
  }
  if (refused > 0)
    report.notes.push_back("invariant 8: " + std::to_string(refused) +
                           " read(s) refused by the store (Unavailable/timeout), which is not a stale read");
  return report;
}

}  // namespace sandbank::invariants
