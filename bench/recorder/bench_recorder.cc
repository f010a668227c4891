// bench-recorder: measures, in one run, (a) the recorder's sustained write rate against a
// raw SQLite baseline (prepared inserts, WAL, synchronous=NORMAL, batches of 1000, 7
// columns); (b) that nothing is lost when events arrive at half that rate; (c) FlowHub
// emit throughput with the recorder attached vs without. Prints one JSON line last.
// Single-threaded driver; the recorder runs its own writer thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sandbank/core/clock.h"
#include "sandbank/flow/flow_hub.h"
#include "sandbank/flow/recorder.h"

namespace sf = sandbank::flow;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kReps = 5;
constexpr size_t kRows = 200'000;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string hex(std::mt19937_64& rng, int digits) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < digits; ++i) s += k[rng() % 16];
  return s;
}

// A mix shaped like the bank's traffic: traces of 8 events (rpcs, a store request with
// replica writes, a publish and two deliveries). `payload_bytes` > 0 gives rpc, publish
// and deliver events a payload of that size.
std::vector<sf::FlowEvent> makePool(size_t payload_bytes) {
  std::mt19937_64 rng(42);
  std::vector<sf::FlowEvent> pool;
  pool.reserve(256 * 8);  // references returned by ev() must stay valid
  int64_t t = 1'764'000'000'000'000;
  for (int trace = 0; trace < 256; ++trace) {
    std::string tid = hex(rng, 32);
    auto ev = [&](sf::FlowKind k, const char* src, const char* dst) -> sf::FlowEvent& {
      sf::FlowEvent e;
      e.trace_id = tid;
      e.span_id = hex(rng, 16);
      e.kind = k;
      e.source = src;
      e.destination = dst;
      e.start_sim_us = t;
      e.end_sim_us = t + 200;
      e.start_real_us = t;
      e.end_real_us = t + 200;
      t += 37;
      pool.push_back(std::move(e));
      return pool.back();
    };
    auto withPayload = [&](sf::FlowEvent& e) {
      if (payload_bytes) {
        e.payload.assign(payload_bytes, static_cast<char>('a' + rng() % 26));
        e.size = static_cast<int64_t>(payload_bytes);
        e.payload_type = "sandbank.card.AuthoriseRequest";
      }
    };
    auto& auth = ev(sf::FlowKind::kRpc, "edge", "card-processor");
    auth.method = "sandbank.card.CardProcessor/Authorise";
    withPayload(auth);
    auto& post = ev(sf::FlowKind::kRpc, "card-processor", "ledger");
    post.method = "sandbank.ledger.Ledger/PostEntrySet";
    withPayload(post);
    auto& store = ev(sf::FlowKind::kStoreRequest, "ledger", "store/node-1");
    store.method = "INSERT";
    store.keyspace = "ledger";
    store.table = "entries";
    store.partition_key = "acc-" + std::to_string(trace);
    store.detail = "CL=QUORUM acks 2/3";
    for (const char* node : {"store/node-2", "store/node-3"}) {
      auto& w = ev(sf::FlowKind::kReplicaWrite, "store/node-1", node);
      w.method = "INSERT";
      w.keyspace = "ledger";
      w.table = "entries";
      w.partition_key = store.partition_key;
    }
    auto& pub = ev(sf::FlowKind::kPublish, "card-processor", "bus");
    pub.topic = "card.authorisations";
    pub.partition = trace % 12;
    pub.offset = trace;
    withPayload(pub);
    for (const char* group : {"transaction", "fraud"}) {
      auto& d = ev(sf::FlowKind::kDeliver, "bus", group);
      d.topic = "card.authorisations";
      d.partition = trace % 12;
      d.offset = trace;
      d.consumer_group = group;
      withPayload(d);
    }
  }
  return pool;
}

// Recorder options as the simulator uses them.
sf::RecorderOptions recorderOptions() { return sf::RecorderOptions{}; }

