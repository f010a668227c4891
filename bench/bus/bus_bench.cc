// bench-bus: throughput of 100-byte records through the bus over gRPC (kit producer with
// batching -> bus -> kit group consumer) vs librdkafka's mock cluster producer, and
// produce->deliver p50 latency vs a bare gRPC bidi ping-pong, all in the same run; then
// whether a consumer keeps up at half the maximum produce rate.
// Single-threaded driver; the clients and servers run their own threads.
#include <grpcpp/grpcpp.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "sandbank/bus.grpc.pb.h"
#include "sandbank/bus/broker.h"
#include "sandbank/bus/bus_grpc_service.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/testing/echo.grpc.pb.h"

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
namespace bus = sandbank::bus;
namespace kit = sandbank::kit;

namespace {

constexpr int kReps = 5;
constexpr int kRecordBytes = 100;
constexpr int kPartitions = 3;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}
double secondsSince(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

// ---- baseline: librdkafka mock cluster producer --------------------------------------

double rdkafkaMockProducer(int n, int rep) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const char* v) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::cerr << "rdkafka conf " << k << ": " << err << "\n";
      std::exit(2);
    }
  };
  set("test.mock.num.brokers", "1");
  set("linger.ms", "5");
  set("queue.buffering.max.messages", "1000000");
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::cerr << "rd_kafka_new: " << err << "\n";
    std::exit(2);
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_handle_mock_cluster(rk);
  const std::string topic = "bench-" + std::to_string(rep);
  rd_kafka_mock_topic_create(mc, topic.c_str(), kPartitions, 1);
  std::string payload(kRecordBytes, 'x');
  // Warm the metadata and connection with one message.
  rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(payload.data(), payload.size()),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  rd_kafka_flush(rk, 10000);
  const auto t0 = Steady::now();
  for (int i = 0; i < n; ++i) {
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(payload.data(), payload.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::cerr << "rdkafka produce: " << rd_kafka_err2str(e) << "\n";
        std::exit(2);
      }
      rd_kafka_poll(rk, 1);
    }
  }
  rd_kafka_flush(rk, 60000);
  const double secs = secondsSince(t0);
  rd_kafka_destroy(rk);
  return n / secs;
}

// ---- baseline: bare gRPC bidi ping-pong -----------------------------------------------

class EchoBidi final : public sandbank::testing::Echo::Service {
  grpc::Status Bidi(grpc::ServerContext*,
                    grpc::ServerReaderWriter<sandbank::testing::EchoReply, sandbank::testing::EchoRequest>* s) override {
    sandbank::testing::EchoRequest req;
    sandbank::testing::EchoReply reply;
    while (s->Read(&req)) {
      reply.set_payload(req.payload());
      if (!s->Write(reply)) break;
    }
    return grpc::Status::OK;
  }
};

std::vector<double> grpcPingPongUs(int samples) {
  EchoBidi service;
  grpc::ServerBuilder b;
  int port = 0;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  b.RegisterService(&service);
  auto server = b.BuildAndStart();
  auto stub = sandbank::testing::Echo::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto stream = stub->Bidi(&ctx);
  sandbank::testing::EchoRequest req;
  req.set_payload(std::string(kRecordBytes, 'x'));
  sandbank::testing::EchoReply reply;
  std::vector<double> out;
  for (int i = 0; i < samples + samples / 5; ++i) {
    const auto t0 = Steady::now();
    stream->Write(req);
    stream->Read(&reply);
    if (i >= samples / 5) out.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
  }
  stream->WritesDone();
  (void)stream->Finish();
  server->Shutdown(std::chrono::system_clock::now() + 1s);
  return out;
}

// ---- the bus --------------------------------------------------------------------------

struct BusUnderTest {
  sandbank::SystemClock clock;
  // With `flow_events` every publish/deliver/commit event is built and handed to a sink
  // that drops it: what the flow layer costs before the hub. The headline runs without,
  // like the mock cluster.
  bus::Broker broker;
  std::unique_ptr<grpc::Service> service = bus::makeBusGrpcService(broker);
  std::unique_ptr<grpc::Server> server;
  std::string address;
  explicit BusUnderTest(bool flow_events = std::getenv("BENCH_BUS_FLOW") != nullptr)
      : broker(clock, flow_events ? &sandbank::flow::NullFlowSink::instance() : nullptr) {
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(service.get());
    b.SetMaxReceiveMessageSize(64 << 20);
    server = b.BuildAndStart();
    address = "127.0.0.1:" + std::to_string(port);
  }
  ~BusUnderTest() { server->Shutdown(std::chrono::system_clock::now() + 1s); }
};

