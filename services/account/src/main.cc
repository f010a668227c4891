// The account service: wires the store client, the bus producer and the kit server around
// the Accounts library. Reads SANDBANK_STORE, SANDBANK_BUS and ACCOUNT_CONSISTENCY.
#include <grpcpp/impl/service_type.h>

#include "sandbank/account/account_service.h"
#include "sandbank/account/accounts.h"
#include "sandbank/bankcore/service_runtime.h"
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
  auto rt = sandbank::bank::connectBankRuntime(config, "account.events");
  if (!rt.ok()) return fail("cannot start", rt.status());
  sandbank::account::AccountsOptions options;
  options.consistency = config.getOr("ACCOUNT_CONSISTENCY", "LOCAL_QUORUM");
  auto accounts = sandbank::account::Accounts::open(*rt->store, rt->bus.get(), sandbank::kit::clock(), options);
  if (!accounts.ok()) return fail("cannot open the accounts", accounts.status());
  auto service = sandbank::account::makeAccountGrpcService(**accounts);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  return server.wait();
}
