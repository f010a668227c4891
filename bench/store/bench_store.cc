// bench-store: three ratios, each against a baseline measured in the same run (median of
// 5 repetitions after a warm-up). Prints one JSON object as its last stdout line.
//   1. QUORUM vs ONE write latency, RF=3, in-process engine API (CPU time per call).
//   2. Store Execute (prepared statements) ops/s over gRPC vs a bare echo service, both
//      on loopback with the same number of client threads.
//   3. Engine ops/s (50% QUORUM writes to RF=3, each replica appending to its commit log
//      and merging into its memtable / 50% reads at ONE, copying the row out) vs a
//      mutex-protected std::unordered_map doing the same puts and gets (copying the row
//      out), same thread count.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "sandbank/kit/store_client.h"
#include "sandbank/store/cluster.h"
#include "sandbank/store/session.h"
#include "sandbank/store/store_service.h"
#include "sandbank/testing/echo.grpc.pb.h"

namespace {

using namespace sandbank;
using namespace sandbank::store;
using Clock_ = std::chrono::steady_clock;

constexpr int kReps = 5;
constexpr int kKeys = 10000;
int kThreads = 2;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string keyName(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "acct-%05d", i);
  return buf;
}

struct Engine {
  SystemClock& clock = SystemClock::instance();
  Cluster cluster{ClusterOptions{}, clock};
  std::shared_ptr<const TableSchema> table;
  explicit Engine(int rf = 3) {
    Session s(cluster);
    QueryOptions o;
    (void)s.execute("CREATE KEYSPACE b WITH replication = {'class': 'SimpleStrategy', 'replication_factor': " +
                        std::to_string(rf) + "}",
                    {}, o);
    (void)s.execute("CREATE TABLE b.balances (account text PRIMARY KEY, pence bigint, note text)", {}, o);
    table = cluster.table("b", "balances");
  }
  PartitionWrite write(const std::string& key, int64_t v) const {
    PartitionWrite w;
    w.table = table;
    w.key = {Value::text(key)};
    RowWrite r;
    r.insert_marker = true;
    r.cells.push_back(CellWrite{1, false, Value::integer(v)});
    r.cells.push_back(CellWrite{2, false, Value::text("card")});
    w.rows.push_back(std::move(r));
    return w;
  }
};

// ---------------------------------------------------------------- 1. QUORUM vs ONE

double cpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// The in-process write latency: the calling thread's CPU time per write. The call never
// waits (simulated latencies are computed, not slept), so its CPU time is its latency,
// and unlike wall time it does not count the slices the scheduler gives other processes
// on a shared machine.
double writeLatencyNs(Engine& e, ConsistencyLevel cl, const std::vector<std::string>& keys, int ops) {
  WriteRequest req;
  req.ctx.consistency = cl;
  req.partitions.push_back(e.write(keys[0], 0));
  const double start = cpuNs();
  for (int i = 0; i < ops; ++i) {
    PartitionWrite& w = req.partitions[0];
    w.key[0].s = keys[i % keys.size()];
    w.rows[0].cells[0].value.i = i;
    auto r = e.cluster.write(req);
    if (!r.ok()) std::abort();
  }
  return (cpuNs() - start) / ops;
}

// ---------------------------------------------------------------- 3. engine vs map

struct Row {
  int64_t pence;
  std::string note;
};

template <class Op>
double opsPerSecond(Op op, double seconds) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int64_t n = 0;
      uint64_t x = 0x9e3779b97f4a7c15ULL * (t + 1);
      while (!stop.load(std::memory_order_relaxed)) {
        for (int k = 0; k < 64; ++k) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          op(t, x);
          ++n;
        }
      }
      total += n;
    });
  }
  auto start = Clock_::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock_::now() - start).count();
  return static_cast<double>(total.load()) / elapsed;
}

// ---------------------------------------------------------------- 2. gRPC

