// The run-state file.
#include "sandbank/control/run_state.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

namespace sandbank::control {

std::string defaultStateDir() {
  if (const char* d = std::getenv("SANDBANK_STATE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_RUNTIME_DIR"); d && *d) return std::string(d) + "/sandbank";
  return "/tmp/sandbank-" + std::to_string(::getuid());
}

std::string defaultRunStatePath() { return defaultStateDir() + "/run.json"; }

Status writeRunState(const std::string& path, const RunState& s) {
  std::filesystem::path p(path);
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  {
    // 077 while creating, so no folder on the way is ever readable by others.
    mode_t old = ::umask(077);
    std::filesystem::create_directories(dir, ec);
    ::umask(old);
  }
  if (ec) return Internal("cannot create " + dir.string() + ": " + ec.message());
  // The folder must be ours alone: under /tmp another user could have made it first,
  // and the token must not land where they can read or swap it.
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return FailedPrecondition(dir.string() + " is not a folder; remove it or pass --state FILE");
  if (st.st_uid != ::getuid())
    return FailedPrecondition(dir.string() + " belongs to uid " + std::to_string(st.st_uid) +
                              ", not to this user; remove it or set SANDBANK_STATE_DIR");
  if ((st.st_mode & 0777) != 0700 && ::chmod(dir.c_str(), 0700) != 0)
    return Internal("cannot make " + dir.string() + " private (chmod 0700): " + std::strerror(errno));
  nlohmann::json j = {{"address", s.address}, {"token", s.token},   {"pid", s.pid},
                      {"manifest", s.manifest}, {"started", s.started}, {"mesh", s.mesh}};
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  mode_t old = ::umask(077);
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) {
      ::umask(old);
      return Internal("cannot write " + tmp);
    }
  }
  ::umask(old);
  ::chmod(tmp.c_str(), 0600);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return Internal("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  return OkStatus();
}

Result<RunState> readRunState(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("no running simulator (no " + path + "); start one with `sandbank up`");
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument(path + " is not valid JSON");
  RunState s;
  s.address = j.value("address", "");
  s.token = j.value("token", "");
  s.pid = j.value("pid", 0);
  s.manifest = j.value("manifest", "");
  s.started = j.value("started", "");
  s.mesh = j.value("mesh", "");
  if (s.address.empty()) return InvalidArgument(path + " has no address");
  if (s.pid > 0 && ::kill(s.pid, 0) != 0 && errno == ESRCH)
    return FailedPrecondition("the simulator recorded in " + path + " (pid " + std::to_string(s.pid) +
                              ") is no longer running; start one with `sandbank up`");
  return s;
}

Status removeRunState(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) return Internal("cannot remove " + path + ": " + ec.message());
  return OkStatus();
}

std::string newToken() {
  unsigned char bytes[16];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes)) {
    std::random_device rd;
    for (auto& b : bytes) b = static_cast<unsigned char>(rd());
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace sandbank::control
