// HealthProber: one health probe of an instance listening on 127.0.0.1:<port>. The real
// prober speaks grpc.health.v1 (Check with service "") or opens a TCP connection.
// Thread-safety: probe() is called concurrently from the supervisor's probe workers.
#pragma once

#include <chrono>
#include <memory>

#include "sandbank/core/status.h"
#include "sandbank/supervisor/manifest.h"

namespace sandbank::supervisor {

class HealthProber {
 public:
  virtual ~HealthProber() = default;
  // OK when healthy; otherwise a Status saying why ("NOT_SERVING", "connection refused").
  // Blocks for at most `timeout`.
  virtual Status probe(HealthType type, int port, std::chrono::nanoseconds timeout) = 0;
};

std::unique_ptr<HealthProber> makeHealthProber();

}  // namespace sandbank::supervisor
