// bench-mesh: p50/p99 latency of a unary Echo call through the mesh against the same call
// made directly to the same bare gRPC echo server, measured interleaved in one run.
// As in a real run, the caller, the mesh (the simulator) and the service are three
// processes: this binary re-executes itself as `--backend` and as `--mesh ADDRESS`.
// The mesh runs as the simulator runs it: a fault engine (no rules), a flow sink and the
// payload decoder naming payload types. Prints one JSON line last (see bench/README.md).
#include <grpcpp/grpcpp.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "sandbank/faults/fault_engine.h"
#include "sandbank/flow/flow_hub.h"
#include "sandbank/flow/recorder.h"
#include "sandbank/mesh/mesh.h"
#include "sandbank/mesh/payload_decoder.h"
#include "sandbank/mesh/service_directory.h"
#include "sandbank/testing/echo.grpc.pb.h"

namespace {

using sandbank::testing::EchoReply;
using sandbank::testing::EchoRequest;
using Clock = std::chrono::steady_clock;

constexpr int kWarmup = 500;
constexpr int kReps = 7;
constexpr int kCallsPerRep = 1500;

class BareEcho final : public sandbank::testing::Echo::Service {
  grpc::Status Echo(grpc::ServerContext*, const EchoRequest* request, EchoReply* reply) override {
    reply->set_text(request->text());
    reply->set_payload(request->payload());
    return grpc::Status::OK;
  }
};

// Counts events the way a real sink would at least touch them.
class CountingSink final : public sandbank::flow::FlowSink {
 public:
  void emit(sandbank::flow::FlowEvent event) override {
    bytes_.fetch_add(event.payload.size(), std::memory_order_relaxed);
    events_.fetch_add(1, std::memory_order_relaxed);
  }
  int64_t events() const { return events_.load(); }

