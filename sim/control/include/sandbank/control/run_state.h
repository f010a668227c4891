// RunState: how other processes find a running simulator - its control address, its
// token and its pid - kept in a JSON file readable only by its owner.
// Default path: $SANDBANK_STATE_DIR/run.json, else $XDG_RUNTIME_DIR/sandbank/run.json,
// else /tmp/sandbank-<uid>/run.json.
// Thread-safety: plain functions over files.
#pragma once

#include <string>

#include "sandbank/core/result.h"

namespace sandbank::control {

struct RunState {
  std::string address;   // 127.0.0.1:<port>
  std::string token;     // bearer token for the control API
  int pid = 0;           // the simulator's pid
  std::string manifest;  // path of the manifest it runs
  std::string started;   // ISO-8601
  std::string mesh;      // 127.0.0.1:<port> of the mesh every service call goes through
};

std::string defaultStateDir();
std::string defaultRunStatePath();

// Writes atomically (temp file + rename) with mode 0600, creating the folder (0700).
Status writeRunState(const std::string& path, const RunState& state);
// NotFound with a hint to run `sandbank up` when there is no file; FailedPrecondition
// when the recorded pid is no longer alive (a stale file from a killed simulator).
Result<RunState> readRunState(const std::string& path);
Status removeRunState(const std::string& path);

// 32 random hex digits from /dev/urandom.
std::string newToken();

}  // namespace sandbank::control
