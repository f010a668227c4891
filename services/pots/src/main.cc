// The pots service: wires the store client, the bus producer, the channels to account
// and ledger (through the mesh) and the kit server around the Pots library. Reads
// SANDBANK_STORE, SANDBANK_BUS and the POTS_* settings (see pots.h).
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/service_runtime.h"
#include "sandbank/kit/channel.h"
#include "sandbank/kit/clock.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/server.h"
#include "sandbank/pots/pots.h"
#include "sandbank/pots/pots_service.h"

int main() {
  sandbank::kit::Server server;  // first: blocks SIGTERM/SIGINT for every later thread
  const sandbank::kit::Config& config = server.config();
  auto fail = [](const std::string& what, const sandbank::Status& s) {
    sandbank::kit::logError(what, {{"error", s.toString()}});
    return 1;
  };
  auto options = sandbank::pots::PotsOptions::fromConfig(config);
  if (!options.ok()) return fail("bad pots settings", options.status());
  auto account = sandbank::kit::channelTo("account", config);
  if (!account.ok()) return fail("cannot start", account.status());
  auto ledger = sandbank::kit::channelTo("ledger", config);
  if (!ledger.ok()) return fail("cannot start", ledger.status());
  options->account = *account;
  options->ledger = *ledger;
  auto rt = sandbank::bank::connectBankRuntime(config, "pot.events");
  if (!rt.ok()) return fail("cannot start", rt.status());
  auto pots = sandbank::pots::Pots::open(*rt->store, rt->bus.get(), sandbank::kit::clock(), *options);
  if (!pots.ok()) return fail("cannot open the pots", pots.status());
  auto sweep = config.getDuration("POTS_SWEEP_INTERVAL", std::chrono::seconds(5));
  if (!sweep.ok()) return fail("bad pots settings", sweep.status());
  auto service = sandbank::pots::makePotsGrpcService(**pots);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(*sweep);
  if (interval.count() > 0) (*pots)->startSweeper(interval);
  const int rc = server.wait();
  (*pots)->stopSweeper();
  return rc;
}