// Counts consumed records; wakes the waiter only when its target is reached, so the
// harness does not add a thread switch per record.
struct Counter {
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int64_t> count{0};
  std::atomic<int64_t> target{INT64_MAX};
  void add(int64_t n) {
    if (count.fetch_add(n) + n >= target.load()) {
      std::lock_guard lock(mu);
      cv.notify_all();
    }
  }
  bool waitFor(int64_t n, std::chrono::seconds timeout) {
    std::unique_lock lock(mu);
    target = n;
    return cv.wait_for(lock, timeout, [&] { return count.load() >= n; });
  }
};

std::unique_ptr<kit::BusProducer> makeProducer(const std::string& address, std::chrono::milliseconds linger,
                                               size_t batch) {
  kit::BusProducerOptions po;
  po.address = address;
  po.client_id = "bench";
  po.linger = linger;
  po.batch_records = batch;
  auto p = kit::BusProducer::create(po);
  if (!p.ok()) {
    std::cerr << p.status().toString() << "\n";
    std::exit(2);
  }
  return std::move(*p);
}

std::unique_ptr<kit::BusConsumer> makeConsumer(const std::string& address, const std::string& topic,
                                               const std::string& group, Counter& counter) {
  kit::BusConsumerOptions co;
  co.address = address;
  co.group = group;
  co.topics = {topic};
  co.max_batch = std::getenv("BENCH_BUS_CBATCH") ? std::atoi(std::getenv("BENCH_BUS_CBATCH")) : 2000;
  auto c = kit::BusConsumer::start(co, [&counter](const kit::BusDelivery&) {
    counter.add(1);
    return sandbank::OkStatus();
  });
  if (!c.ok()) {
    std::cerr << c.status().toString() << "\n";
    std::exit(2);
  }
  return std::move(*c);
}

// Produce n records and consume them all in a group; records/s end to end.
double busThroughput(BusUnderTest& b, int n, int rep) {
  const std::string topic = "tput-" + std::to_string(rep);
  (void)b.broker.createTopic(topic, {.partitions = kPartitions});
  Counter consumed;
  auto consumer = makeConsumer(b.address, topic, "g-" + topic, consumed);
  const size_t batch = std::getenv("BENCH_BUS_BATCH") ? std::atoi(std::getenv("BENCH_BUS_BATCH")) : 1000;
  auto producer = makeProducer(b.address, 5ms, batch);
  const std::string payload(kRecordBytes, 'x');
  const auto t0 = Steady::now();
  for (int i = 0; i < n; ++i) producer->send(topic, kit::BusMessage{std::nullopt, payload, {}, -1, 0});
  const bool flushed = producer->flush(60s).ok();
  if (std::getenv("BENCH_BUS_DEBUG")) std::cerr << "    produced in " << secondsSince(t0) << " s\n";
  if (!flushed || !consumed.waitFor(n, 60s)) {
    std::cerr << "bus throughput rep " << rep << " did not finish\n";
    std::exit(2);
  }
  const double secs = secondsSince(t0);
  consumer->stop();
  (void)b.broker.deleteTopic(topic);
  return n / secs;
}