class EchoImpl final : public sandbank::testing::Echo::Service {
  grpc::Status Echo(grpc::ServerContext*, const sandbank::testing::EchoRequest* req,
                    sandbank::testing::EchoReply* resp) override {
    resp->set_text(req->text());
    resp->set_payload(req->payload());
    return grpc::Status::OK;
  }
};

std::unique_ptr<grpc::Server> serve(grpc::Service* svc, int* port) {
  grpc::ServerBuilder b;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), port);
  b.RegisterService(svc);
  return b.BuildAndStart();
}

template <class Call>
double rpcOpsPerSecond(int threads, double seconds, Call call) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> total{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      int64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        call(t, n);
        ++n;
      }
      total += n;
    });
  }
  auto start = Clock_::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : ts) th.join();
  return static_cast<double>(total.load()) / std::chrono::duration<double>(Clock_::now() - start).count();
}

std::pair<double, double> engineVsMap(const std::vector<std::string>& keys, uint64_t nkeys, int rf = 3) {
  Engine e3(rf);
  std::vector<WriteRequest> writes(kThreads);
  std::vector<ReadRequest> reads(kThreads);
  std::vector<ReadOutcome> results(kThreads);  // each thread's reads copy rows out into its own
  for (int t = 0; t < kThreads; ++t) {
    writes[t].ctx.consistency = ConsistencyLevel::kQuorum;
    writes[t].partitions.push_back(e3.write(keys[0], 0));
    reads[t].table = e3.table;
    reads[t].key = {Value::text(keys[0])};
    reads[t].columns = {1, 2};  // pence, note: the row the map's get copies out
  }
  auto engineOp = [&](int t, uint64_t x) {
    const std::string& k = keys[x % nkeys];
    if (x & (1ULL << 40)) {
      PartitionWrite& w = writes[t].partitions[0];
      w.key[0].s = k;
      w.rows[0].cells[0].value.i = static_cast<int64_t>(x >> 44);
      if (!e3.cluster.write(writes[t]).ok()) std::abort();
    } else {
      reads[t].key[0].s = k;
      if (!e3.cluster.read(reads[t], &results[t]).ok()) std::abort();
    }
  };
  std::mutex map_mu;
  std::unordered_map<std::string, Row> map;
  auto mapOp = [&](int, uint64_t x) {
    const std::string& k = keys[x % nkeys];
    if (x & (1ULL << 40)) {
      std::lock_guard lock(map_mu);
      map[k] = Row{static_cast<int64_t>(x >> 44), "card"};
    } else {
      Row copy;
      {
        std::lock_guard lock(map_mu);
        auto it = map.find(k);
        if (it != map.end()) copy = it->second;
      }
      if (copy.pence == -1) std::abort();
    }
  };
  opsPerSecond(engineOp, 0.2);
  opsPerSecond(mapOp, 0.2);
  std::vector<double> eng, base;
  for (int r = 0; r < kReps; ++r) {
    eng.push_back(opsPerSecond(engineOp, 0.4));
    base.push_back(opsPerSecond(mapOp, 0.4));
  }
  return {median(eng), median(base)};
}

