// LoadGenerator drives the bank's HTTP edge with simulated customers following a plan
// (plan.h): an open-loop schedule at `rate` operations per second spread over
// `concurrency` workers, each with its own keep-alive connection. runLoad() is the whole
// `sandbank load` command: run, print progress once a second, print a summary.
//
//   dispatcher thread --PlanGenerator--> per-worker queues (by customer % concurrency)
//   worker i: wait until the op is due -> HTTP to the edge -> stats, report
//
// A customer's operations all run on one worker, in plan order, so a clear always
// follows its authorise and a deposit its pot. A transfer waits for the receiving
// customer's sign-up on another worker.
// Thread-safety: every LoadGenerator method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <iosfwd>
#include <memory>

#include "sandbank/core/status.h"
#include "sandbank/load/load_options.h"
#include "sandbank/load/load_stats.h"
#include "sandbank/load/plan.h"

namespace sandbank::load {

class LoadGenerator {
 public:
  explicit LoadGenerator(LoadOptions options);
  // Stops the run (as stop()) and joins every thread.
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Validates the options, checks that the edge answers GET /healthz, then starts the
  // dispatcher and the workers and returns. Errors: InvalidArgument (options),
  // Unavailable (edge unreachable or not healthy), FailedPrecondition (started twice).
  Status start();
  // Asks the run to end: no further request starts; requests in flight finish (bounded
  // by request_timeout). Returns at once; wait() for the end. Safe before start().
  void stop();
  // Blocks until every planned step ran (bounded run) or stop() took effect.
  void wait();
  // As wait(), for at most `timeout`; true when the run has ended.
  bool waitFor(std::chrono::milliseconds timeout);
  bool finished() const;

  // Counters so far; cheap enough to call every second.
  LoadStats snapshot() const;
  // The stats plus every acknowledged money movement and each customer's ids. Complete
  // once wait() has returned; a partial picture before.
  LoadReport report() const;

  const LoadOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One progress line:
//   "12.0s  ops 1180  rate 98.3/s  errors 3 (0.3%)  p50 4.1ms  p99 18.7ms"
// where ops counts requests sent and errors the failed ones (declines are not errors).
// With `tty` it starts with '\r', clears to the end of the line and ends without a
// newline, so the next call rewrites it; otherwise it ends with '\n'.
void printProgress(const LoadStats& stats, std::ostream& out, bool tty);

// The closing summary: per-kind counts, failures by code and status, declines, latency.
void printSummary(const LoadReport& report, std::ostream& out);

// `sandbank load`: validates, runs to the end printing progress once a second and the
// summary. Returns 0 when at least one request succeeded, 1 when none did (the message
// says why, e.g. the edge is unreachable), 2 when the options are invalid. When
// `cancel` becomes true (e.g. set from a SIGINT handler; a lock-free atomic store is
// async-signal-safe) the run stops within about a second and still prints the summary.
int runLoad(const LoadOptions& options, std::ostream& out, bool tty,
            const std::atomic<bool>* cancel = nullptr);

}  // namespace sandbank::load
