// The notification service: wires the store client, the account service channel, the
// consumer of feed.events and the kit server around Notifications. Reads SANDBANK_STORE,
// SANDBANK_BUS, SANDBANK_TOPIC_PARTITIONS, NOTIFICATION_CONSISTENCY and
// NOTIFICATION_UPSTREAM_TIMEOUT (default 2s, for account service calls).
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/topics.h"
#include "sandbank/kit/channel.h"
#include "sandbank/kit/clock.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/server.h"
#include "sandbank/kit/store_client.h"
#include "sandbank/notification/account_directory.h"
#include "sandbank/notification/notification_service.h"
#include "sandbank/notification/notifications.h"

int main() {
  sandbank::kit::Server server;  // first: blocks SIGTERM/SIGINT for every later thread
  const sandbank::kit::Config& config = server.config();
  auto fail = [](const std::string& what, const sandbank::Status& s) {
    sandbank::kit::logError(what, {{"error", s.toString()}});
    return 1;
  };
  // Notification publishes nothing, so it needs a store client but no producer.
  auto store = sandbank::kit::StoreClient::connect(config.getOr("SANDBANK_STORE", ""), config.instanceName());
  if (!store.ok()) return fail("cannot reach the store (set SANDBANK_STORE)", store.status());
  auto timeout = config.getDuration("NOTIFICATION_UPSTREAM_TIMEOUT", std::chrono::seconds(2));
  if (!timeout.ok()) return fail("cannot start", timeout.status());
  auto channel = sandbank::kit::channelTo("account", config);
  if (!channel.ok()) return fail("cannot reach the account service", channel.status());
  auto accounts = sandbank::notification::makeAccountServiceDirectory(
      *channel, std::chrono::duration_cast<std::chrono::milliseconds>(*timeout));
  sandbank::notification::NotificationsOptions options;
  options.consistency = config.getOr("NOTIFICATION_CONSISTENCY", "LOCAL_QUORUM");
  auto notifications =
      sandbank::notification::Notifications::open(**store, sandbank::kit::clock(), *accounts, options);
  if (!notifications.ok()) return fail("cannot open the notifications", notifications.status());
  auto bus = sandbank::kit::busAddress(config);
  auto partitions = config.getInt("SANDBANK_TOPIC_PARTITIONS", 8);
  if (!bus.ok() || !partitions.ok()) return fail("cannot start", bus.ok() ? partitions.status() : bus.status());
  if (auto s = sandbank::bank::ensureTopic(*bus, sandbank::notification::kFeedTopic, static_cast<int32_t>(*partitions));
      !s.ok())
    return fail("cannot create topic feed.events", s);
  sandbank::kit::BusConsumerOptions consume;
  consume.address = *bus;
  consume.group = "notification";
  consume.client_id = config.instanceName();
  consume.topics = {sandbank::notification::kFeedTopic};
  consume.retry_backoff = std::chrono::milliseconds(100);
  sandbank::notification::Notifications* logic = notifications->get();
  auto consumer = sandbank::kit::BusConsumer::start(
      consume, [logic](const sandbank::kit::BusDelivery& d) { return logic->handle(d); });
  if (!consumer.ok()) return fail("cannot join consumer group notification", consumer.status());
  auto service = sandbank::notification::makeNotificationGrpcService(**notifications);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  const int rc = server.wait();
  (*consumer)->stop();
  return rc;
}