 private:
  std::atomic<int64_t> events_{0};
  std::atomic<int64_t> bytes_{0};
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

// One timed unary call, in microseconds; aborts the run on failure (a broken bench must
// not print numbers).
double timedCall(sandbank::testing::Echo::Stub& stub, const EchoRequest& request) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  EchoReply reply;
  auto t0 = Clock::now();
  grpc::Status status = stub.Echo(&ctx, request, &reply);
  auto t1 = Clock::now();
  if (!status.ok()) {
    std::fprintf(stderr, "bench-mesh: call failed: %s\n", status.error_message().c_str());
    std::exit(1);
  }
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

std::string descriptorSetNextToBinary() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : (exe.parent_path() / "sandbank.desc").string();
}

// Serves until the parent goes away (stdin closes), after printing "PORT <n>".
void serveUntilStdinCloses(int port) {
  std::printf("PORT %d\n", port);
  std::fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
}

int runBackend() {
  BareEcho service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  serveUntilStdinCloses(port);
  server->Shutdown();
  return 0;
}

// `hub_mode`: "" counts events only (the latency runs); "hub" sends them to a FlowHub as
// the simulator does; "record:PATH" also attaches a Recorder writing PATH.
int runMesh(const std::string& backend, const std::string& hub_mode) {
  sandbank::mesh::InMemoryServiceDirectory directory;
  directory.addEndpoint("echo", backend);
  CountingSink counting;
  std::unique_ptr<sandbank::flow::FlowHub> hub;
  std::shared_ptr<sandbank::flow::Recorder> recorder;
  sandbank::flow::FlowSink* sink_ptr = &counting;
  if (!hub_mode.empty()) {
    hub = std::make_unique<sandbank::flow::FlowHub>(sandbank::SystemClock::instance());
    sink_ptr = hub.get();
    if (hub_mode.rfind("record:", 0) == 0) {
      auto r = sandbank::flow::Recorder::create(hub_mode.substr(7), sandbank::flow::RunInfo{});
      if (!r.ok()) {
        std::fprintf(stderr, "bench-mesh: %s\n", r.status().toString().c_str());
        return 1;
      }
      recorder = *r;
      hub->attachRecorder(recorder);
    }
  }
  sandbank::flow::FlowSink& sink = *sink_ptr;
  sandbank::faults::FaultEngine faults(sandbank::SystemClock::instance(), sink, 1);
  std::unique_ptr<sandbank::mesh::PayloadDecoder> decoder;
  if (auto d = sandbank::mesh::PayloadDecoder::fromDescriptorSetFile(descriptorSetNextToBinary()); d.ok()) {
    decoder = std::move(*d);
  } else {
    std::fprintf(stderr, "bench-mesh: no payload types (%s)\n", d.status().toString().c_str());
  }
  sandbank::mesh::MeshOptions options;
  options.directory = &directory;
  options.faults = &faults;
  options.sink = &sink;
  options.decoder = decoder.get();
  if (const char* t = std::getenv("SANDBANK_MESH_THREADS")) options.threads = std::atoi(t);
  auto mesh = sandbank::mesh::Mesh::start(options);
  if (!mesh.ok()) {
    std::fprintf(stderr, "bench-mesh: %s\n", mesh.status().toString().c_str());
    return 1;
  }
  serveUntilStdinCloses((*mesh)->port());
  (*mesh)->shutdown();
  if (recorder) {
    (void)recorder->close();
    auto st = recorder->stats();
    std::fprintf(stderr, "bench-mesh: recorder wrote %llu events, dropped %llu\n",
                 static_cast<unsigned long long>(st.written), static_cast<unsigned long long>(st.dropped));
  } else if (!hub) {
    std::fprintf(stderr, "bench-mesh: the mesh reported %lld calls\n", static_cast<long long>(counting.events()));
  }
  return 0;
}

// A child process running this binary with `args`; its "PORT n" line is read back.
struct Child {
  pid_t pid = -1;
  int to_child = -1;
  int port = 0;
};

Child spawnSelf(const std::vector<std::string>& args) {
  int in[2], out[2];
  // Close-on-exec, so a later child does not hold an earlier one's stdin open.
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    std::perror("bench-mesh: pipe");
    std::exit(1);
  }
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[1]);
    close(out[0]);
    std::vector<char*> argv;
    std::string self = "/proc/self/exe";
    argv.push_back(self.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  c.to_child = in[1];
  FILE* f = fdopen(out[0], "r");
  if (!f || std::fscanf(f, "PORT %d", &c.port) != 1 || c.port <= 0) {
    std::fprintf(stderr, "bench-mesh: child %s did not report a port\n", args[0].c_str());
    std::exit(1);
  }
  return c;
}

