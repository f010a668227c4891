// The edge service: the kit server (gRPC health, SIGTERM) plus the HTTP API, with the
// HTTP port announced on the "listening" line. Reads SANDBANK_STORE and the EDGE_*
// variables (see README.md).
#include "sandbank/edge/edge.h"
#include "sandbank/kit/clock.h"
#include "sandbank/kit/log.h"
#include "sandbank/kit/server.h"
#include "sandbank/kit/store_client.h"

int main() {
  sandbank::kit::Server server;  // first: blocks SIGTERM/SIGINT for every later thread
  const sandbank::kit::Config& config = server.config();
  auto fail = [](const std::string& what, const sandbank::Status& s) {
    sandbank::kit::logError(what, {{"error", s.toString()}});
    return 1;
  };
  auto store = sandbank::kit::StoreClient::connect(config.getOr("SANDBANK_STORE", ""), config.instanceName());
  if (!store.ok()) return fail("cannot reach the store", store.status());
  auto edge = sandbank::edge::Edge::start(config, **store, sandbank::kit::clock());
  if (!edge.ok()) return fail("cannot start", edge.status());
  server.setListeningField("http_port", std::to_string((*edge)->httpPort()));
  if (auto s = server.start(); !s.ok()) return fail("cannot start", s);
  int rc = server.wait();
  (*edge)->stop();
  return rc;
}