// One record at a time: time from producing it until the consumer stream receives it.
// `via_kit` sends with kit::BusProducer (one more thread hop: its sender thread);
// otherwise the bench thread writes to a ProducePipeline stream itself, which is the
// same shape as the ping-pong baseline.
std::vector<double> busLatencyUs(BusUnderTest& b, int samples, int rep, bool via_kit) {
  const std::string topic = "latency-" + std::to_string(rep);
  (void)b.broker.createTopic(topic, {.partitions = kPartitions});
  auto stub = bus::Bus::NewStub(grpc::CreateChannel(b.address, grpc::InsecureChannelCredentials()));
  bus::JoinGroupRequest join;
  join.set_group(topic);
  join.add_topics(topic);
  join.set_auto_offset_reset("earliest");  // the topic is new: nothing is skipped or replayed
  bus::GroupMembership m;
  {
    grpc::ClientContext ctx;
    if (!stub->JoinGroup(&ctx, join, &m).ok()) std::exit(2);
  }
  std::mutex mu;
  std::condition_variable cv;
  int received = 0;  // guarded by mu
  Steady::time_point got_at;
  grpc::ClientContext stream_ctx;
  bus::ConsumeRequest req;
  req.set_group(topic);
  req.set_member_id(m.member_id());
  req.set_generation(m.generation());
  req.set_max_wait_ms(1000);
  auto reader = stub->Consume(&stream_ctx, req);
  std::thread consumer([&] {
    bus::ConsumeBatch batch;
    while (reader->Read(&batch)) {
      if (batch.records_size() == 0) continue;
      std::lock_guard lock(mu);
      received += batch.records_size();
      got_at = Steady::now();
      cv.notify_all();
    }
  });
  std::unique_ptr<kit::BusProducer> producer;
  grpc::ClientContext produce_ctx;
  std::unique_ptr<grpc::ClientReaderWriter<bus::ProduceRequest, bus::ProduceResponse>> pipeline;
  if (via_kit) {
    producer = makeProducer(b.address, 0ms, 1);
  } else {
    pipeline = stub->ProducePipeline(&produce_ctx);
  }
  const std::string payload(kRecordBytes, 'x');
  bus::ProduceRequest preq;
  preq.set_topic(topic);
  preq.add_records()->set_value(payload);
  bus::ProduceResponse presp;
  std::vector<double> out;
  for (int i = 0; i < samples + samples / 5; ++i) {
    const auto t0 = Steady::now();
    if (via_kit) {
      producer->send(topic, kit::BusMessage{std::nullopt, payload, {}, -1, 0});
    } else {
      pipeline->Write(preq);
    }
    {
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, 5s, [&] { return received > i; })) {
        std::cerr << "latency sample " << i << " never arrived\n";
        std::exit(2);
      }
      if (i >= samples / 5) out.push_back(std::chrono::duration<double, std::micro>(got_at - t0).count());
    }
    if (!via_kit && (!pipeline->Read(&presp) || !presp.error().empty())) {
      std::cerr << "produce ack failed: " << presp.error_message() << "\n";
      std::exit(2);
    }
  }
  if (pipeline) {
    pipeline->WritesDone();
    (void)pipeline->Finish();
  }
  stream_ctx.TryCancel();
  consumer.join();
  (void)reader->Finish();
  bus::LeaveGroupRequest leave;
  leave.set_group(topic);
  leave.set_member_id(m.member_id());
  bus::Empty empty;
  grpc::ClientContext leave_ctx;
  (void)stub->LeaveGroup(&leave_ctx, leave, &empty);
  return out;
}

struct KeepUp {
  double rate = 0;
  std::vector<int64_t> lag_samples;
  bool keeps_up = false;
  double drain_seconds = 0;
  int64_t max_lag = 0;
};

// Produce at `rate` records/s for `duration`, sampling the group's lag.
KeepUp keepUp(BusUnderTest& b, double rate, std::chrono::seconds duration) {
  KeepUp k;
  k.rate = rate;
  const std::string topic = "keepup";
  (void)b.broker.createTopic(topic, {.partitions = kPartitions});
  Counter consumed;
  auto consumer = makeConsumer(b.address, topic, "keepup", consumed);
  auto producer = makeProducer(b.address, 5ms, 1000);
  const std::string payload(kRecordBytes, 'x');
  auto totalLag = [&] {
    int64_t total = 0;
    for (const auto& l : b.broker.lag("keepup").valueOr({})) total += l.lag;
    return total;
  };
  const auto t0 = Steady::now();
  auto next_sample = t0 + 200ms;
  int64_t sent = 0;
  while (Steady::now() - t0 < duration) {
    const double elapsed = secondsSince(t0);
    const auto due = static_cast<int64_t>(elapsed * rate);
    for (; sent < due; ++sent) producer->send(topic, kit::BusMessage{std::nullopt, payload, {}, -1, 0});
    if (Steady::now() >= next_sample) {
      k.lag_samples.push_back(totalLag());
      next_sample += 200ms;
    }
    std::this_thread::sleep_for(1ms);  // pacing the producer, not synchronisation
  }
  (void)producer->flush(30s);
  const auto drain0 = Steady::now();
  consumed.waitFor(sent, 30s);
  while (totalLag() > 0 && secondsSince(drain0) < 10) std::this_thread::sleep_for(5ms);
  k.drain_seconds = secondsSince(drain0);
  // Keeping up: the group is never more than a quarter second of records behind (a
  // growing lag would pass that within the run) and the backlog is gone within a second
  // of the producer stopping.
  const int64_t max_lag = *std::max_element(k.lag_samples.begin(), k.lag_samples.end());
  k.max_lag = max_lag;
  k.keeps_up = static_cast<double>(max_lag) <= rate * 0.25 && totalLag() == 0 && k.drain_seconds < 1.0;
  consumer->stop();
  return k;
}

}  // namespace

