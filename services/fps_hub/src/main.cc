// The fps-hub service: the simulated Faster Payments scheme, scripted from its
// environment (see scheme_hub.h) and at run time through SetBehaviour; SendInbound
// originates payments into the bank through kit::channelTo("fps"). No store, no bus.
#include <grpcpp/impl/service_type.h>

#include "sandbank/fps_hub/hub_service.h"
#include "sandbank/fps_hub/scheme_hub.h"
#include "sandbank/kit/channel.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/server.h"

int main() {
  sandbank::kit::Server server;  // first: blocks SIGTERM/SIGINT for every later thread
  const sandbank::kit::Config& config = server.config();
  auto fail = [](const std::string& what, const sandbank::Status& s) {
    sandbank::kit::logError(what, {{"error", s.toString()}});
    return 1;
  };
  sandbank::fps_hub::SchemeHubOptions options;
  auto hold = config.getDuration("FPS_HUB_MAX_HOLD", std::chrono::seconds(30));
  if (!hold.ok()) return fail("bad configuration", hold.status());
  options.max_hold = std::chrono::duration_cast<std::chrono::milliseconds>(*hold);
  sandbank::fps_hub::SchemeHub hub(options);
  auto behaviour = sandbank::fps_hub::SchemeHub::behaviourFromConfig(config);
  if (!behaviour.ok()) return fail("bad configuration", behaviour.status());
  if (auto r = hub.setBehaviour(*behaviour); !r.ok()) return fail("bad configuration", r.status());
  auto service = sandbank::fps_hub::makeFpsHubGrpcService(hub, [&config]() -> std::shared_ptr<grpc::Channel> {
    auto channel = sandbank::kit::channelTo("fps", config);
    if (!channel.ok()) {
      sandbank::kit::logWarn("no route to fps for an inbound payment", {{"error", channel.status().toString()}});
      return nullptr;
    }
    return std::move(channel).value();
  });
  server.addService(service.get());
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  int rc = server.wait();
  hub.stop();
  return rc;
}
