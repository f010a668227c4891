// The `sandbank` command line: argument parsing and the subcommands (up, ps, logs, start,
// stop, restart, kill, down). main() only calls runCli().
// Thread-safety: call once, from main().
#pragma once

namespace sandbank::cli {

// Returns the process exit code: 0 success, 1 a failed operation, 2 bad usage or input.
int runCli(int argc, char** argv);

}  // namespace sandbank::cli
