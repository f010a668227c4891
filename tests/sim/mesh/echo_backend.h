// Test backends for the mesh: an in-process sandbank.testing.Echo server on 127.0.0.1:0
// that records what it saw (metadata, deadline, cancellation), and a WaitingFlowSink that
// lets a test wait for the mesh to report a call. Thread-safety: all state is mutex-guarded.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sandbank/flow/flow_event.h"
#include "sandbank/mesh/mesh.h"
#include "sandbank/testing/echo.grpc.pb.h"

namespace sandbank::mesh::testing {

// A one-way flag a test can wait on with a bounded timeout.
class Latch {
 public:
  void set() {
    std::lock_guard lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool waitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;  // guarded by mu_
};

// Echo semantics used by the tests:
//   Echo("block")  waits until the call is cancelled (sets started/cancelled latches);
//   Echo("fail")   answers FAILED_PRECONDITION "account frozen" with details and a trailer;
//   Echo(other)    replies with the text, this instance's name and the trace it saw.
class EchoBackend {
 public:
  explicit EchoBackend(std::string instance);
  ~EchoBackend();

  const std::string& address() const { return address_; }
  const std::string& instance() const { return instance_; }

  int calls() const;
  // Metadata of the last Echo call (all keys).
  std::multimap<std::string, std::string> lastMetadata() const;
  std::chrono::system_clock::time_point lastDeadline() const;

  Latch block_started;
  Latch block_cancelled;

  class Service;

 private:
  friend class Service;
  void record(const std::multimap<grpc::string_ref, grpc::string_ref>& md,
              std::chrono::system_clock::time_point deadline);

  std::string instance_;
  std::string address_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  mutable std::mutex mu_;
  int calls_ = 0;                                        // guarded by mu_
  std::multimap<std::string, std::string> metadata_;     // guarded by mu_
  std::chrono::system_clock::time_point deadline_;       // guarded by mu_
};

// Collects events and lets a test wait (bounded) until enough of a kind have arrived.
class WaitingFlowSink final : public flow::FlowSink {
 public:
  void emit(flow::FlowEvent event) override {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
    cv_.notify_all();
  }
  // Events of `kind`, once at least `n` arrived (or after 10 s: then fewer).
  std::vector<flow::FlowEvent> waitFor(flow::FlowKind kind, size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return countLocked(kind) >= n; });
    std::vector<flow::FlowEvent> out;
    for (const auto& e : events_) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }
  std::vector<flow::FlowEvent> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  size_t countLocked(flow::FlowKind kind) const {
    size_t n = 0;
    for (const auto& e : events_) n += e.kind == kind;
    return n;
  }
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<flow::FlowEvent> events_;  // guarded by mu_
};

// A channel to the mesh whose authority names `service`, as the kit creates them.
std::shared_ptr<grpc::Channel> meshChannel(const Mesh& mesh, const std::string& service);

}  // namespace sandbank::mesh::testing
