// ProcessLauncher: starts child processes and reports their output lines and exit. The
// real implementation (process_launcher_boost.cc) is the only file that includes
// Boost.Process. Every child it starts is in its own process group and has
// PR_SET_PDEATHSIG(SIGKILL), so it dies when the simulator dies, even by SIGKILL.
// Thread-safety: spawn() and ProcessHandle methods may be called from any thread.
// Callbacks run on the launcher's own I/O thread; they must not block.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::supervisor {

struct ProcessSpec {
  std::string executable;  // absolute path
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // the complete environment of the child
  std::string working_dir;
};

enum class OutputStream { kStdout, kStderr };

struct ExitInfo {
  int exit_code = 0;  // valid when signal == 0
  int signal = 0;     // the signal that killed the process, or 0
  bool success() const { return signal == 0 && exit_code == 0; }
  std::string describe() const;  // "exit 3" or "killed by SIGKILL"
};

struct ProcessCallbacks {
  // One complete line (without the newline). Lines longer than 64 KiB are split.
  std::function<void(OutputStream, std::string)> on_line;
  // Called once, after both output streams have reached end-of-file or the process is gone.
  std::function<void(ExitInfo)> on_exit;
};

class ProcessHandle {
 public:
  virtual ~ProcessHandle() = default;
  virtual int pid() const = 0;
  // Sends `sig` to the child's whole process group. Signalling an exited child is a no-op.
  virtual Status signal(int sig) = 0;
};

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // Starts the process. Fails with NotFound/PermissionDenied when it cannot be executed.
  // The handle may outlive the process; destroying the handle does not kill it.
  virtual Result<std::unique_ptr<ProcessHandle>> spawn(const ProcessSpec& spec,
                                                       ProcessCallbacks callbacks) = 0;
};

// The Boost.Process v2 implementation, with its own I/O thread. Destroying it sends
// SIGKILL to every child still running and reaps them.
std::unique_ptr<ProcessLauncher> makeProcessLauncher();

}  // namespace sandbank::supervisor
