// Loopback only: with the whole reference bank running (bank.yaml, as `sandbank up` runs
// it), every TCP socket listening in the simulator's process and in every service process
// is bound to 127.0.0.1 or ::1. Sockets are found per process by matching the socket
// inodes behind /proc/<pid>/fd with the LISTEN rows of /proc/<pid>/net/tcp and tcp6.
// The scanner is first shown to catch a wildcard listener, so a clean scan means something.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sandbank/control/simulator.h"

namespace sandbank::control {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Listener {
  std::string address;  // "127.0.0.1", "::1", "0.0.0.0", ...
  int port = 0;
  bool loopback = false;
};

// The inodes of the sockets `pid` holds open.
std::set<uint64_t> socketInodes(int pid) {
  std::set<uint64_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code rec;
    std::string target = fs::read_symlink(entry.path(), rec).string();
    if (rec || target.rfind("socket:[", 0) != 0) continue;
    out.insert(std::stoull(target.substr(8, target.size() - 9)));
  }
  return out;
}

// "0100007F" (IPv4, host byte order as the kernel prints it) or 32 hex digits (IPv6).
std::string decodeAddress(const std::string& hex, bool* loopback) {
  char text[INET6_ADDRSTRLEN] = {};
  if (hex.size() == 8) {
    in_addr a{};
    a.s_addr = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
    inet_ntop(AF_INET, &a, text, sizeof text);
    *loopback = std::string(text) == "127.0.0.1";
  } else {
    in6_addr a{};
    for (int word = 0; word < 4; ++word) {
      uint32_t v = static_cast<uint32_t>(std::stoul(hex.substr(static_cast<size_t>(word) * 8, 8), nullptr, 16));
      std::memcpy(&a.s6_addr[word * 4], &v, 4);
    }
    inet_ntop(AF_INET6, &a, text, sizeof text);
    const std::string s = text;
    *loopback = s == "::1" || s == "::ffff:127.0.0.1";
  }
  return text;
}

// Every TCP socket in LISTEN state that `pid` owns.
std::vector<Listener> listeners(int pid) {
  const std::set<uint64_t> mine = socketInodes(pid);
  std::vector<Listener> out;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout;
      uint64_t inode = 0;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (state != "0A" || !mine.count(inode)) continue;  // 0A: LISTEN
      const size_t colon = local.find(':');
      Listener l;
      l.address = decodeAddress(local.substr(0, colon), &l.loopback);
      l.port = static_cast<int>(std::stoul(local.substr(colon + 1), nullptr, 16));
      out.push_back(l);
    }
  }
  return out;
}

std::string describe(const std::vector<Listener>& ls) {
  std::string out;
  for (const auto& l : ls) out += " " + l.address + ":" + std::to_string(l.port);
  return out;
}

TEST(LoopbackScanTest, AWildcardListenerInThisProcessIsFoundAndFlagged) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  bool found = false;
  for (const auto& l : listeners(::getpid())) {
    if (l.port != port) continue;
    found = true;
    EXPECT_EQ(l.address, "0.0.0.0");
    EXPECT_FALSE(l.loopback);
  }
  EXPECT_TRUE(found) << "the scan missed a listener of this process:" << describe(listeners(::getpid()));
  ::close(fd);
}

TEST(LoopbackScanTest, ALoopbackListenerIsRecognised) {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    GTEST_SKIP() << "no IPv6 loopback here: " << std::strerror(errno);
  }
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin6_port);
  bool found = false;
  for (const auto& l : listeners(::getpid()))
    if (l.port == port) found = l.loopback && l.address == "::1";
  EXPECT_TRUE(found) << describe(listeners(::getpid()));
  ::close(fd);
}

TEST(SecurityTest, EverySocketTheBankListensOnIsLoopbackOnly) {
  const fs::path dir = fs::temp_directory_path() / ("sandbank-security-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  SimulatorOptions o;
  o.manifest_path = std::string(SANDBANK_SOURCE_DIR) + "/bank.yaml";
  o.state_file = (dir / "state/run.json").string();
  o.bin_dir = SANDBANK_BIN_DIR;
  auto created = Simulator::create(o);
  ASSERT_TRUE(created.ok()) << created.status().toString();
  std::unique_ptr<Simulator> sim = std::move(*created);
  ASSERT_TRUE(sim->up().ok());
  Status ready = sim->supervisor().waitUntilReady(90s);
  ASSERT_TRUE(ready.ok()) << ready.toString();

  // The simulator's own process (this one): control, mesh and data ports at least.
  {
    SCOPED_TRACE("simulator pid " + std::to_string(::getpid()));
    auto ls = listeners(::getpid());
    std::set<int> ports;
    for (const auto& l : ls) {
      EXPECT_TRUE(l.loopback) << "the simulator listens on " << l.address << ":" << l.port;
      ports.insert(l.port);
    }
    for (const std::string& address : {sim->controlAddress(), sim->meshAddress(), sim->dataAddress()}) {
      const int port = std::stoi(address.substr(address.rfind(':') + 1));
      EXPECT_TRUE(ports.count(port)) << address << " not among" << describe(ls);
    }
  }
  // Every service process: its gRPC port (and the edge its HTTP port) is seen, and
  // nothing it listens on is reachable from another machine.
  int services = 0;
  bool edge_http = false;
  for (const auto& inst : sim->supervisor().snapshot()) {
    SCOPED_TRACE(inst.service + " pid " + std::to_string(inst.pid));
    ASSERT_GT(inst.pid, 0);
    ++services;
    auto ls = listeners(inst.pid);
    std::set<int> ports;
    for (const auto& l : ls) {
      EXPECT_TRUE(l.loopback) << inst.service << " listens on " << l.address << ":" << l.port;
      ports.insert(l.port);
    }
    EXPECT_TRUE(ports.count(inst.port)) << "gRPC port " << inst.port << " not among" << describe(ls);
    if (inst.http_port > 0) {
      edge_http = true;
      EXPECT_TRUE(ports.count(inst.http_port)) << "HTTP port not among" << describe(ls);
    }
  }
  EXPECT_TRUE(edge_http) << "the edge announced no HTTP port, so its listener went unchecked";
  EXPECT_GE(services, 13) << "bank.yaml runs thirteen services";
  sim.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sandbank::control
