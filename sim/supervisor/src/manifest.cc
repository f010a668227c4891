// Manifest parsing with yaml-cpp. Every error carries file:line from the YAML node marks.
#include "sandbank/supervisor/manifest.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "sandbank/core/duration.h"
#include "sandbank/core/text.h"

namespace sandbank::supervisor {
namespace {

namespace fs = std::filesystem;

// Builds "path:line: message" errors and converts scalar nodes.
class Reader {
 public:
  Reader(std::string path, const std::map<std::string, std::string>& vars)
      : path_(std::move(path)), vars_(vars) {}

  Status error(const YAML::Node& node, const std::string& what) const {
    int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    return InvalidArgument(path_ + ":" + std::to_string(line) + ": " + what);
  }
  Status errorAt(int line, const std::string& what) const {
    return InvalidArgument(path_ + ":" + std::to_string(line) + ": " + what);
  }

  // Rejects keys outside `allowed`, suggesting the closest allowed key.
  Status checkKeys(const YAML::Node& map, const std::vector<std::string>& allowed,
                   const std::string& where) const {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) return error(it->first, "expected a key name in " + where);
      std::string key = it->first.Scalar();
      if (key.rfind("x-", 0) == 0) continue;  // extension fields, ignored as in compose files
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string hint = closestMatch(key, allowed);
      std::string msg = "unknown key '" + key + "' in " + where;
      if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      msg += "; expected one of: " + list;
      return error(it->first, msg);
    }
    return OkStatus();
  }

  Result<std::string> string(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar()) return error(node, "expected " + what + " to be a string");
    return expand(node, node.Scalar());
  }

  Result<int> integer(const YAML::Node& node, const std::string& what, int min) const {
    if (!node.IsScalar()) return error(node, "expected " + what + " to be an integer");
    const std::string& s = node.Scalar();
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0') return error(node, "expected " + what + " to be an integer, got '" + s + "'");
    if (v < min) return error(node, what + " must be at least " + std::to_string(min) + ", got " + s);
    // Larger values would wrap around (4294967295 replicas would become -1).
    if (errno == ERANGE || v > std::numeric_limits<int>::max()) {
      return error(node, what + " must be at most " + std::to_string(std::numeric_limits<int>::max()) + ", got " + s);
    }
    return static_cast<int>(v);
  }

  Result<double> number(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar()) return error(node, "expected " + what + " to be a number");
    const std::string& s = node.Scalar();
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    // strtod also reads "nan" and "inf", which no setting can use.
    if (s.empty() || *end != '\0' || !std::isfinite(v)) {
      return error(node, "expected " + what + " to be a number, got '" + s + "'");
    }
    return v;
  }

  Result<std::chrono::nanoseconds> duration(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar()) return error(node, "expected " + what + " to be a duration like 500ms or 2s");
    auto d = parseDuration(node.Scalar());
    if (!d.ok()) return error(node, what + ": " + d.status().message());
    return d;
  }

  Result<std::vector<std::string>> stringList(const YAML::Node& node, const std::string& what) const {
    if (!node.IsSequence()) return error(node, "expected " + what + " to be a list of strings");
    std::vector<std::string> out;
    for (const auto& item : node) {
      SANDBANK_ASSIGN_OR_RETURN(std::string s, string(item, "each entry of " + what));
      out.push_back(std::move(s));
    }
    return out;
  }

  // Expands ${NAME} from vars_, then the environment.
  Result<std::string> expand(const YAML::Node& node, const std::string& s) const {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
        size_t close = s.find('}', i + 2);
        if (close == std::string::npos) return error(node, "unterminated ${ in '" + s + "'");
        std::string name = s.substr(i + 2, close - i - 2);
        auto it = vars_.find(name);
        if (it != vars_.end()) {
          out += it->second;
        } else if (const char* env = std::getenv(name.c_str())) {
          out += env;
        } else {
          return error(node, "unknown variable ${" + name + "} in '" + s + "'");
        }
        i = close + 1;
      } else {
        out.push_back(s[i++]);
      }
    }
    return out;
  }

 private:
  std::string path_;
  const std::map<std::string, std::string>& vars_;
};

