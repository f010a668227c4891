// bench-startup: how long `sandbank up` takes to bring a 12-service manifest to healthy,
// against the baseline of spawning 12 bare gRPC servers and health-checking them, in the
// same run. Prints one JSON line (see ../shared/BENCH.md via bench/README.md).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of its stdout
};

Child spawnWithPipe(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_store) env.push_back(e.data());
  env.push_back(nullptr);
  Child c;
  if (posix_spawn(&c.pid, args[0], &fa, nullptr, args.data(), env.data()) != 0) {
    std::perror("posix_spawn");
    std::exit(1);
  }
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  c.out = fds[0];
  return c;
}

// Reads lines from fd until one contains `needle` (returns it) or EOF/timeout ("").
std::string readUntil(int fd, const std::string& needle, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  std::string buf;
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char tmp[4096];
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) return "";
    buf.append(tmp, static_cast<size_t>(n));
    size_t pos;
    while ((pos = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, pos);
      buf.erase(0, pos + 1);
      if (line.find(needle) != std::string::npos) return line;
    }
  }
  return "";
}

bool healthy(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  auto ch = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args);
  auto stub = grpc::health::v1::Health::NewStub(ch);
  for (int attempt = 0; attempt < 500; ++attempt) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    if (stub->Check(&ctx, req, &resp).ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) return true;
  }
  return false;
}

// Baseline: spawn N bare servers at once, read each port, health-check each.
double spawnBare(const std::string& bin, int n) {
  auto t0 = Clock::now();
  std::vector<Child> children;
  for (int i = 0; i < n; ++i) children.push_back(spawnWithPipe({bin + "/bare-grpc-server"}, {}));
  for (auto& c : children) {
    std::string line = readUntil(c.out, "");
    if (line.empty() || !healthy(std::atoi(line.c_str()))) {
      std::fprintf(stderr, "bare server did not come up\n");
      std::exit(1);
    }
  }
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  for (auto& c : children) {
    ::kill(c.pid, SIGTERM);
    ::waitpid(c.pid, nullptr, 0);
    ::close(c.out);
  }
  return ms;
}

// sandbank up --until-healthy; the time until it reports every instance ready.
double sandbankUp(const std::string& bin, const std::string& manifest, const std::string& state_dir) {
  auto t0 = Clock::now();
  Child c = spawnWithPipe({bin + "/sandbank", "up", "-f", manifest, "--until-healthy"},
                          {"SANDBANK_STATE_DIR=" + state_dir});
  std::string line = readUntil(c.out, "ready in");
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (line.empty()) {
    std::fprintf(stderr, "sandbank up did not report ready\n");
    std::exit(1);
  }
  while (!readUntil(c.out, "\x01", std::chrono::seconds(20)).empty()) {
  }
  ::close(c.out);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  return ms;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string bin = fs::canonical("/proc/self/exe").parent_path().string();
  std::string root = argc > 1 ? argv[1] : (fs::path(bin) / "../..").string();
  int reps = 7;
  std::string state = fs::temp_directory_path() / ("sandbank-bench-" + std::to_string(::getpid()));
  fs::create_directories(state);

  // A flat manifest (no dependencies) is the like-for-like comparison; the skeleton bank
  // adds a four-deep dependency chain, started in order.
  std::string flat = state + "/flat.yaml";
  {
    std::ofstream out(flat);
    out << "services:\n";
    for (int i = 1; i <= 12; ++i) out << "  s" << i << ": {command: echo-service, health: {start_interval: 5ms}}\n";
  }
  std::string bank = (fs::path(root) / "manifests/skeleton-bank.yaml").string();
  if (!fs::exists(bank)) {
    std::fprintf(stderr, "no %s (pass the source folder as the first argument)\n", bank.c_str());
    return 1;
  }

  // Warm-up: page cache and dynamic linking for every binary involved.
  spawnBare(bin, 12);
  sandbankUp(bin, flat, state);
  // The real reference bank (bank.yaml: 13 services, each opening its tables and topics
  // at start-up) against 13 bare servers.
  std::string realbank = (fs::path(root) / "bank.yaml").string();
  const bool have_real = fs::exists(realbank) && fs::exists(fs::path(bin) / "edge");
  if (have_real) sandbankUp(bin, realbank, state);
  std::vector<double> base, sb_flat, sb_bank, base13, sb_real;
  for (int r = 0; r < reps; ++r) {  // interleaved so drift affects all alike
    base.push_back(spawnBare(bin, 12));
    sb_flat.push_back(sandbankUp(bin, flat, state));
    sb_bank.push_back(sandbankUp(bin, bank, state));
    if (have_real) {
      base13.push_back(spawnBare(bin, 13));
      sb_real.push_back(sandbankUp(bin, realbank, state));
    }
  }
  fs::remove_all(state);
  double b = median(base), f = median(sb_flat), k = median(sb_bank);
  double b13 = have_real ? median(base13) : 0, real = have_real ? median(sb_real) : 0;
  std::fprintf(stderr,
               "spawn 12 bare: %.1f ms; sandbank up flat: %.1f ms; skeleton bank: %.1f ms; spawn 13 bare: %.1f ms; "
               "real bank: %.1f ms (medians of %d)\n",
               b, f, k, b13, real, reps);
  std::printf(
      "{\"bench\":\"startup\",\"metrics\":{\"sandbank_up_flat12_ms_p50\":%.1f,\"sandbank_up_bank12_ms_p50\":%.1f,"
      "\"sandbank_up_realbank13_ms_p50\":%.1f,\"reps\":%d},"
      "\"baseline\":{\"spawn12_bare_grpc_ms_p50\":%.1f,\"spawn13_bare_grpc_ms_p50\":%.1f},"
      "\"ratios\":{\"flat12_vs_spawn\":%.2f,\"bank12_vs_spawn\":%.2f,\"realbank13_vs_spawn\":%.2f},"
      "\"goal\":{\"flat12_vs_spawn\":\"<=1.5 (must <=2.5)\",\"bank12_vs_spawn\":\"<=1.5 (must <=2.5)\","
      "\"realbank13_vs_spawn\":\"<=1.5 (must <=2.5)\"}}\n",
      f, k, real, reps, b, b13, f / b, k / b, have_real ? real / b13 : 0.0);
  return 0;
}