void stop(Child& c) {
  close(c.to_child);
  int status = 0;
  waitpid(c.pid, &status, 0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--backend") return runBackend();
  if (argc >= 3 && std::string(argv[1]) == "--mesh") return runMesh(argv[2], argc >= 4 ? argv[3] : "");

  Child backend_process = spawnSelf({"--backend"});
  const std::string backend = "127.0.0.1:" + std::to_string(backend_process.port);
  Child mesh_process = spawnSelf({"--mesh", backend});
  const std::string mesh_address = "127.0.0.1:" + std::to_string(mesh_process.port);

  auto direct = sandbank::testing::Echo::NewStub(grpc::CreateChannel(backend, grpc::InsecureChannelCredentials()));
  grpc::ChannelArguments args;
  args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, "echo");
  auto via_mesh = sandbank::testing::Echo::NewStub(
      grpc::CreateCustomChannel(mesh_address, grpc::InsecureChannelCredentials(), args));
  EchoRequest request;
  request.set_text("ping");
  request.set_payload(std::string(64, 'x'));
  for (int i = 0; i < kWarmup; ++i) {
    timedCall(*direct, request);
    timedCall(*via_mesh, request);
  }

  std::vector<double> direct_p50, direct_p99, mesh_p50, mesh_p99;
  for (int rep = 0; rep < kReps; ++rep) {
    std::vector<double> d, m;
    d.reserve(kCallsPerRep);
    m.reserve(kCallsPerRep);
    // Interleaved, so both sides see the same machine noise.
    for (int i = 0; i < kCallsPerRep; ++i) {
      d.push_back(timedCall(*direct, request));
      m.push_back(timedCall(*via_mesh, request));
    }
    direct_p50.push_back(percentile(d, 0.5));
    direct_p99.push_back(percentile(d, 0.99));
    mesh_p50.push_back(percentile(m, 0.5));
    mesh_p99.push_back(percentile(m, 0.99));
    std::fprintf(stderr, "rep %d: direct p50 %.1f us, mesh p50 %.1f us\n", rep, direct_p50.back(), mesh_p50.back());
  }
  stop(mesh_process);

  // Maximum call throughput through a mesh whose events go to a FlowHub with a Recorder
  // attached, against the same mesh with the hub alone: what recording costs the bank.
  std::string db = (std::filesystem::temp_directory_path() / ("bench-mesh-" + std::to_string(getpid()) + ".db")).string();
  Child plain = spawnSelf({"--mesh", backend, "hub"});
  Child recording = spawnSelf({"--mesh", backend, "record:" + db});
  auto throughput = [&](int port) {
    constexpr int kThreads = 4;
    const auto window = std::chrono::milliseconds(700);
    grpc::ChannelArguments a;
    a.SetString(GRPC_ARG_DEFAULT_AUTHORITY, "echo");
    std::vector<std::unique_ptr<sandbank::testing::Echo::Stub>> stubs;
    for (int t = 0; t < kThreads; ++t) {
      a.SetInt("sandbank.bench.channel", t);  // a connection per thread
      stubs.push_back(sandbank::testing::Echo::NewStub(
          grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), a)));
    }
    std::atomic<int64_t> calls{0};
    std::vector<std::thread> threads;
    auto end = Clock::now() + window;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        while (Clock::now() < end) {
          timedCall(*stubs[t], request);
          calls.fetch_add(1, std::memory_order_relaxed);
        }
      });
    for (auto& th : threads) th.join();
    return static_cast<double>(calls.load()) / std::chrono::duration<double>(window).count();
  };
  throughput(plain.port);  // warm-up both
  throughput(recording.port);
  std::vector<double> off, on, ratio;
  for (int rep = 0; rep < 5; ++rep) {
    double o = throughput(plain.port), r = throughput(recording.port);
    off.push_back(o);
    on.push_back(r);
    ratio.push_back(r / o);
    std::fprintf(stderr, "rep %d: recorder off %.0f calls/s, on %.0f calls/s\n", rep, o, r);
  }
  stop(plain);
  stop(recording);
  std::filesystem::remove(db);
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");
  stop(backend_process);

  double dp50 = median(direct_p50), dp99 = median(direct_p99);
  double mp50 = median(mesh_p50), mp99 = median(mesh_p99);
  std::printf(
      "{\"bench\":\"mesh\",\"metrics\":{\"mesh_unary_p50_us\":%.1f,\"mesh_unary_p99_us\":%.1f,"
      "\"calls_per_s_recorder_on\":%.0f"
      "},\"baseline\":{\"direct_unary_p50_us\":%.1f,\"direct_unary_p99_us\":%.1f,\"calls_per_s_recorder_off\":%.0f},"
      "\"ratios\":{\"unary_p50_vs_direct\":%.2f,\"throughput_recorder_on_vs_off\":%.2f},"
      "\"goal\":{\"unary_p50_vs_direct\":\"<=1.5 (must <=2.2)\",\"throughput_recorder_on_vs_off\":\">=0.9 (must >=0.75)\"}}\n",
      mp50, mp99, median(on), dp50, dp99, median(off), mp50 / dp50, median(ratio));
  return 0;
}
