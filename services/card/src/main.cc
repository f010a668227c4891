// The card service: wires the store client, the bus producer, the channel to the account
// service and the kit server around the Cards library. Reads SANDBANK_STORE, SANDBANK_BUS,
// CARD_CONSISTENCY and CARD_UPSTREAM_TIMEOUT.
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/service_runtime.h"
#include "sandbank/card/card_service.h"
#include "sandbank/card/cards.h"
#include "sandbank/kit/channel.h"
#include "sandbank/kit/clock.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/server.h"

int main() {
  sandbank::kit::Server server;  // first: blocks SIGTERM/SIGINT for every later thread
  const sandbank::kit::Config& config = server.config();
  auto fail = [](const std::string& what, const sandbank::Status& s) {
    sandbank::kit::logError(what, {{"error", s.toString()}});
    return 1;
  };
  sandbank::card::CardsOptions options;
  options.consistency = config.getOr("CARD_CONSISTENCY", "LOCAL_QUORUM");
  auto timeout = config.getDuration("CARD_UPSTREAM_TIMEOUT", std::chrono::seconds(2));
  if (!timeout.ok()) return fail("bad configuration", timeout.status());
  options.upstream_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
  auto account = sandbank::kit::channelTo("account", config);
  if (!account.ok()) return fail("cannot route to the account service", account.status());
  auto rt = sandbank::bank::connectBankRuntime(config, options.topic);
  if (!rt.ok()) return fail("cannot start", rt.status());
  auto cards = sandbank::card::Cards::open(*rt->store, rt->bus.get(), sandbank::kit::clock(), *account, options);
  if (!cards.ok()) return fail("cannot open the cards", cards.status());
  auto service = sandbank::card::makeCardGrpcService(**cards);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  return server.wait();
}