int micro() {
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(keyName(i));
  Engine e;
  WriteRequest w;
  w.ctx.consistency = ConsistencyLevel::kQuorum;
  w.partitions.push_back(e.write(keys[0], 0));
  ReadRequest rd;
  rd.table = e.table;
  rd.key = {Value::text(keys[0])};
  rd.columns = {1, 2};
  ReadOutcome got;
  std::mutex map_mu;
  std::unordered_map<std::string, Row> map;
  constexpr int kOps = 400000;
  for (int rep = 0; rep < 5; ++rep) {
    double t0 = cpuNs();
    for (int i = 0; i < kOps; ++i) {
      PartitionWrite& pw = w.partitions[0];
      pw.key[0].s = keys[(static_cast<unsigned>(i) * 7919u) % 1000u];
      pw.rows[0].cells[0].value.i = i;
      if (!e.cluster.write(w).ok()) std::abort();
    }
    double t1 = cpuNs();
    for (int i = 0; i < kOps; ++i) {
      rd.key[0].s = keys[(static_cast<unsigned>(i) * 7919u) % 1000u];
      if (!e.cluster.read(rd, &got).ok() || got.rows.size() != 1) std::abort();
    }
    double t2 = cpuNs();
    for (int i = 0; i < kOps; ++i) {
      const std::string& k = keys[(static_cast<unsigned>(i) * 7919u) % 1000u];
      std::lock_guard lock(map_mu);
      map[k] = Row{i, "card"};
    }
    double t3 = cpuNs();
    int64_t sum = 0;
    for (int i = 0; i < kOps; ++i) {
      const std::string& k = keys[(static_cast<unsigned>(i) * 7919u) % 1000u];
      Row copy;
      {
        std::lock_guard lock(map_mu);
        auto it = map.find(k);
        if (it != map.end()) copy = it->second;
      }
      sum += copy.pence;
    }
    double t4 = cpuNs();
    if (sum == -1) std::abort();
    std::printf("cpu ns: write_quorum %.0f read_one %.0f | map put %.0f get %.0f | ratio %.3f\n", (t1 - t0) / kOps,
                (t2 - t1) / kOps, (t3 - t2) / kOps, (t4 - t3) / kOps, ((t3 - t2) + (t4 - t3)) / ((t1 - t0) + (t2 - t1)));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // --engine-only: run just the engine-vs-map part (for profiling).
  const bool engine_only = argc > 1 && std::string(argv[1]) == "--engine-only";
  // --micro: single-thread ns per QUORUM write and per ONE read, 1k keys (for profiling).
  if (argc > 1 && std::string(argv[1]) == "--micro") return micro();
  const bool grpc_only = argc > 1 && std::string(argv[1]) == "--grpc-only";
  if (argc > 2) kThreads = std::atoi(argv[2]);
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back(keyName(i));

  double one_ns = 0, quorum_ns = 0, engine_ops = 0, map_ops = 0, engine_ops_10k = 0, map_ops_10k = 0;
  double engine_ops_rf1 = 0, map_ops_rf1 = 1;
  if (!grpc_only) {
  // 1. QUORUM vs ONE write latency.
  Engine e1;
  writeLatencyNs(e1, ConsistencyLevel::kOne, keys, 50000);  // warm-up: fills the memtables
  std::vector<double> one, quorum;
  for (int r = 0; r < kReps; ++r) {
    // Interleave short chunks of each so machine noise hits both levels alike.
    double one_sum = 0, quorum_sum = 0;
    for (int chunk = 0; chunk < 10; ++chunk) {
      one_sum += writeLatencyNs(e1, ConsistencyLevel::kOne, keys, 5000);
      quorum_sum += writeLatencyNs(e1, ConsistencyLevel::kQuorum, keys, 5000);
    }
    one.push_back(one_sum / 10);
    quorum.push_back(quorum_sum / 10);
  }
  one_ns = median(one);
  quorum_ns = median(quorum);

  // 3. Engine vs mutex-protected map, with a cache-resident key set (the headline) and a
  // ten times larger one (where three replicas' memtables outgrow the caches).
  std::tie(engine_ops, map_ops) = engineVsMap(keys, 1000);
  std::tie(engine_ops_10k, map_ops_10k) = engineVsMap(keys, 10000);
  // For context: the same at RF=1, i.e. the coordinator's own overhead without replication.
  std::tie(engine_ops_rf1, map_ops_rf1) = engineVsMap(keys, 1000, 1);
  if (engine_only) {
    std::printf("{\"engine_ops_per_s\":%.0f,\"map_ops_per_s\":%.0f,\"ratio\":%.3f,\"ratio_10k_keys\":%.3f,\"ratio_rf1\":%.3f}\n",
                engine_ops, map_ops, engine_ops / map_ops, engine_ops_10k / map_ops_10k, engine_ops_rf1 / map_ops_rf1);
    return 0;
  }
  }

  // 2. gRPC: store Execute vs bare echo, same client threads.
  constexpr int kRpcThreads = 4;
  Engine e2;
  auto store_svc = makeStoreGrpcService(e2.cluster);
  EchoImpl echo_svc;
  int store_port = 0, echo_port = 0;
  auto store_server = serve(store_svc.get(), &store_port);
  auto echo_server = serve(&echo_svc, &echo_port);
  auto client = kit::StoreClient::connect("127.0.0.1:" + std::to_string(store_port), "bench");
  if (!client.ok()) return 1;
  auto ins = (*client)->prepare("INSERT INTO balances (account, pence, note) VALUES (?, ?, ?)", "b");
  auto sel = (*client)->prepare("SELECT pence, note FROM balances WHERE account = ?", "b");
  if (!ins.ok() || !sel.ok()) return 1;
  auto echo_stub = sandbank::testing::Echo::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(echo_port), grpc::InsecureChannelCredentials()));
  auto storeCall = [&](int t, int64_t n) {
    const std::string& k = keys[(n * 7 + t * 1000) % kKeys];
    if (n % 2 == 0) {
      auto r = (*client)->execute(*ins, {kit::StoreValue::text(k), kit::StoreValue::integer(n), kit::StoreValue::text("card")});
      if (!r.ok()) std::abort();
    } else {
      auto r = (*client)->execute(*sel, {kit::StoreValue::text(k)});
      if (!r.ok()) std::abort();
    }
  };
  auto echoCall = [&](int t, int64_t n) {
    sandbank::testing::EchoRequest req;
    req.set_text(keys[(n * 7 + t * 1000) % kKeys]);
    req.set_payload("card");
    sandbank::testing::EchoReply resp;
    grpc::ClientContext ctx;
    if (!echo_stub->Echo(&ctx, req, &resp).ok()) std::abort();
  };
  rpcOpsPerSecond(kRpcThreads, 0.3, storeCall);
  rpcOpsPerSecond(kRpcThreads, 0.3, echoCall);
  std::vector<double> srpc, erpc;
  for (int r = 0; r < kReps; ++r) {
    srpc.push_back(rpcOpsPerSecond(kRpcThreads, 0.5, storeCall));
    erpc.push_back(rpcOpsPerSecond(kRpcThreads, 0.5, echoCall));
  }
  double store_rpc = median(srpc), echo_rpc = median(erpc);
  store_server->Shutdown();
  echo_server->Shutdown();

  std::printf(
      "{\"bench\":\"store\",\"metrics\":{\"write_one_ns\":%.0f,\"write_quorum_ns\":%.0f,"
      "\"engine_ops_per_s\":%.0f,\"engine_ops_per_s_10k_keys\":%.0f,\"engine_vs_map_ops_10k_keys\":%.3f,\"engine_vs_map_ops_rf1\":%.3f,\"grpc_store_ops_per_s\":%.0f,\"threads_engine\":%d,\"threads_grpc\":%d},"
      "\"baseline\":{\"map_ops_per_s\":%.0f,\"map_ops_per_s_10k_keys\":%.0f,\"grpc_echo_ops_per_s\":%.0f},"
      "\"ratios\":{\"quorum_vs_one_write_latency\":%.3f,\"grpc_vs_echo_ops\":%.3f,\"engine_vs_map_ops\":%.3f},"
      "\"goal\":{\"quorum_vs_one_write_latency\":\"<=1.2\",\"grpc_vs_echo_ops\":\">=0.8\",\"engine_vs_map_ops\":\">=0.5\"}}\n",
      one_ns, quorum_ns, engine_ops, engine_ops_10k, engine_ops_10k / map_ops_10k, engine_ops_rf1 / map_ops_rf1, store_rpc, kThreads, kRpcThreads, map_ops,
      map_ops_10k, echo_rpc, quorum_ns / one_ns, store_rpc / echo_rpc, engine_ops / map_ops);
  return 0;
}
