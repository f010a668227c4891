// Config from the environment.
#include "sandbank/kit/config.h"

#include <unistd.h>

#include <cstdlib>

#include "sandbank/core/duration.h"
#include "sandbank/core/environment.h"

namespace sandbank::kit {

Config Config::fromEnvironment() { return Config(currentEnvironment()); }

std::optional<std::string> Config::get(const std::string& name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

std::string Config::getOr(const std::string& name, std::string fallback) const {
  auto v = get(name);
  return v && !v->empty() ? *v : fallback;
}

Result<std::string> Config::require(const std::string& name) const {
  auto v = get(name);
  if (!v || v->empty()) return InvalidArgument("environment variable " + name + " is required");
  return *v;
}

Result<int64_t> Config::getInt(const std::string& name, int64_t fallback) const {
  auto v = get(name);
  if (!v || v->empty()) return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  if (end == v->c_str() || *end != '\0')
    return InvalidArgument(name + "='" + *v + "': expected an integer");
  return static_cast<int64_t>(n);
}

Result<bool> Config::getBool(const std::string& name, bool fallback) const {
  auto v = get(name);
  if (!v || v->empty()) return fallback;
  if (*v == "1" || *v == "true" || *v == "yes" || *v == "on") return true;
  if (*v == "0" || *v == "false" || *v == "no" || *v == "off") return false;
  return InvalidArgument(name + "='" + *v + "': expected true or false");
}

Result<std::chrono::nanoseconds> Config::getDuration(const std::string& name,
                                                     std::chrono::nanoseconds fallback) const {
  auto v = get(name);
  if (!v || v->empty()) return fallback;
  auto d = parseDuration(*v);
  if (!d.ok()) return d.status().withContext(name);
  return d;
}

}  // namespace sandbank::kit
