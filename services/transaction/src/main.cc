// The transaction service: wires the store client, the bus producer, the consumer of
// card.*, transfer.events and fps.events, and the kit server around Transactions.
// Reads SANDBANK_STORE, SANDBANK_BUS, SANDBANK_TOPIC_PARTITIONS and TRANSACTION_CONSISTENCY.
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/service_runtime.h"
#include "sandbank/bankcore/topics.h"
#include "sandbank/kit/clock.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/server.h"
#include "sandbank/transaction/transaction_service.h"
#include "sandbank/transaction/transactions.h"

int main() {
  sandbank::kit::Server server;  // first: blocks SIGTERM/SIGINT for every later thread
  const sandbank::kit::Config& config = server.config();
  auto fail = [](const std::string& what, const sandbank::Status& s) {
    sandbank::kit::logError(what, {{"error", s.toString()}});
    return 1;
  };
  auto rt = sandbank::bank::connectBankRuntime(config, "transaction.events");
  if (!rt.ok()) return fail("cannot start", rt.status());
  sandbank::transaction::TransactionsOptions options;
  options.consistency = config.getOr("TRANSACTION_CONSISTENCY", "LOCAL_QUORUM");
  auto transactions =
      sandbank::transaction::Transactions::open(*rt->store, rt->bus.get(), sandbank::kit::clock(), options);
  if (!transactions.ok()) return fail("cannot open the transactions", transactions.status());
  // The upstream topics may not exist yet when this starts before their producers.
  auto bus = sandbank::kit::busAddress(config);
  auto partitions = config.getInt("SANDBANK_TOPIC_PARTITIONS", 8);
  if (!bus.ok() || !partitions.ok()) return fail("cannot start", bus.ok() ? partitions.status() : bus.status());
  for (const std::string& topic : sandbank::transaction::Transactions::consumedTopics()) {
    if (auto s = sandbank::bank::ensureTopic(*bus, topic, static_cast<int32_t>(*partitions)); !s.ok())
      return fail("cannot create topic " + topic, s);
  }
  sandbank::kit::BusConsumerOptions consume;
  consume.address = *bus;
  consume.group = "transaction";
  consume.client_id = config.instanceName();
  consume.topics = sandbank::transaction::Transactions::consumedTopics();
  consume.retry_backoff = std::chrono::milliseconds(100);
  sandbank::transaction::Transactions* logic = transactions->get();
  auto consumer = sandbank::kit::BusConsumer::start(
      consume, [logic](const sandbank::kit::BusDelivery& d) { return logic->handle(d); });
  if (!consumer.ok()) return fail("cannot join consumer group transaction", consumer.status());
  auto service = sandbank::transaction::makeTransactionGrpcService(**transactions);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  const int rc = server.wait();
  (*consumer)->stop();
  return rc;
}
