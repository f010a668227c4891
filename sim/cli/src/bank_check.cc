// The bank invariant checker plugged into a running simulator: the control API's Check
// runs services/invariants against the simulator's own store and bus.
#include "sandbank/cli/bank_check.h"

#include "sandbank/control/simulator.h"
#include "sandbank/invariants/bank_checker.h"
#include "sandbank/kit/store_client.h"
#include "sandbank/store/cluster.h"

namespace sandbank::cli {

control::InvariantChecker makeBankChecker(control::Simulator& sim) {
  return [&sim](const control::CheckSpec& spec) -> Result<control::CheckOutcome> {
    auto store = kit::StoreClient::connect(sim.dataAddress(), "invariant-checker");
    if (!store.ok()) return store.status();
    invariants::BankCheckOptions options;
    options.consistency = spec.consistency;
    options.bus_address = sim.dataAddress();
    options.store_nodes = static_cast<int>(sim.store().nodes().size());
    options.settle = spec.settle;
    auto r = invariants::checkBank(**store, options);
    if (!r.ok()) return r.status();
    control::CheckOutcome out;
    out.invariants = r->invariants;
    for (auto& v : r->report.violations)
      out.violations.push_back({v.invariant, std::move(v.subject), std::move(v.detail), std::move(v.trace_id),
                                std::move(v.rows)});
    out.counts = std::move(r->counts);
    out.notes = std::move(r->report.notes);
    return out;
  };
}

}  // namespace sandbank::cli
