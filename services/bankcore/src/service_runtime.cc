// Shared start-up for bank services.
#include "sandbank/bankcore/service_runtime.h"

#include "sandbank/bankcore/topics.h"

namespace sandbank::bank {

Result<BankRuntime> connectBankRuntime(const kit::Config& config, const std::string& topic) {
  BankRuntime rt;
  auto store = kit::StoreClient::connect(config.getOr("SANDBANK_STORE", ""), config.instanceName());
  if (!store.ok()) return store.status().withContext("cannot reach the store (set SANDBANK_STORE)");
  rt.store = std::move(*store);
  auto address = kit::busAddress(config);
  if (!address.ok()) return address.status().withContext("cannot publish " + topic + " (set SANDBANK_BUS)");
  auto partitions = config.getInt("SANDBANK_TOPIC_PARTITIONS", 8);
  if (!partitions.ok()) return partitions.status();
  if (auto s = ensureTopic(*address, topic, static_cast<int32_t>(*partitions)); !s.ok())
    return s.withContext("cannot create topic " + topic);
  kit::BusProducerOptions options;
  options.client_id = config.instanceName();
  options.address = *address;
  auto bus = kit::BusProducer::create(options);
  if (!bus.ok()) return bus.status().withContext("cannot create the bus producer");
  rt.bus = std::move(*bus);
  return rt;
}

}  // namespace sandbank::bank
