// The topology manifest (bank.yaml): which services to run and how. Parsing checks
// everything up front - unknown keys (with a did-you-mean hint), types, dependency cycles,
// unknown dependencies - and reports "file:line: what was expected" so a bad manifest
// starts nothing. Thread-safety: Manifest is an immutable value once parsed.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::supervisor {

enum class DependencyCondition { kStarted, kHealthy };

struct Dependency {
  std::string service;
  DependencyCondition condition = DependencyCondition::kHealthy;
};

enum class HealthType { kGrpc, kTcp, kNone };

struct HealthSpec {
  HealthType type = HealthType::kGrpc;
  // Probe period once healthy, and the faster period used while starting up.
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  std::chrono::nanoseconds start_interval = std::chrono::milliseconds(10);
  std::chrono::nanoseconds timeout = std::chrono::seconds(1);
  int retries = 3;  // consecutive failures before a healthy instance is marked unhealthy
  // How long an instance may take to become healthy before it is counted as failed.
  std::chrono::nanoseconds start_period = std::chrono::seconds(30);
};

enum class RestartPolicyKind { kNo, kOnFailure, kAlways };

struct RestartPolicy {
  RestartPolicyKind kind = RestartPolicyKind::kNo;
  int max_retries = -1;  // -1: unlimited
  std::chrono::nanoseconds backoff = std::chrono::milliseconds(100);  // first delay
  std::chrono::nanoseconds max_backoff = std::chrono::seconds(10);
  double multiplier = 2.0;
  // An instance that stays up this long has its failure count reset.
  std::chrono::nanoseconds reset_after = std::chrono::seconds(30);
};

struct ServiceSpec {
  std::string name;
  std::string command;  // as written; resolved by resolveCommand()
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string working_dir;  // absolute; defaults to the manifest's folder
  std::vector<Dependency> depends_on;
  HealthSpec health;
  RestartPolicy restart;
  int replicas = 1;
  std::chrono::nanoseconds stop_grace = std::chrono::seconds(5);
  int line = 0;  // where the service is defined, for later error messages
};

struct Manifest {
  std::string name;
  std::string path;  // file the manifest came from ("<string>" when parsed from text)
  std::string dir;   // folder used to resolve relative paths
  std::vector<ServiceSpec> services;  // in file order

  const ServiceSpec* find(const std::string& name) const;
  // Services in an order where every dependency comes before its dependents; ties keep
  // file order.
  std::vector<std::string> startOrder() const;
};

// Parses manifest text. `path` is used in error messages and `dir` to resolve relative
// commands. Variables ${NAME} in command, args, env and working_dir expand from `vars`
// first and then the process environment; an unknown variable is an error.
Result<Manifest> parseManifest(const std::string& text, const std::string& path,
                               const std::string& dir,
                               const std::map<std::string, std::string>& vars = {});

// Reads and parses a file; `vars` as above.
Result<Manifest> loadManifest(const std::string& path,
                              const std::map<std::string, std::string>& vars = {});

// Turns a command into an executable path: absolute stays; containing '/' resolves
// against `dir`; a bare name is searched in `search_dirs` and then $PATH.
Result<std::string> resolveCommand(const std::string& command, const std::string& dir,
                                   const std::vector<std::string>& search_dirs);

}  // namespace sandbank::supervisor
