// Config: a service's settings, read from its environment. Every getter that can fail
// names the variable and what was expected, so a bad manifest env is easy to fix.
// Thread-safety: immutable after construction; safe to share.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "sandbank/core/result.h"

namespace sandbank::kit {

class Config {
 public:
  // Snapshot of the process environment.
  static Config fromEnvironment();
  explicit Config(std::map<std::string, std::string> vars) : vars_(std::move(vars)) {}

  std::optional<std::string> get(const std::string& name) const;
  std::string getOr(const std::string& name, std::string fallback) const;
  Result<std::string> require(const std::string& name) const;
  Result<int64_t> getInt(const std::string& name, int64_t fallback) const;
  Result<bool> getBool(const std::string& name, bool fallback) const;
  // Durations as in manifests: "250ms", "2s".
  Result<std::chrono::nanoseconds> getDuration(const std::string& name,
                                               std::chrono::nanoseconds fallback) const;

  // Well-known variables the supervisor sets.
  std::string serviceName() const { return getOr("SANDBANK_SERVICE", "service"); }
  std::string instanceName() const { return getOr("SANDBANK_INSTANCE", serviceName()); }

 private:
  std::map<std::string, std::string> vars_;
};

}  // namespace sandbank::kit