Status parseHealth(const Reader& r, const YAML::Node& node, HealthSpec* h) {
  if (node.IsScalar()) {  // shorthand: health: grpc | tcp | none
    const std::string& s = node.Scalar();
    if (s == "grpc") h->type = HealthType::kGrpc;
    else if (s == "tcp") h->type = HealthType::kTcp;
    else if (s == "none") h->type = HealthType::kNone;
    else return r.error(node, "expected health to be grpc, tcp, none or a map, got '" + s + "'");
    return OkStatus();
  }
  if (!node.IsMap()) return r.error(node, "expected health to be grpc, tcp, none or a map");
  SANDBANK_RETURN_IF_ERROR(r.checkKeys(
      node, {"type", "interval", "start_interval", "timeout", "retries", "start_period"}, "health"));
  if (node["type"]) {
    YAML::Node t = node["type"];
    SANDBANK_RETURN_IF_ERROR(parseHealth(r, t, h));
  }
  if (node["interval"]) { SANDBANK_ASSIGN_OR_RETURN(h->interval, r.duration(node["interval"], "health.interval")); }
  if (node["start_interval"]) { SANDBANK_ASSIGN_OR_RETURN(h->start_interval, r.duration(node["start_interval"], "health.start_interval")); }
  if (node["timeout"]) { SANDBANK_ASSIGN_OR_RETURN(h->timeout, r.duration(node["timeout"], "health.timeout")); }
  if (node["retries"]) { SANDBANK_ASSIGN_OR_RETURN(h->retries, r.integer(node["retries"], "health.retries", 1)); }
  if (node["start_period"]) { SANDBANK_ASSIGN_OR_RETURN(h->start_period, r.duration(node["start_period"], "health.start_period")); }
  return OkStatus();
}

