// The ledger service: wires the store client, the bus producer and the kit server around
// the Ledger library. Reads SANDBANK_STORE, SANDBANK_BUS and LEDGER_CONSISTENCY.
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/topics.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/clock.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/server.h"
#include "sandbank/kit/store_client.h"
#include "sandbank/ledger/ledger.h"
#include "sandbank/ledger/ledger_service.h"

int main() {
  sandbank::kit::Server server;  // first: blocks SIGTERM/SIGINT for every later thread
  const sandbank::kit::Config& config = server.config();
  auto fail = [](const std::string& what, const sandbank::Status& s) {
    sandbank::kit::logError(what, {{"error", s.toString()}});
    return 1;
  };
  auto store = sandbank::kit::StoreClient::connect(config.getOr("SANDBANK_STORE", ""), config.instanceName());
  if (!store.ok()) return fail("cannot reach the store (set SANDBANK_STORE)", store.status());
  sandbank::kit::BusProducerOptions bus_options;
  bus_options.client_id = config.instanceName();
  auto bus_address = sandbank::kit::busAddress(config);
  if (!bus_address.ok()) return fail("cannot publish ledger.entrysets (set SANDBANK_BUS)", bus_address.status());
  bus_options.address = *bus_address;
  auto partitions = config.getInt("SANDBANK_TOPIC_PARTITIONS", 8);
  if (!partitions.ok()) return fail("bad SANDBANK_TOPIC_PARTITIONS", partitions.status());
  if (auto s = sandbank::bank::ensureTopic(*bus_address, "ledger.entrysets", static_cast<int32_t>(*partitions)); !s.ok()) {
    return fail("cannot create topic ledger.entrysets", s);
  }
  auto bus = sandbank::kit::BusProducer::create(bus_options);
  if (!bus.ok()) return fail("cannot create the bus producer", bus.status());
  sandbank::ledger::LedgerOptions options;
  options.consistency = config.getOr("LEDGER_CONSISTENCY", "LOCAL_QUORUM");
  auto ledger = sandbank::ledger::Ledger::open(**store, bus->get(), sandbank::kit::clock(), options);
  if (!ledger.ok()) return fail("cannot open the ledger", ledger.status());
  auto service = sandbank::ledger::makeLedgerGrpcService(**ledger);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  return server.wait();
}
