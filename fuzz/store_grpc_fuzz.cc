// Fuzzes the store's gRPC request handling (sandbank.store.Store, sim/store): a sequence
// of unary requests, each parsed from fuzz bytes, against a fresh three-node Cluster on a
// ManualClock that already holds a keyspace and tables shaped like the ledger's. Every
// rejection must carry a reason; nothing may crash, hang or leak.
// Thread-safety: libFuzzer calls it from one thread.
#include <cstdint>
#include <cstdio>
#include <memory>

#include "fuzz_util.h"
#include "grpc_call.h"
#include "sandbank/core/clock.h"
#include "sandbank/store.grpc.pb.h"
#include "sandbank/store/cluster.h"
#include "sandbank/store/session.h"
#include "sandbank/store/store_service.h"

namespace {

// The schema every input starts from: a keyspace with RF 3 and tables with a single
// partition key, a clustering key and a compound key, as the bank's services create them.
constexpr const char* kSchema[] = {
    "CREATE KEYSPACE IF NOT EXISTS ledger WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
    "CREATE TABLE IF NOT EXISTS ledger.idempotency (idempotency_key text PRIMARY KEY, kind text, result_id text, "
    "fingerprint text, state text, reason text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS ledger.entries (address text, entryset_id text, leg int, amount bigint, currency text, "
    "PRIMARY KEY (address, entryset_id, leg))",
    "CREATE TABLE IF NOT EXISTS ledger.balances (address text, currency text, settled bigint, held bigint, "
    "entry_count bigint, PRIMARY KEY (address, currency))",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Svc = sandbank::store::Store::Service;
  using sandbank::fuzz::callUnary;
  sandbank::ManualClock clock;
  sandbank::store::Cluster cluster(sandbank::store::ClusterOptions{}, clock);
  {
    sandbank::store::Session session(cluster);
    for (const char* cql : kSchema) {
      auto r = session.execute(cql);
      if (!r.ok()) {
        std::fprintf(stderr, "schema: %s\n", r.status().toString().c_str());
        std::abort();
      }
    }
  }
  std::unique_ptr<grpc::Service> service = sandbank::store::makeStoreGrpcService(cluster);
  auto* store = dynamic_cast<Svc*>(service.get());
  if (store == nullptr) std::abort();

  sandbank::fuzz::FrameReader frames(data, size);
  uint8_t selector = 0;
  std::string_view p;
  for (int n = 0; n < 64 && frames.next(&selector, &p); ++n) {
    switch (selector % 15) {
      case 0: callUnary(store, &Svc::Execute, p, "Execute"); break;
      case 1: callUnary(store, &Svc::Prepare, p, "Prepare"); break;
      case 2: callUnary(store, &Svc::NodeDown, p, "NodeDown"); break;
      case 3: callUnary(store, &Svc::NodeUp, p, "NodeUp"); break;
      case 4: callUnary(store, &Svc::SetSlow, p, "SetSlow"); break;
      case 5: callUnary(store, &Svc::SetIsolated, p, "SetIsolated"); break;
      case 6: callUnary(store, &Svc::AddNode, p, "AddNode"); break;
      case 7: callUnary(store, &Svc::Repair, p, "Repair"); break;
      case 8: callUnary(store, &Svc::SetClientSkew, p, "SetClientSkew"); break;
      case 9: callUnary(store, &Svc::Compact, p, "Compact"); break;
      case 10: callUnary(store, &Svc::DeliverHints, p, "DeliverHints"); break;
      case 11: callUnary(store, &Svc::GetPartition, p, "GetPartition"); break;
      case 12: callUnary(store, &Svc::ListHints, p, "ListHints"); break;
      case 13: callUnary(store, &Svc::GetNodeStats, p, "GetNodeStats"); break;
      case 14: {  // time passes: TTLs, hint windows, skew
        uint32_t ms = 0;
        for (size_t i = 0; i < p.size() && i < 4; ++i) ms = (ms << 8) | static_cast<uint8_t>(p[i]);
        clock.advance(std::chrono::milliseconds(ms));
        break;
      }
    }
  }
  return 0;
}
