// FakeEdge: a tiny HTTP/1.1 server on 127.0.0.1:0 that implements the edge's routes just
// enough for the load generator (sign-up, login, scheme card and FPS messages, transfers,
// pots, payments, reads), records every request and answers every Nth one with 503.
// Thread-safety: all public methods may be called from any thread; one thread per
// connection serves requests.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sandbank::load::testing {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  int status = 0;                              // what the fake answered
  bool declined = false;                       // a 2xx whose body says declined
};

class FakeEdge {
 public:
  struct Options {
    // Every fail_every-th request other than /healthz and /v1/signup is answered 503
    // unavailable without being processed; 0 never.
    int fail_every = 0;
    bool fail_signups = false;  // count sign-ups in fail_every too
    std::string scheme_key = "sandbank-scheme";
  };

  explicit FakeEdge(Options options);
  ~FakeEdge();

  // "127.0.0.1:<port>".
  std::string address() const;
  // Every request except GET /healthz, in arrival order.
  std::vector<RecordedRequest> requests() const;
  // Waits until at least `n` requests (as counted by requests()) arrived.
  bool waitForRequests(size_t n, std::chrono::milliseconds timeout) const;
  // The card token issued at sign-up to `email`; "" if none.
  std::string cardTokenFor(const std::string& email) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sandbank::load::testing
