// The ledger service: wires the store client, the bus producer and the kit server around
// the Ledger library. Reads SANDBANK_STORE, SANDBANK_BUS and LEDGER_CONSISTENCY.
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/service_runtime.h"
#include "sandbank/kit/clock.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/server.h"
#include "sandbank/ledger/ledger.h"
#include "sandbank/ledger/ledger_service.h"

int main() {
  sandbank::kit::Server server;  // first: blocks SIGTERM/SIGINT for every later thread
  const sandbank::kit::Config& config = server.config();
  auto fail = [](const std::string& what, const sandbank::Status& s) {
    sandbank::kit::logError(what, {{"error", s.toString()}});
    return 1;
  };
  auto rt = sandbank::bank::connectBankRuntime(config, "ledger.entrysets");
  if (!rt.ok()) return fail("cannot start", rt.status());
  sandbank::ledger::LedgerOptions options;
  options.consistency = config.getOr("LEDGER_CONSISTENCY", "LOCAL_QUORUM");
  auto ledger = sandbank::ledger::Ledger::open(*rt->store, rt->bus.get(), sandbank::kit::clock(), options);
  if (!ledger.ok()) return fail("cannot open the ledger", ledger.status());
  auto service = sandbank::ledger::makeLedgerGrpcService(**ledger);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  return server.wait();
}
