// The fraud service: wires the store client, the bus producer and consumer, the card
// channel and the kit server around the Fraud library. Reads SANDBANK_STORE, SANDBANK_BUS,
// FRAUD_CONSISTENCY and the FRAUD_* rule settings (see fraud.h).
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/service_runtime.h"
#include "sandbank/bankcore/topics.h"
#include "sandbank/fraud/fraud.h"
#include "sandbank/fraud/fraud_service.h"
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
  auto rules = sandbank::fraud::FraudRules::fromConfig(config);
  if (!rules.ok()) return fail("bad fraud rule settings", rules.status());
  auto rt = sandbank::bank::connectBankRuntime(config, "fraud.decisions");
  if (!rt.ok()) return fail("cannot start", rt.status());
  auto bus = sandbank::kit::busAddress(config);
  if (!bus.ok()) return fail("cannot start", bus.status());
  auto partitions = config.getInt("SANDBANK_TOPIC_PARTITIONS", 8);
  if (!partitions.ok()) return fail("cannot start", partitions.status());
  // The velocity rule reads transaction.events; create it if the transaction service has
  // not started yet, as Kafka's auto-creation would.
  if (auto s = sandbank::bank::ensureTopic(*bus, "transaction.events", static_cast<int32_t>(*partitions)); !s.ok()) {
    return fail("cannot start", s);
  }
  sandbank::fraud::FraudOptions options;
  options.consistency = config.getOr("FRAUD_CONSISTENCY", "LOCAL_QUORUM");
  options.rules = *rules;
  if (options.rules.frozen_card_check) {
    auto card = sandbank::kit::channelTo("card", config);
    if (card.ok()) {
      options.card = *card;
    } else {  // the rule then never fires and every reason says the card was unchecked
      sandbank::kit::logWarn("no route to the card service: the frozen-card rule is off",
                             {{"error", card.status().toString()}});
    }
  }
  auto fraud = sandbank::fraud::Fraud::open(*rt->store, rt->bus.get(), sandbank::kit::clock(), options);
  if (!fraud.ok()) return fail("cannot open the fraud service", fraud.status());
  // One consumer group per instance: every instance needs every account's activity.
  sandbank::kit::BusConsumerOptions consume;
  consume.address = *bus;
  consume.group = "fraud." + config.instanceName();
  consume.client_id = config.instanceName();
  consume.topics = {"transaction.events"};
  if (auto s = (*fraud)->startConsuming(consume); !s.ok()) return fail("cannot start", s);
  auto service = sandbank::fraud::makeFraudGrpcService(**fraud);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  int rc = server.wait();
  (*fraud)->stopConsuming();
  return rc;
}
