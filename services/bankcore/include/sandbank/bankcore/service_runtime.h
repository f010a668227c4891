// What every bank service needs before it can serve: a store client, its topic created,
// and a bus producer for it - all from the service's environment (SANDBANK_STORE,
// SANDBANK_BUS, SANDBANK_TOPIC_PARTITIONS). Errors name the variable to fix.
// Thread-safety: connectBankRuntime() is called once from main().
#pragma once

#include <memory>
#include <string>

#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/config.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::bank {

struct BankRuntime {
  std::unique_ptr<kit::StoreClient> store;
  std::unique_ptr<kit::BusProducer> bus;
};

// Connects to the store, creates `topic` when missing, and opens a producer for it.
Result<BankRuntime> connectBankRuntime(const kit::Config& config, const std::string& topic);

}  // namespace sandbank::bank
