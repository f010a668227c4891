// Runs every invariant check and merges the reports; see bank_checker.h.
#include "sandbank/invariants/bank_checker.h"

#include "sandbank/invariants/async_checker.h"
#include "sandbank/invariants/bus_history.h"
#include "sandbank/invariants/visibility_checker.h"

namespace sandbank::invariants {

namespace {

void merge(CheckReport& into, CheckReport&& from) {
  for (auto& v : from.violations) into.violations.push_back(std::move(v));
  for (auto& n : from.notes) into.notes.push_back(std::move(n));
  into.addresses += from.addresses;
  into.entrysets += from.entrysets;
  into.entries += from.entries;
  into.holds += from.holds;
  into.visibility_reads += from.visibility_reads;
}

}  // namespace

Result<BankCheckResult> checkBank(kit::StoreClient& store, const BankCheckOptions& options) {
  BankCheckResult out;
  int64_t lag_left = 0;
  if (!options.bus_address.empty() && options.settle.count() > 0) {
    auto lag = waitForConsumers(options.bus_address, options.settle);
    if (!lag.ok()) return lag.status();
    lag_left = *lag;
  }
  CheckOptions ledger_options;
  ledger_options.consistency = options.consistency;
  auto ledger = checkLedger(store, ledger_options);
  if (!ledger.ok()) return ledger.status();
  out.report = std::move(ledger).value();
  out.invariants = {1, 2, 3, 4, 6};
  if (!options.bus_address.empty()) {
    VisibilityOptions v;
    v.bus_address = options.bus_address;
    v.coordinators = options.store_nodes;
    auto vis = checkVisibility(store, v);
    if (!vis.ok()) return vis.status();
    merge(out.report, std::move(vis).value());
    AsyncCheckOptions a;
    a.bus_address = options.bus_address;
    a.consistency = options.consistency;
    auto async = checkAsync(store, a);
    if (!async.ok()) return async.status();
    out.counts = {{"approved authorisations", async->approved_authorisations},
                  {"transactions", async->transactions},
                  {"transaction events", async->transaction_events},
                  {"feed items", async->feed_items},
                  {"pushes", async->pushes},
                  {"payments", async->payments}};
    merge(out.report, std::move(async->report));
    out.invariants = {1, 2, 3, 4, 5, 6, 7, 8};
  } else {
    out.report.notes.push_back("invariants 5, 7 and 8 need the bus history: no bus address given");
  }
  out.counts.insert(out.counts.begin(), {{"addresses", out.report.addresses},
                                          {"entrysets", out.report.entrysets},
                                          {"entries", out.report.entries},
                                          {"holds", out.report.holds},
                                          {"acknowledged writes read back", out.report.visibility_reads}});
  if (lag_left > 0)
    out.report.notes.push_back("consumers still " + std::to_string(lag_left) + " record(s) behind after " +
                               std::to_string(options.settle.count()) + " ms; asynchronous results may be incomplete");
  return out;
}

}  // namespace sandbank::invariants
