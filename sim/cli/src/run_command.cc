// `sandbank run`: the scenario runner (sim/scenario, Qt's script engine) with the bank's
// invariant checker plugged in, or attached to a running `sandbank up` (whose own checker
// answers). Built only where Qt is (not in engine-only builds).
#include "commands.h"
#include "sandbank/cli/bank_check.h"
#include "sandbank/control/run_state.h"
#include "sandbank/scenario/runner.h"

namespace sandbank::cli {

int runScenarioCommand(const RunCommandOptions& o) {
  scenario::RunOptions ro;
  ro.paths = o.paths;
  ro.junit_path = o.junit;
  ro.record_path = o.record;
  ro.html_path = o.html;
  ro.seed = o.seed;
  ro.filter = o.filter;
  ro.manifest_path = o.bank;
  ro.bin_dir = binDir();
  ro.make_checker = [](control::Simulator& sim) { return makeBankChecker(sim); };
  if (o.attach == kAttachDefault) ro.attach_state_file = o.state_file.empty() ? control::defaultRunStatePath() : o.state_file;
  else ro.attach_state_file = o.attach;
  return scenario::runScenarios(ro);
}

}  // namespace sandbank::cli
