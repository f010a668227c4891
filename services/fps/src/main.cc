// The fps service: wires the store client, the bus producer, channels to account, fraud,
// ledger and fps-hub, the recovery sweeper and the kit server around Payments.
#include <grpcpp/impl/service_type.h>

#include "sandbank/bankcore/service_runtime.h"
#include "sandbank/fps/fps_service.h"
#include "sandbank/fps/payments.h"
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
  using std::chrono::milliseconds;
  auto ms = [&](const char* name, milliseconds fallback) -> sandbank::Result<milliseconds> {
    auto d = config.getDuration(name, fallback);
    if (!d.ok()) return d.status();
    return std::chrono::duration_cast<milliseconds>(*d);
  };
  sandbank::fps::PaymentsOptions options;
  options.consistency = config.getOr("FPS_CONSISTENCY", "LOCAL_QUORUM");
  auto upstream = ms("FPS_UPSTREAM_TIMEOUT", milliseconds(3000));
  auto fraud = ms("FPS_FRAUD_TIMEOUT", milliseconds(500));
  auto hub = ms("FPS_HUB_TIMEOUT", milliseconds(2000));
  auto pending = config.getDuration("FPS_PENDING_TIMEOUT", std::chrono::minutes(5));
  auto sweep = ms("FPS_SWEEP_INTERVAL", milliseconds(5000));
  auto attempts = config.getInt("FPS_HUB_ATTEMPTS", 2);
  for (const sandbank::Status& s : {upstream.status(), fraud.status(), hub.status(), pending.status(), sweep.status(),
                                    attempts.status()}) {
    if (!s.ok()) return fail("bad configuration", s);
  }
  options.upstream_timeout = *upstream;
  options.fraud_timeout = *fraud;
  options.hub_timeout = *hub;
  options.pending_timeout = *pending;
  options.hub_attempts = static_cast<int>(*attempts);
  const std::string policy = config.getOr("FPS_FRAUD_POLICY", "fail_open");
  if (policy == "fail_open") options.fraud_policy = sandbank::fps::FraudPolicy::kFailOpen;
  else if (policy == "fail_closed") options.fraud_policy = sandbank::fps::FraudPolicy::kFailClosed;
  else return fail("bad configuration", sandbank::InvalidArgument("FPS_FRAUD_POLICY must be fail_open or fail_closed, got '" + policy + "'"));

  sandbank::fps::FpsUpstreams upstreams;
  const std::pair<std::shared_ptr<grpc::Channel>*, const char*> channels[] = {
      {&upstreams.account, "account"}, {&upstreams.fraud, "fraud"}, {&upstreams.ledger, "ledger"}, {&upstreams.hub, "fps-hub"}};
  for (const auto& [channel, name] : channels) {
    auto c = sandbank::kit::channelTo(name, config);
    if (!c.ok()) return fail(std::string("no route to ") + name, c.status());
    *channel = std::move(c).value();
  }
  auto rt = sandbank::bank::connectBankRuntime(config, "fps.events");
  if (!rt.ok()) return fail("cannot start", rt.status());
  auto payments = sandbank::fps::Payments::open(*rt->store, rt->bus.get(), sandbank::kit::clock(), std::move(upstreams),
                                                options);
  if (!payments.ok()) return fail("cannot open the payments", payments.status());
  auto service = sandbank::fps::makeFpsGrpcService(**payments);
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  if (sweep->count() > 0) (*payments)->startSweeper(*sweep);
  int rc = server.wait();
  (*payments)->stopSweeper();
  return rc;
}
