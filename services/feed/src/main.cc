// The feed service: wires the store client, the bus producer, the consumer of
// transaction.events and pot.events, and the kit server around Feed.
// Reads SANDBANK_STORE, SANDBANK_BUS, SANDBANK_TOPIC_PARTITIONS and FEED_CONSISTENCY.
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/service_runtime.h"
#include "sandbank/bankcore/topics.h"
#include "sandbank/feed/feed.h"
#include "sandbank/feed/feed_service.h"
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
  auto rt = sandbank::bank::connectBankRuntime(config, "feed.events");
  if (!rt.ok()) return fail("cannot start", rt.status());
  sandbank::feed::FeedOptions options;
  options.consistency = config.getOr("FEED_CONSISTENCY", "LOCAL_QUORUM");
  auto feed = sandbank::feed::Feed::open(*rt->store, rt->bus.get(), sandbank::kit::clock(), options);
  if (!feed.ok()) return fail("cannot open the feed", feed.status());
  auto bus = sandbank::kit::busAddress(config);
  auto partitions = config.getInt("SANDBANK_TOPIC_PARTITIONS", 8);
  if (!bus.ok() || !partitions.ok()) return fail("cannot start", bus.ok() ? partitions.status() : bus.status());
  for (const std::string& topic : sandbank::feed::Feed::consumedTopics()) {
    if (auto s = sandbank::bank::ensureTopic(*bus, topic, static_cast<int32_t>(*partitions)); !s.ok())
      return fail("cannot create topic " + topic, s);
  }
  sandbank::kit::BusConsumerOptions consume;
  consume.address = *bus;
  consume.group = "feed";
  consume.client_id = config.instanceName();
  consume.topics = sandbank::feed::Feed::consumedTopics();
  consume.retry_backoff = std::chrono::milliseconds(100);
  sandbank::feed::Feed* logic = feed->get();
  auto consumer = sandbank::kit::BusConsumer::start(
      consume, [logic](const sandbank::kit::BusDelivery& d) { return logic->handle(d); });
  if (!consumer.ok()) return fail("cannot join consumer group feed", consumer.status());
  auto service = sandbank::feed::makeFeedGrpcService(**feed);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  const int rc = server.wait();
  (*consumer)->stop();
  return rc;
}