Result<RestartPolicyKind> restartKind(const Reader& r, const YAML::Node& node) {
  if (!node.IsScalar()) return r.error(node, "expected restart policy no, on-failure or always");
  const std::string& s = node.Scalar();
  // YAML 1.1 reads a bare `no` as a boolean, which yaml-cpp keeps as the scalar "no"/"false".
  if (s == "no" || s == "false" || s == "never") return RestartPolicyKind::kNo;
  if (s == "on-failure") return RestartPolicyKind::kOnFailure;
  if (s == "always") return RestartPolicyKind::kAlways;
  std::string hint = closestMatch(s, {"no", "on-failure", "always"});
  return r.error(node, "unknown restart policy '" + s + "'" +
                           (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                           "; expected no, on-failure or always");
}

Status parseRestart(const Reader& r, const YAML::Node& node, RestartPolicy* p) {
  if (node.IsScalar()) {
    SANDBANK_ASSIGN_OR_RETURN(p->kind, restartKind(r, node));
    return OkStatus();
  }
  if (!node.IsMap()) return r.error(node, "expected restart to be a policy name or a map");
  SANDBANK_RETURN_IF_ERROR(r.checkKeys(
      node, {"policy", "max_retries", "backoff", "max_backoff", "multiplier", "reset_after"},
      "restart"));
  if (!node["policy"]) return r.error(node, "restart needs a policy: no, on-failure or always");
  SANDBANK_ASSIGN_OR_RETURN(p->kind, restartKind(r, node["policy"]));
  if (node["max_retries"]) { SANDBANK_ASSIGN_OR_RETURN(p->max_retries, r.integer(node["max_retries"], "restart.max_retries", 0)); }
  if (node["backoff"]) { SANDBANK_ASSIGN_OR_RETURN(p->backoff, r.duration(node["backoff"], "restart.backoff")); }
  if (node["max_backoff"]) { SANDBANK_ASSIGN_OR_RETURN(p->max_backoff, r.duration(node["max_backoff"], "restart.max_backoff")); }
  if (node["multiplier"]) {
    SANDBANK_ASSIGN_OR_RETURN(p->multiplier, r.number(node["multiplier"], "restart.multiplier"));
    if (p->multiplier < 1.0) return r.error(node["multiplier"], "restart.multiplier must be at least 1");
  }
  if (node["reset_after"]) { SANDBANK_ASSIGN_OR_RETURN(p->reset_after, r.duration(node["reset_after"], "restart.reset_after")); }
  if (p->max_backoff < p->backoff) return r.error(node, "restart.max_backoff is shorter than restart.backoff");
  return OkStatus();
}

Result<DependencyCondition> condition(const Reader& r, const YAML::Node& node) {
  if (!node.IsScalar()) return r.error(node, "expected condition started or healthy");
  const std::string& s = node.Scalar();
  if (s == "started" || s == "service_started") return DependencyCondition::kStarted;
  if (s == "healthy" || s == "service_healthy") return DependencyCondition::kHealthy;
  return r.error(node, "unknown condition '" + s + "'; expected started or healthy");
}

Status parseDependsOn(const Reader& r, const YAML::Node& node, std::vector<Dependency>* out) {
  if (node.IsSequence()) {
    for (const auto& item : node) {
      SANDBANK_ASSIGN_OR_RETURN(std::string name, r.string(item, "a depends_on entry"));
      out->push_back({name, DependencyCondition::kHealthy});
    }
    return OkStatus();
  }
  if (!node.IsMap()) return r.error(node, "expected depends_on to be a list of services or a map");
  for (auto it = node.begin(); it != node.end(); ++it) {
    Dependency d;
    SANDBANK_ASSIGN_OR_RETURN(d.service, r.string(it->first, "a depends_on key"));
    const YAML::Node v = it->second;  // a copy: the iterator hands out a temporary
    if (v.IsScalar()) {
      SANDBANK_ASSIGN_OR_RETURN(d.condition, condition(r, v));
    } else if (v.IsMap()) {
      SANDBANK_RETURN_IF_ERROR(r.checkKeys(v, {"condition"}, "depends_on." + d.service));
      if (v["condition"]) { SANDBANK_ASSIGN_OR_RETURN(d.condition, condition(r, v["condition"])); }
    } else if (!v.IsNull()) {
      return r.error(v, "expected a condition (started or healthy) for " + d.service);
    }
    out->push_back(d);
  }
  return OkStatus();
}

bool validServiceName(const std::string& s) {
  static const std::regex kName("[a-z0-9][a-z0-9_-]*");
  return std::regex_match(s, kName);
}

// Applies YAML merge keys ("<<: *defaults"), which yaml-cpp leaves as ordinary keys:
// entries of the merged map(s) come first and the node's own keys override them.
Result<YAML::Node> applyMergeKeys(const Reader& r, const YAML::Node& node) {
  if (!node.IsMap() || !node["<<"]) return node;
  YAML::Node merged(YAML::NodeType::Map);
  std::set<std::string> own, taken;
  for (auto it = node.begin(); it != node.end(); ++it)
    if (it->first.Scalar() != "<<") own.insert(it->first.Scalar());
  auto take = [&](const YAML::Node& src) -> Status {
    if (!src.IsMap()) return r.error(src, "expected '<<' to merge a map (or a list of maps)");
    for (auto it = src.begin(); it != src.end(); ++it)
      if (!own.count(it->first.Scalar()) && taken.insert(it->first.Scalar()).second)
        merged.force_insert(it->first, it->second);
    return OkStatus();
  };
  const YAML::Node base = node["<<"];
  if (base.IsSequence()) {
    for (const auto& b : base) SANDBANK_RETURN_IF_ERROR(take(b));
  } else {
    SANDBANK_RETURN_IF_ERROR(take(base));
  }
  for (auto it = node.begin(); it != node.end(); ++it)
    if (it->first.Scalar() != "<<") merged.force_insert(it->first, it->second);
  return merged;
}

Result<ServiceSpec> parseService(const Reader& r, const std::string& name, const YAML::Node& key,
                                 const YAML::Node& raw, const std::string& dir) {
  SANDBANK_ASSIGN_OR_RETURN(YAML::Node node, applyMergeKeys(r, raw));
  ServiceSpec s;
  s.name = name;
  s.line = key.Mark().line + 1;
  s.working_dir = dir;
  if (!validServiceName(name))
    return r.error(key, "bad service name '" + name +
                            "': use lowercase letters, digits, '-' and '_', starting with a letter or digit");
  if (!node.IsMap()) return r.error(node, "expected service '" + name + "' to be a map with at least a command");
  SANDBANK_RETURN_IF_ERROR(r.checkKeys(node,
                                       {"command", "args", "env", "working_dir", "depends_on",
                                        "health", "restart", "replicas", "stop_grace"},
                                       "service '" + name + "'"));
  if (!node["command"]) return r.error(key, "service '" + name + "' has no command");
  SANDBANK_ASSIGN_OR_RETURN(s.command, r.string(node["command"], "command"));
  if (s.command.empty()) return r.error(node["command"], "command is empty");
  if (node["args"]) { SANDBANK_ASSIGN_OR_RETURN(s.args, r.stringList(node["args"], "args")); }
  if (const YAML::Node env = node["env"]) {
    if (!env.IsMap()) return r.error(env, "expected env to be a map of NAME: value");
    for (auto it = env.begin(); it != env.end(); ++it) {
      SANDBANK_ASSIGN_OR_RETURN(std::string k, r.string(it->first, "an env name"));
      if (!it->second.IsScalar()) return r.error(it->second, "expected env " + k + " to be a string");
      SANDBANK_ASSIGN_OR_RETURN(std::string v, r.string(it->second, "env " + k));
      s.env[k] = v;
    }
  }
  if (node["working_dir"]) {
    SANDBANK_ASSIGN_OR_RETURN(std::string wd, r.string(node["working_dir"], "working_dir"));
    s.working_dir = fs::path(wd).is_absolute() ? wd : (fs::path(dir) / wd).lexically_normal().string();
  }
  if (node["depends_on"]) { SANDBANK_RETURN_IF_ERROR(parseDependsOn(r, node["depends_on"], &s.depends_on)); }
  if (node["health"]) { SANDBANK_RETURN_IF_ERROR(parseHealth(r, node["health"], &s.health)); }
  if (node["restart"]) { SANDBANK_RETURN_IF_ERROR(parseRestart(r, node["restart"], &s.restart)); }
  if (node["replicas"]) { SANDBANK_ASSIGN_OR_RETURN(s.replicas, r.integer(node["replicas"], "replicas", 0)); }
  if (node["stop_grace"]) { SANDBANK_ASSIGN_OR_RETURN(s.stop_grace, r.duration(node["stop_grace"], "stop_grace")); }
  return s;
}

// Depth-first search for a dependency cycle; returns it as "a -> b -> a".
std::string findCycle(const Manifest& m) {
  std::map<std::string, int> state;  // 0 new, 1 on stack, 2 done
  std::vector<std::string> stack;
  std::string cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& n) {
    state[n] = 1;
    stack.push_back(n);
    for (const auto& d : m.find(n)->depends_on) {
      if (state[d.service] == 1) {
        auto from = std::find(stack.begin(), stack.end(), d.service);
        for (auto it = from; it != stack.end(); ++it) cycle += *it + " -> ";
        cycle += d.service;
        return true;
      }
      if (state[d.service] == 0 && visit(d.service)) return true;
    }
    stack.pop_back();
    state[n] = 2;
    return false;
  };
  for (const auto& s : m.services)
    if (state[s.name] == 0 && visit(s.name)) return cycle;
  return "";
}

}  // namespace

