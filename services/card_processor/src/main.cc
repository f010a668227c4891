// The card-processor service: wires the store client, the producers of card.authorisations
// and card.clearings, channels to card, account, fraud and ledger, the hold sweeper and the
// kit server around the CardProcessor library. Configuration: see README.md.
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/service_runtime.h"
#include "sandbank/bankcore/topics.h"
#include "sandbank/card_processor/card_processor.h"
#include "sandbank/card_processor/card_processor_service.h"
#include "sandbank/kit/channel.h"
#include "sandbank/kit/clock.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/server.h"

namespace cp = sandbank::card_processor;

int main() {
  sandbank::kit::Server server;  // first: blocks SIGTERM/SIGINT for every later thread
  const sandbank::kit::Config& config = server.config();
  auto fail = [](const std::string& what, const sandbank::Status& s) {
    sandbank::kit::logError(what, {{"error", s.toString()}});
    return 1;
  };
  cp::CardProcessorOptions options;
  options.consistency = config.getOr("CARD_PROCESSOR_CONSISTENCY", "LOCAL_QUORUM");
  auto ms = [](std::chrono::nanoseconds d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d); };
  auto upstream = config.getDuration("CARD_PROCESSOR_UPSTREAM_TIMEOUT", std::chrono::seconds(2));
  if (!upstream.ok()) return fail("bad configuration", upstream.status());
  options.upstream_timeout = ms(*upstream);
  auto fraud_timeout = config.getDuration("CARD_PROCESSOR_FRAUD_TIMEOUT", std::chrono::milliseconds(200));
  if (!fraud_timeout.ok()) return fail("bad configuration", fraud_timeout.status());
  options.fraud_timeout = ms(*fraud_timeout);
  auto policy = cp::parseFraudPolicy(config.getOr("CARD_PROCESSOR_FRAUD_POLICY", "fail_open"));
  if (!policy.ok()) return fail("bad configuration", policy.status().withContext("CARD_PROCESSOR_FRAUD_POLICY"));
  options.fraud_policy = *policy;
  auto ttl = config.getDuration("CARD_PROCESSOR_HOLD_TTL", std::chrono::hours(24 * 7));
  if (!ttl.ok()) return fail("bad configuration", ttl.status());
  options.hold_ttl = std::chrono::duration_cast<std::chrono::microseconds>(*ttl);
  auto sweep = config.getDuration("CARD_PROCESSOR_SWEEP_INTERVAL", std::chrono::seconds(1));
  if (!sweep.ok()) return fail("bad configuration", sweep.status());

  cp::Upstreams upstreams;
  for (auto [name, channel] : {std::pair{"card", &upstreams.card}, std::pair{"account", &upstreams.account},
                               std::pair{"fraud", &upstreams.fraud}, std::pair{"ledger", &upstreams.ledger}}) {
    auto ch = sandbank::kit::channelTo(name, config);
    if (!ch.ok()) return fail(std::string("cannot route to ") + name, ch.status());
    *channel = *ch;
  }
  auto rt = sandbank::bank::connectBankRuntime(config, options.authorisations_topic);
  if (!rt.ok()) return fail("cannot start", rt.status());
  auto bus = sandbank::kit::busAddress(config);
  auto partitions = config.getInt("SANDBANK_TOPIC_PARTITIONS", 8);
  if (!bus.ok() || !partitions.ok()) return fail("cannot start", bus.ok() ? partitions.status() : bus.status());
  if (auto s = sandbank::bank::ensureTopic(*bus, options.clearings_topic, static_cast<int32_t>(*partitions)); !s.ok())
    return fail("cannot create topic " + options.clearings_topic, s);
  auto processor = cp::CardProcessor::open(*rt->store, rt->bus.get(), sandbank::kit::clock(), upstreams, options);
  if (!processor.ok()) return fail("cannot open the card processor", processor.status());
  auto service = cp::makeCardProcessorGrpcService(**processor);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  sandbank::kit::logInfo("card processor configured",
                         {{"fraud_policy", std::string(cp::fraudPolicyName(options.fraud_policy))},
                          {"fraud_timeout_ms", std::to_string(options.fraud_timeout.count())},
                          {"upstream_timeout_ms", std::to_string(options.upstream_timeout.count())},
                          {"hold_ttl_s", std::to_string(options.hold_ttl.count() / 1'000'000)},
                          {"sweep_interval_ms", std::to_string(ms(*sweep).count())}});
  cp::HoldSweeper sweeper(**processor, ms(*sweep));
  int rc = server.wait();
  sweeper.stop();
  return rc;
}