int main() {
  const int n = std::getenv("BENCH_BUS_N") ? std::atoi(std::getenv("BENCH_BUS_N")) : 300000;
  const int pings = 2000;
  std::cerr << "bench-bus: " << n << " x " << kRecordBytes << " B records, " << kPartitions
            << " partitions, " << kReps << " reps after a warm-up\n";

  // Each rep measures the baseline and the bus back to back; ratios are the median of the
  // per-rep ratios, so a load spike on this shared machine hits both sides of one ratio.
  std::vector<double> mock, ours, tput_ratios;
  if (std::getenv("BENCH_BUS_PROFILE")) {  // only the bus path, for a profiler
    BusUnderTest b;
    for (int r = 0; r < kReps; ++r) std::cerr << "  bus " << busThroughput(b, n, r) << " rec/s\n";
    return 0;
  }
  rdkafkaMockProducer(n / 5, 99);  // warm-up
  BusUnderTest b;
  busThroughput(b, n / 5, 99);  // warm-up
  for (int r = 0; r < kReps; ++r) {
    mock.push_back(rdkafkaMockProducer(n, r));
    ours.push_back(busThroughput(b, n, r));
    tput_ratios.push_back(ours.back() / mock.back());
    std::cerr << "  rep " << r << ": rdkafka mock producer " << static_cast<int64_t>(mock.back())
              << " rec/s, bus produce+consume " << static_cast<int64_t>(ours.back()) << " rec/s\n";
  }
  const double mock_tput = median(mock), bus_tput = median(ours);
  std::vector<double> with_flow;
  {
    BusUnderTest bf(true);
    for (int r = 0; r < 3; ++r) with_flow.push_back(busThroughput(bf, n, 200 + r));
  }
  const double flow_tput = median(with_flow);
  std::cerr << "  bus produce+consume building flow events: " << static_cast<int64_t>(flow_tput) << " rec/s\n";

  std::vector<double> ping_p50s, bus_p50s, bus_p99s, kit_p50s, lat_ratios;
  busLatencyUs(b, pings / 5, 99, false);  // warm-up
  for (int r = 0; r < kReps; ++r) {
    ping_p50s.push_back(percentile(grpcPingPongUs(pings), 0.5));
    auto lat = busLatencyUs(b, pings, r, false);
    bus_p50s.push_back(percentile(lat, 0.5));
    bus_p99s.push_back(percentile(lat, 0.99));
    kit_p50s.push_back(percentile(busLatencyUs(b, pings, 100 + r, true), 0.5));
    lat_ratios.push_back(bus_p50s.back() / ping_p50s.back());
    std::cerr << "  rep " << r << ": grpc bidi ping-pong p50 " << ping_p50s.back()
              << " us, bus produce->deliver p50 " << bus_p50s.back() << " us (via kit producer "
              << kit_p50s.back() << " us)\n";
  }
  const double ping_p50 = median(ping_p50s), bus_p50 = median(bus_p50s), bus_p99 = median(bus_p99s);
  const double kit_p50 = median(kit_p50s);

  KeepUp k = keepUp(b, bus_tput * 0.5, 3s);
  std::ostringstream lags;
  for (size_t i = 0; i < k.lag_samples.size(); ++i) lags << (i ? "," : "") << k.lag_samples[i];
  std::cerr << "  keep-up at " << static_cast<int64_t>(k.rate) << " rec/s: lag samples [" << lags.str()
            << "], drained in " << k.drain_seconds << " s -> " << (k.keeps_up ? "keeps up" : "FALLS BEHIND")
            << "\n";

  char line[2048];
  std::snprintf(line, sizeof line,
                "{\"bench\":\"bus\",\"metrics\":{\"throughput_rec_per_s\":%.0f,\"throughput_with_flow_events_rec_per_s\":%.0f,\"produce_deliver_p50_us\":%.1f,"
                "\"produce_deliver_p99_us\":%.1f,\"produce_deliver_via_kit_p50_us\":%.1f,\"keepup_rate_rec_per_s\":%.0f,\"keepup_lag_samples\":[%s],"
                "\"keepup_max_lag\":%lld,\"keepup_drain_s\":%.3f,\"keeps_up\":%s},"
                "\"baseline\":{\"rdkafka_mock_producer_rec_per_s\":%.0f,\"grpc_bidi_pingpong_p50_us\":%.1f},"
                "\"ratios\":{\"throughput_vs_rdkafka_mock\":%.3f,\"latency_vs_grpc_pingpong\":%.3f},"
                "\"goal\":{\"throughput_vs_rdkafka_mock\":\">=1.0\",\"latency_vs_grpc_pingpong\":\"<=2.0\"}}",
                bus_tput, flow_tput, bus_p50, bus_p99, kit_p50, k.rate, lags.str().c_str(), static_cast<long long>(k.max_lag), k.drain_seconds,
                k.keeps_up ? "true" : "false", mock_tput, ping_p50, median(tput_ratios), median(lat_ratios));
  std::cout << line << std::endl;
  return 0;
}