const ServiceSpec* Manifest::find(const std::string& n) const {
  for (const auto& s : services)
    if (s.name == n) return &s;
  return nullptr;
}

std::vector<std::string> Manifest::startOrder() const {
  std::vector<std::string> order;
  std::set<std::string> placed;
  while (order.size() < services.size()) {
    bool progressed = false;
    for (const auto& s : services) {
      if (placed.count(s.name)) continue;
      bool ready = std::all_of(s.depends_on.begin(), s.depends_on.end(),
                               [&](const Dependency& d) { return placed.count(d.service) > 0; });
      if (ready) {
        order.push_back(s.name);
        placed.insert(s.name);
        progressed = true;
      }
    }
    if (!progressed) break;  // a cycle; parseManifest rejects these before anyone asks
  }
  return order;
}

Result<Manifest> parseManifest(const std::string& text, const std::string& path,
                               const std::string& dir,
                               const std::map<std::string, std::string>& vars) {
  Reader r(path, vars);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return r.errorAt(e.mark.line + 1, "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
  try {
    if (!root || root.IsNull()) return r.errorAt(1, "the manifest is empty; expected a map with 'services'");
    if (!root.IsMap()) return r.error(root, "expected the manifest to be a map with 'services'");
    SANDBANK_RETURN_IF_ERROR(r.checkKeys(root, {"name", "services", "version"}, "the manifest"));
    Manifest m;
    m.path = path;
    m.dir = dir;
    if (root["name"]) { SANDBANK_ASSIGN_OR_RETURN(m.name, r.string(root["name"], "name")); }
    const YAML::Node services = root["services"];
    if (!services) return r.errorAt(1, "the manifest has no 'services' map");
    if (!services.IsMap() || services.size() == 0)
      return r.error(services, "expected 'services' to be a map of service name to settings");
    for (auto it = services.begin(); it != services.end(); ++it) {
      SANDBANK_ASSIGN_OR_RETURN(std::string name, r.string(it->first, "a service name"));
      if (m.find(name)) return r.error(it->first, "service '" + name + "' is defined twice");
      SANDBANK_ASSIGN_OR_RETURN(ServiceSpec s, parseService(r, name, it->first, it->second, dir));
      m.services.push_back(std::move(s));
    }
    std::vector<std::string> names;
    for (const auto& s : m.services) names.push_back(s.name);
    for (const auto& s : m.services) {
      for (const auto& d : s.depends_on) {
        if (d.service == s.name) return r.errorAt(s.line, "service '" + s.name + "' depends on itself");
        if (!m.find(d.service)) {
          std::string hint = closestMatch(d.service, names);
          return r.errorAt(s.line, "service '" + s.name + "' depends on unknown service '" + d.service + "'" +
                                       (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
        }
      }
    }
    std::string cycle = findCycle(m);
    if (!cycle.empty()) return r.errorAt(m.find(cycle.substr(0, cycle.find(' ')))->line, "dependency cycle: " + cycle);
    return m;
  } catch (const YAML::Exception& e) {
    return r.errorAt(e.mark.line + 1, e.msg);
  }
}

Result<Manifest> loadManifest(const std::string& path, const std::map<std::string, std::string>& vars) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read manifest " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  fs::path p = fs::absolute(path);
  return parseManifest(ss.str(), path, p.parent_path().string(), vars);
}

Result<std::string> resolveCommand(const std::string& command, const std::string& dir,
                                   const std::vector<std::string>& search_dirs) {
  auto executable = [](const fs::path& p) { return ::access(p.c_str(), X_OK) == 0 && !fs::is_directory(p); };
  if (fs::path(command).is_absolute()) {
    if (executable(command)) return command;
    return NotFound("command " + command + " does not exist or is not executable");
  }
  if (command.find('/') != std::string::npos) {
    fs::path p = (fs::path(dir) / command).lexically_normal();
    if (executable(p)) return p.string();
    return NotFound("command " + command + " (resolved to " + p.string() + ") does not exist or is not executable");
  }
  std::vector<std::string> dirs = search_dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string d;
    while (std::getline(ss, d, ':'))
      if (!d.empty()) dirs.push_back(d);
  }
  for (const auto& d : dirs) {
    fs::path p = fs::path(d) / command;
    if (executable(p)) return p.string();
  }
  return NotFound("command '" + command + "' not found in the sandbank bin folder or $PATH");
}

}  // namespace sandbank::supervisor
