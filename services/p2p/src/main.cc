// The p2p service: wires the store client, the bus producer, the channels to account,
// fraud and ledger (through the mesh) and the kit server around the Transfers library.
// Reads SANDBANK_STORE, SANDBANK_BUS and the P2P_* settings (see transfers.h).
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/service_runtime.h"
#include "sandbank/kit/channel.h"
#include "sandbank/kit/clock.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/server.h"
#include "sandbank/p2p/p2p_service.h"
#include "sandbank/p2p/transfers.h"

int main() {
  sandbank::kit::Server server;  // first: blocks SIGTERM/SIGINT for every later thread
  const sandbank::kit::Config& config = server.config();
  auto fail = [](const std::string& what, const sandbank::Status& s) {
    sandbank::kit::logError(what, {{"error", s.toString()}});
    return 1;
  };
  auto options = sandbank::p2p::TransfersOptions::fromConfig(config);
  if (!options.ok()) return fail("bad p2p settings", options.status());
  for (auto [name, channel] : {std::pair{"account", &options->account}, std::pair{"fraud", &options->fraud},
                               std::pair{"ledger", &options->ledger}}) {
    auto c = sandbank::kit::channelTo(name, config);
    if (!c.ok()) return fail("cannot start", c.status());
    *channel = *c;
  }
  auto rt = sandbank::bank::connectBankRuntime(config, "transfer.events");
  if (!rt.ok()) return fail("cannot start", rt.status());
  auto transfers = sandbank::p2p::Transfers::open(*rt->store, rt->bus.get(), sandbank::kit::clock(), *options);
  if (!transfers.ok()) return fail("cannot open the transfers", transfers.status());
  auto sweep = config.getDuration("P2P_SWEEP_INTERVAL", std::chrono::seconds(5));
  if (!sweep.ok()) return fail("bad p2p settings", sweep.status());
  auto service = sandbank::p2p::makeP2pGrpcService(**transfers);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(*sweep);
  if (interval.count() > 0) (*transfers)->startSweeper(interval);
  const int rc = server.wait();
  (*transfers)->stopSweeper();
  return rc;
}
