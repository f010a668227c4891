// The real `edge` executable against an in-process store: it creates its tables, prints
// the listening line with the HTTP port beside the gRPC one, answers HTTP there, and exits
// 0 on SIGTERM. Runs the binary from SANDBANK_BIN_DIR.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <string>

#include "../bankcore/bank_test_env.h"

namespace sandbank::edge {
namespace {

// One HTTP/1.1 exchange with Connection: close; the whole answer, or "" on failure.
std::string httpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 10000) <= 0) break;
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
      }
    }
  }
  ::close(fd);
  return out;
}

TEST(EdgeProcessTest, TheExecutableAnnouncesItsHttpPortServesAndStopsOnSigterm) {
  bank::testing::BankTestEnv env;
  env.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::setenv("SANDBANK_SERVICE", "edge", 1);
    ::setenv("SANDBANK_STORE", env.address_.c_str(), 1);
    ::setenv("SANDBANK_PORT", "0", 1);
    ::setenv("EDGE_HTTP_PORT", "0", 1);
    const std::string bin = std::string(SANDBANK_BIN_DIR) + "/edge";
    ::execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(out[1]);
  FILE* lines = ::fdopen(out[0], "r");
  ASSERT_NE(lines, nullptr);
  std::string http_port, log;
  char buf[4096];
  while (http_port.empty() && std::fgets(buf, sizeof buf, lines) != nullptr) {  // blocks until a line or exit
    log += buf;
    std::smatch m;
    std::string line(buf);
    if (line.find("\"msg\":\"listening\"") == std::string::npos) continue;
    if (std::regex_search(line, m, std::regex(R"re("http_port":"(\d+)")re"))) http_port = m[1];
    EXPECT_TRUE(std::regex_search(line, std::regex(R"re("port":"\d+")re"))) << line;
  }
  ASSERT_FALSE(http_port.empty()) << "no listening line with http_port; the edge's output:\n" << log;

  std::string health = httpGet(std::stoi(http_port), "/healthz");
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << health;
  EXPECT_NE(health.find(R"({"status":"ok"})"), std::string::npos) << health;
  std::string unknown = httpGet(std::stoi(http_port), "/v1/accounts");
  EXPECT_EQ(unknown.rfind("HTTP/1.1 401", 0), 0u) << unknown;

  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  std::fclose(lines);
  env.stop();
}

}  // namespace
}  // namespace sandbank::edge
