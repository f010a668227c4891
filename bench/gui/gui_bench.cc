// bench-gui: the desktop app, offscreen, with the whole reference bank running in process.
//
// 1. Frame time under 10,000 flow events per second. A producer thread feeds events shaped
//    like the bank's (rpc, publish, deliver, store; a few errors and faults) into the same
//    FlowFeed the live stream uses, while every panel is built and the window is shown. A
//    precise 16 ms heartbeat timer on the UI thread measures the gap between its firings:
//    the gap is the frame time the user sees. Baseline, same run: the gap with the window
//    shown and no extra events. Ratio = loaded p95 / idle p95 (1.0 means the events cost
//    nothing a user could see; 16 ms budget -> goal 1.0, 33 ms -> must 2.0).
// 2. Bank throughput with the GUI attached vs detached: seeded customers drive the edge at
//    a high rate for a few seconds, alternating with the GUI attached (a second client of
//    the control API, every panel shown and refreshing) and detached (no GUI at all).
// 3. Memory after 1 M events: RSS after 100 k, 500 k and 1 M injected events.
//
// Prints one JSON object as its last line (../shared/BENCH.md).
#include <QApplication>
#include <QElapsedTimer>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "app.h"
#include "flow_feed.h"
#include "main_window.h"
#include "sandbank/control/run_state.h"
#include "sandbank/control/simulator.h"
#include "sandbank/load/load_generator.h"

namespace sandbank::gui {
namespace {

using Clock = std::chrono::steady_clock;

int64_t rssBytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

// Events shaped like the bank's, cycling over its services, topics and tables.
class EventMaker {
 public:
  explicit EventMaker(uint64_t first_id) : next_id_(first_id) {}
  flow::FlowEvent next() {
    static const char* const kServices[] = {"edge", "card-processor", "ledger", "fraud", "card", "account",
                                            "transaction", "feed", "notification", "p2p", "pots", "fps"};
    static const char* const kTopics[] = {"card.authorisations", "ledger.entrysets", "transaction.events", "feed.items"};
    flow::FlowEvent e;
    e.id = next_id_++;
    const uint64_t n = e.id;
    char trace[33];
    std::snprintf(trace, sizeof trace, "%032llx", static_cast<unsigned long long>(n / 12 + 0xbe7c4));
    e.trace_id = trace;
    e.span_id = std::string(16, 'a' + static_cast<char>(n % 6));
    e.start_sim_us = e.start_real_us = 1'800'000'000'000'000 + static_cast<int64_t>(n) * 100;
    e.end_sim_us = e.end_real_us = e.start_sim_us + 350;
    e.source = kServices[n % 12];
    e.destination = kServices[(n * 7 + 3) % 12];
    switch (n % 6) {
      case 0: case 1:
        e.kind = flow::FlowKind::kRpc;
        e.method = "sandbank.bank.ledger.Ledger/PostEntrySet";
        break;
      case 2:
        e.kind = flow::FlowKind::kPublish;
        e.destination = "bus";
        e.topic = kTopics[n % 4];
        e.partition = static_cast<int32_t>(n % 8);
        e.offset = static_cast<int64_t>(n);
        break;
      case 3:
        e.kind = flow::FlowKind::kDeliver;
        e.source = "bus";
        e.topic = kTopics[n % 4];
        e.consumer_group = "feed";
        break;
      default:
        e.kind = flow::FlowKind::kStoreRequest;
        e.destination = "store/node-" + std::to_string(1 + n % 3);
        e.keyspace = "ledger";
        e.table = "balances";
        e.method = "UPDATE";
        e.detail = "CL=LOCAL_QUORUM acks 2/3";
        break;
    }
    if (n % 97 == 0) e.status = "UNAVAILABLE";
    e.size = 180;
    e.payload = std::string(180, 'x');
    return e;
  }

