// Starting a bank service executable from SANDBANK_BIN_DIR as a child process with a
// given environment, reading its JSON-lines stdout until the "listening" line, and
// stopping it with SIGTERM. Shared by the fraud, p2p and pots process tests.
// Thread-safety: use from the test thread.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <string>

namespace sandbank::bank::testing {

class ServiceProcess {
 public:
  // Forks and execs SANDBANK_BIN_DIR/<name> with `env` added to the environment, then
  // blocks until it prints its listening line (or exits). Use ASSERT_FALSE(port().empty()).
  void start(const std::string& name, const std::map<std::string, std::string>& env) {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::setenv("SANDBANK_SERVICE", name.c_str(), 1);
      ::setenv("SANDBANK_PORT", "0", 1);
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      const std::string bin = std::string(SANDBANK_BIN_DIR) + "/" + name;
      ::execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    ::close(out[1]);
    lines_ = ::fdopen(out[0], "r");
    ASSERT_NE(lines_, nullptr);
    char buf[4096];
    while (port_.empty() && std::fgets(buf, sizeof buf, lines_) != nullptr) {  // a line, or the child exited
      log_ += buf;
      std::smatch m;
      std::string line(buf);
      if (std::regex_search(line, m, std::regex(R"re("msg":"listening".*"port":"(\d+)")re"))) port_ = m[1];
    }
  }

  // SIGTERM, then the exit status (0 = a clean, graceful exit).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    if (::waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    if (lines_ != nullptr) std::fclose(lines_);
    lines_ = nullptr;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  ~ServiceProcess() {
    if (pid_ > 0) stop();
  }

  const std::string& port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + port_; }
  const std::string& log() const { return log_; }

 private:
  pid_t pid_ = -1;
  FILE* lines_ = nullptr;
  std::string port_;
  std::string log_;
};

}  // namespace sandbank::bank::testing