std::string freshPath(const std::filesystem::path& dir, const std::string& name) {
  static int n = 0;
  return (dir / (name + "-" + std::to_string(n++) + ".sqlite")).string();
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE) {
    std::fprintf(stderr, "bench-recorder: %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

// The baseline: 7 columns, prepared insert, WAL, synchronous=NORMAL, 1000 rows per txn.
double rawSqliteRowsPerSecond(const std::string& path, const std::vector<sf::FlowEvent>& pool) {
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  check(sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr), db, "wal");
  check(sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr), db, "sync");
  check(sqlite3_exec(db,
                     "CREATE TABLE events(id INTEGER PRIMARY KEY, trace_id TEXT, start_us "
                     "INTEGER, kind INTEGER, source TEXT, destination TEXT, method TEXT)",
                     nullptr, nullptr, nullptr),
        db, "create");
  sqlite3_stmt* ins = nullptr;
  check(sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?,?,?,?,?,?,?)", -1, &ins, nullptr),
        db, "prepare");
  auto start = Clock::now();
  for (size_t i = 0; i < kRows; ++i) {
    if (i % 1000 == 0) check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
    const sf::FlowEvent& e = pool[i % pool.size()];
    sqlite3_bind_int64(ins, 1, static_cast<int64_t>(i + 1));
    sqlite3_bind_text(ins, 2, e.trace_id.data(), static_cast<int>(e.trace_id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(ins, 3, e.start_sim_us);
    sqlite3_bind_int64(ins, 4, static_cast<int>(e.kind));
    sqlite3_bind_text(ins, 5, e.source.data(), static_cast<int>(e.source.size()), SQLITE_STATIC);
    sqlite3_bind_text(ins, 6, e.destination.data(), static_cast<int>(e.destination.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(ins, 7, e.method.data(), static_cast<int>(e.method.size()), SQLITE_STATIC);
    check(sqlite3_step(ins), db, "insert");
    sqlite3_reset(ins);
    if (i % 1000 == 999 || i + 1 == kRows)
      check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  double rate = kRows / seconds(Clock::now() - start);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return rate;
}

std::vector<sf::FlowEventPtr> numbered(const std::vector<sf::FlowEvent>& pool, size_t n) {
  std::vector<sf::FlowEventPtr> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto e = std::make_shared<sf::FlowEvent>(pool[i % pool.size()]);
    e->id = i + 1;
    out.push_back(std::move(e));
  }
  return out;
}

// Events queued as fast as the driver can (the queue holds them all), timed until the
// writer has committed the last one: the writer's sustained rate.
double recorderEventsPerSecond(const std::string& path, const std::vector<sf::FlowEventPtr>& evs,
                               double* close_seconds = nullptr) {
  sf::RecorderOptions opt = recorderOptions();
  opt.queue_capacity = evs.size();
  auto rec = sf::Recorder::create(path, sf::RunInfo{}, opt);
  if (!rec.ok()) {
    std::fprintf(stderr, "bench-recorder: %s\n", rec.status().toString().c_str());
    std::exit(1);
  }
  auto start = Clock::now();
  for (const auto& e : evs) (*rec)->record(e);
  auto st = (*rec)->flush();
  double rate = evs.size() / seconds(Clock::now() - start);
  if (!st.ok() || (*rec)->stats().written != evs.size()) {
    std::fprintf(stderr, "bench-recorder: recorder lost events: %s\n", st.toString().c_str());
    std::exit(1);
  }
  auto close_start = Clock::now();
  (void)(*rec)->close();  // builds the indexes
  if (close_seconds) *close_seconds = seconds(Clock::now() - close_start);
  return rate;
}

struct Paced {
  double rate = 0;
  uint64_t emitted = 0, written = 0, dropped = 0, peak_pending = 0;
};

// Emits through a hub with the recorder attached at `rate` events/s for `duration`, in
// 1 ms ticks, with the recorder's default options.
Paced pacedRun(const std::string& path, const std::vector<sf::FlowEvent>& pool, double rate,
               std::chrono::milliseconds duration) {
  sandbank::ShiftedClock sim;
  sf::FlowHub hub(sim);
  auto rec = sf::Recorder::create(path, sf::RunInfo{}, recorderOptions());
  if (!rec.ok()) std::exit(1);
  hub.attachRecorder(*rec);
  Paced p;
  p.rate = rate;
  const auto start = Clock::now();
  const auto tick = std::chrono::milliseconds(1);
  auto next = start;
  size_t i = 0;
  while (Clock::now() - start < duration) {
    next += tick;
    const double elapsed = seconds(next - start);
    const auto target = static_cast<uint64_t>(rate * elapsed);
    while (p.emitted < target) {
      hub.emit(pool[i++ % pool.size()]);
      ++p.emitted;
    }
    std::this_thread::sleep_until(next);
  }
  (void)(*rec)->flush();
  hub.attachRecorder(nullptr);
  auto s = (*rec)->stats();
  p.written = s.written;
  p.dropped = s.dropped;
  p.peak_pending = s.peak_pending;
  (void)(*rec)->close();
  return p;
}

// Emits `n` events (copied from the pool, as an engine builds them) through a hub.
double hubEmitsPerSecond(const std::vector<sf::FlowEvent>& pool, size_t n, const std::string* path,
                         uint64_t* dropped) {
  sandbank::ShiftedClock sim;
  sf::FlowHub hub(sim);
  std::shared_ptr<sf::Recorder> rec;
  if (path) {
    sf::RecorderOptions opt = recorderOptions();
    opt.queue_capacity = n;
    auto r = sf::Recorder::create(*path, sf::RunInfo{}, opt);
    if (!r.ok()) std::exit(1);
    rec = *r;
    hub.attachRecorder(rec);
  }
  timespec c0{}, c1{};
  rusage r0{}, r1{};
  getrusage(RUSAGE_THREAD, &r0);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  auto start = Clock::now();
  for (size_t i = 0; i < n; ++i) hub.emit(pool[i % pool.size()]);
  double rate = n / seconds(Clock::now() - start);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  getrusage(RUSAGE_THREAD, &r1);
  std::fprintf(stderr, "  emit %s: wall %.0f/s, cpu %.0f ns/emit, %ld voluntary / %ld forced switches\n",
               path ? "on" : "off", rate,
               ((c1.tv_sec - c0.tv_sec) * 1e9 + (c1.tv_nsec - c0.tv_nsec)) / n,
               r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw);
  if (rec) {
    (void)rec->flush();
    *dropped += rec->stats().dropped;
    hub.attachRecorder(nullptr);
    (void)rec->close();
  }
  return rate;
}

// The smallest real call: a 128-byte request and reply over loopback TCP to an echo
// thread (what every RPC through the mesh costs at least), emitting two events per call
// as the mesh does for a call and its trace context. Returns calls per second.
double loopbackCallsPerSecond(const std::vector<sf::FlowEvent>& pool, size_t calls,
                              const std::string* path, uint64_t* dropped) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("bench-recorder: loopback listener");
    std::exit(1);
  }
  std::thread echo([listener] {
    int c = ::accept(listener, nullptr, nullptr);
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[128];
    for (;;) {
      size_t got = 0;
      while (got < sizeof buf) {
        ssize_t r = ::read(c, buf + got, sizeof buf - got);
        if (r <= 0) {
          ::close(c);
          return;
        }
        got += static_cast<size_t>(r);
      }
      if (::write(c, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) break;
    }
    ::close(c);
  });
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("bench-recorder: connect");
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  sandbank::ShiftedClock sim;
  sf::FlowHub hub(sim);
  std::shared_ptr<sf::Recorder> rec;
  if (path) {
    auto r = sf::Recorder::create(*path, sf::RunInfo{}, recorderOptions());
    if (!r.ok()) std::exit(1);
    rec = *r;
    hub.attachRecorder(rec);
  }
  char buf[128] = {};
  auto start = Clock::now();
  for (size_t i = 0; i < calls; ++i) {
    if (::write(client, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) std::exit(1);
    size_t got = 0;
    while (got < sizeof buf) {
      ssize_t r = ::read(client, buf + got, sizeof buf - got);
      if (r <= 0) std::exit(1);
      got += static_cast<size_t>(r);
    }
    hub.emit(pool[(2 * i) % pool.size()]);
    hub.emit(pool[(2 * i + 1) % pool.size()]);
  }
  double rate = calls / seconds(Clock::now() - start);
  ::close(client);
  echo.join();
  ::close(listener);
  if (rec) {
    (void)rec->flush();
    *dropped += rec->stats().dropped;
    hub.attachRecorder(nullptr);
    (void)rec->close();
  }
  return rate;
}

}  // namespace

int main() {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("sandbank-bench-recorder-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto pool = makePool(0);
  const auto pool_payload = makePool(128);
  const auto evs = numbered(pool, kRows);
  const auto evs_payload = numbered(pool_payload, kRows);

  // BENCH_ONLY=emit runs part (c) alone (for profiling); the JSON line needs all parts.
  const bool emit_only = std::getenv("BENCH_ONLY") && std::string(std::getenv("BENCH_ONLY")) == "emit";
  if (emit_only) {
    uint64_t d = 0;
    for (int r = 0; r < kReps; ++r) {
      hubEmitsPerSecond(pool_payload, 200'000, nullptr, &d);
      std::string p = freshPath(dir, "emit");
      hubEmitsPerSecond(pool_payload, 200'000, &p, &d);
    }
    std::filesystem::remove_all(dir);
    return 0;
  }
  // (a) sustained rate vs raw SQLite, interleaved, after one warm-up of each.
  (void)rawSqliteRowsPerSecond(freshPath(dir, "warm-raw"), pool);
  (void)recorderEventsPerSecond(freshPath(dir, "warm-rec"), evs);
  std::vector<double> raw, rec, rec_payload, close_s;
  for (int r = 0; r < kReps; ++r) {
    raw.push_back(rawSqliteRowsPerSecond(freshPath(dir, "raw"), pool));
    double c = 0;
    rec.push_back(recorderEventsPerSecond(freshPath(dir, "rec"), evs, &c));
    close_s.push_back(c);
    rec_payload.push_back(recorderEventsPerSecond(freshPath(dir, "recp"), evs_payload));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  const double raw_rate = median(raw), rec_rate = median(rec), rec_payload_rate = median(rec_payload);
  std::fprintf(stderr, "raw sqlite %.0f rows/s, recorder %.0f ev/s, with payloads %.0f ev/s\n",
               raw_rate, rec_rate, rec_payload_rate);

  // (b) no loss at half the sustained rate (payload-carrying mix, the slower one).
  Paced paced = pacedRun(freshPath(dir, "paced"), pool_payload, rec_payload_rate * 0.5,
                         std::chrono::milliseconds(3000));
  std::fprintf(stderr, "paced %.0f ev/s: emitted %llu written %llu dropped %llu peak queue %llu\n",
               paced.rate, (unsigned long long)paced.emitted, (unsigned long long)paced.written,
               (unsigned long long)paced.dropped, (unsigned long long)paced.peak_pending);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  // (c) hub emit throughput, recorder on vs off.
  const size_t n_emit = 200'000;
  uint64_t emit_dropped = 0;
  std::string warm = freshPath(dir, "warm-emit");
  (void)hubEmitsPerSecond(pool_payload, n_emit, nullptr, &emit_dropped);
  (void)hubEmitsPerSecond(pool_payload, n_emit, &warm, &emit_dropped);
  emit_dropped = 0;
  std::vector<double> off, on;
  for (int r = 0; r < kReps; ++r) {
    off.push_back(hubEmitsPerSecond(pool_payload, n_emit, nullptr, &emit_dropped));
    std::string p = freshPath(dir, "emit");
    on.push_back(hubEmitsPerSecond(pool_payload, n_emit, &p, &emit_dropped));
  }
  const double off_rate = median(off), on_rate = median(on);
  std::fprintf(stderr, "hub emit: recorder off %.0f/s, on %.0f/s (recorder drops %llu)\n",
               off_rate, on_rate, (unsigned long long)emit_dropped);

  // (c2) calls over loopback TCP, two events each, recorder on vs off.
  const size_t n_calls = 20'000;
  uint64_t call_dropped = 0;
  (void)loopbackCallsPerSecond(pool_payload, n_calls / 4, nullptr, &call_dropped);
  std::vector<double> calls_off, calls_on;
  for (int r = 0; r < kReps; ++r) {
    calls_off.push_back(loopbackCallsPerSecond(pool_payload, n_calls, nullptr, &call_dropped));
    std::string p = freshPath(dir, "calls");
    calls_on.push_back(loopbackCallsPerSecond(pool_payload, n_calls, &p, &call_dropped));
  }
  const double calls_off_rate = median(calls_off), calls_on_rate = median(calls_on);
  std::fprintf(stderr, "loopback calls: recorder off %.0f/s, on %.0f/s (recorder drops %llu)\n",
               calls_off_rate, calls_on_rate, (unsigned long long)call_dropped);
  std::filesystem::remove_all(dir);

  nlohmann::ordered_json out;
  out["bench"] = "recorder";
  out["metrics"] = {
      {"recorder_events_per_s", rec_rate},
      {"recorder_events_with_128b_payload_per_s", rec_payload_rate},
      {"close_index_build_s_per_million_events", median(close_s) * 1e6 / kRows},
      {"paced_rate_events_per_s", paced.rate},
      {"paced_events", paced.emitted},
      {"paced_written", paced.written},
      {"paced_dropped", paced.dropped},
      {"paced_peak_queue", paced.peak_pending},
      {"no_loss_at_half_rate", paced.dropped == 0 && paced.written == paced.emitted},
      {"hub_emits_per_s_recorder_on", on_rate},
      {"hub_emit_recorder_drops", emit_dropped},
      {"loopback_calls_per_s_recorder_on", calls_on_rate},
      {"loopback_call_recorder_drops", call_dropped},
  };
  out["baseline"] = {
      {"raw_sqlite_rows_per_s", raw_rate},
      {"hub_emits_per_s_recorder_off", off_rate},
      {"loopback_calls_per_s_recorder_off", calls_off_rate},
  };
  out["ratios"] = {
      {"recording_vs_raw_sqlite", rec_rate / raw_rate},
      {"recording_with_payloads_vs_raw_sqlite", rec_payload_rate / raw_rate},
      {"emit_recorder_on_vs_off", on_rate / off_rate},
      {"loopback_calls_recorder_on_vs_off", calls_on_rate / calls_off_rate},
  };
  out["goal"] = {
      {"recording_vs_raw_sqlite", ">=0.8"},
      {"recording_with_payloads_vs_raw_sqlite", ">=0.8"},
      {"emit_recorder_on_vs_off", ">=0.9"},
      {"loopback_calls_recorder_on_vs_off", ">=0.9"},
  };
  std::cout << out.dump() << std::endl;
  return paced.dropped == 0 ? 0 : 1;
}