 private:
  uint64_t next_id_;
};

// Feeds `rate` events per second into `feed` from a thread, in 1 ms slices.
class Producer {
 public:
  Producer(FlowFeed& feed, double rate) : feed_(feed), rate_(rate) {
    thread_ = std::thread([this] { run(); });
  }
  ~Producer() {
    stop_ = true;
    thread_.join();
  }
  uint64_t produced() const { return produced_; }

 private:
  void run() {
    EventMaker maker(1'000'000'000);
    const auto t0 = Clock::now();
    while (!stop_) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      const auto due = static_cast<uint64_t>(elapsed * rate_);
      if (due > produced_) {
        std::vector<flow::FlowEvent> batch;
        batch.reserve(due - produced_);
        while (produced_ < due) {
          batch.push_back(maker.next());
          ++produced_;
        }
        feed_.inject(std::move(batch));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  FlowFeed& feed_;
  double rate_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> produced_{0};
  std::thread thread_;
};

// Heartbeat gaps (ms) on the UI thread over `ms` milliseconds.
std::vector<double> frameGaps(int ms) {
  std::vector<double> gaps;
  QTimer beat;
  beat.setTimerType(Qt::PreciseTimer);
  QElapsedTimer since;
  since.start();
  QObject::connect(&beat, &QTimer::timeout, [&] { gaps.push_back(static_cast<double>(since.nsecsElapsed()) / 1e6); since.restart(); });
  beat.start(16);
  QElapsedTimer total;
  total.start();
  while (total.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 5);
  beat.stop();
  if (!gaps.empty()) gaps.erase(gaps.begin());  // the first gap includes start-up
  return gaps;
}

void pump(int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 5);
}

// Acknowledged operations per second of a seeded load over `ms`, pumping the UI meanwhile.
double loadThroughput(const std::string& edge, uint64_t seed, int ms) {
  load::LoadOptions lo;
  lo.edge = edge;
  lo.customers = 40;
  lo.rate = 1500;
  lo.duration = std::chrono::milliseconds(0);
  lo.seed = seed;
  lo.concurrency = 16;
  load::LoadGenerator gen(lo);
  if (!gen.start().ok()) return 0;
  pump(1000);  // sign-ups and warm-up
  const auto before = gen.snapshot();
  const auto t0 = Clock::now();
  pump(ms);
  const auto after = gen.snapshot();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  gen.stop();
  while (!gen.waitFor(std::chrono::milliseconds(20))) QApplication::processEvents();
  return static_cast<double>((after.ok + after.declined) - (before.ok + before.declined)) / secs;
}

}  // namespace
}  // namespace sandbank::gui

int main(int argc, char** argv) {
  using namespace sandbank::gui;
  qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication qapp(argc, argv);
  applyTheme("light");
  constexpr double kRate = 10'000;
  constexpr int kReps = 5;

  // The bank, in process, as `sandbank-gui` runs it.
  AppOptions o;
  o.manifest = SANDBANK_SOURCE_DIR "/bank.yaml";
  o.bin_dir = SANDBANK_BIN_DIR;
  o.record = "/tmp/bench-gui-" + std::to_string(::getpid()) + ".db";
  auto app = std::make_unique<App>(o);
  if (auto s = app->start(); !s.ok()) {
    std::cerr << "bench-gui: " << s.message() << "\n";
    return 1;
  }
  const std::string edge = app->edgeAddress();

  // 1. Frame time.
  std::vector<double> idle_p95, loaded_p95, loaded_p50;
  uint64_t delivered = 0;
  {
    MainWindow window(app->context());
    window.show();
    pump(2000);
    for (int rep = 0; rep < kReps + 1; ++rep) {
      auto idle = frameGaps(3000);
      double ip95 = percentile(idle, 0.95);
      uint64_t before = app->context().feed->received();
      std::vector<double> loaded;
      {
        Producer producer(*app->context().feed, kRate);
        loaded = frameGaps(3000);
      }
      pump(300);
      delivered += app->context().feed->received() - before;
      if (rep == 0) continue;  // warm-up
      idle_p95.push_back(ip95);
      loaded_p95.push_back(percentile(loaded, 0.95));
      loaded_p50.push_back(percentile(loaded, 0.5));
      std::cerr << "frames rep " << rep << ": idle p95 " << ip95 << " ms, loaded p50 " << loaded_p50.back()
                << " ms, p95 " << loaded_p95.back() << " ms\n";
    }
  }

  // 2. Throughput, GUI attached vs detached (alternating, so drift hits both alike).
  std::vector<double> attached, detached;
  for (int rep = 0; rep < kReps; ++rep) {
    detached.push_back(loadThroughput(edge, 100 + rep, 4000));
    {
      AppOptions a;
      a.attach = sandbank::control::defaultRunStatePath();
      App viewer(a);
      if (auto s = viewer.start(); !s.ok()) {
        std::cerr << "bench-gui: attach: " << s.message() << "\n";
        return 1;
      }
      MainWindow window(viewer.context());
      window.show();
      pump(500);
      attached.push_back(loadThroughput(edge, 200 + rep, 4000));
    }
    std::cerr << "throughput rep " << rep << ": detached " << detached.back() << "/s, attached " << attached.back() << "/s\n";
  }

  // 3. Memory after 1 M events (no bank traffic; the panels keep what they keep).
  int64_t rss_100k = 0, rss_500k = 0, rss_1m = 0;
  {
    MainWindow window(app->context());
    window.show();
    pump(500);
    EventMaker maker(2'000'000'000);
    const int64_t rss_start = rssBytes();
    for (int k = 1; k <= 100; ++k) {
      std::vector<sandbank::flow::FlowEvent> chunk;
      chunk.reserve(10'000);
      for (int i = 0; i < 10'000; ++i) chunk.push_back(maker.next());
      app->context().feed->inject(std::move(chunk));
      pump(40);
      if (k == 10) rss_100k = rssBytes();
      if (k == 50) rss_500k = rssBytes();
    }
    pump(500);
    rss_1m = rssBytes();
    std::cerr << "rss: start " << rss_start / 1048576 << " MiB, 100k " << rss_100k / 1048576 << " MiB, 500k "
              << rss_500k / 1048576 << " MiB, 1M " << rss_1m / 1048576 << " MiB\n";
  }
  app.reset();
  std::remove(o.record.c_str());

  const double idle = median(idle_p95), loaded = median(loaded_p95);
  const double det = median(detached), att = median(attached);
  nlohmann::json out;
  out["bench"] = "gui";
  out["metrics"] = {{"frame_ms_p95_at_10k_events_per_s", loaded},
                    {"frame_ms_p50_at_10k_events_per_s", median(loaded_p50)},
                    {"events_delivered_to_the_ui", delivered},
                    {"ops_per_s_gui_attached", att},
                    {"rss_mib_after_100k_events", rss_100k / 1048576},
                    {"rss_mib_after_500k_events", rss_500k / 1048576},
                    {"rss_mib_after_1m_events", rss_1m / 1048576}};
  out["baseline"] = {{"frame_ms_p95_idle", idle}, {"ops_per_s_gui_detached", det}};
  out["ratios"] = {{"frame_p95_loaded_vs_idle", idle > 0 ? loaded / idle : 0},
                   {"throughput_attached_vs_detached", det > 0 ? att / det : 0},
                   {"rss_1m_vs_500k_events", rss_500k > 0 ? static_cast<double>(rss_1m) / static_cast<double>(rss_500k) : 0}};
  out["goal"] = {{"frame_p95_loaded_vs_idle", "<=1.0 (16 ms); must <=2.0 (33 ms)"},
                 {"throughput_attached_vs_detached", ">=0.9; must >=0.8"},
                 {"rss_1m_vs_500k_events", "<=1.1 (bounded)"}};
  std::cout << out.dump() << std::endl;
  return 0;
}
