// EdgeConnection: one keep-alive HTTP/1.1 connection to the edge, with a timeout on every
// exchange. Beast and Asio stay in edge_client.cc.
// Thread-safety: not thread-safe; each load worker owns one.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::load {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string traceparent;  // the edge's trace for this request, when it sent one
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

class EdgeConnection {
 public:
  EdgeConnection(std::string host, std::string port, std::chrono::milliseconds timeout);
  ~EdgeConnection();
  EdgeConnection(const EdgeConnection&) = delete;
  EdgeConnection& operator=(const EdgeConnection&) = delete;

  // Sends one request and reads the answer, connecting first if needed. A reused
  // connection that the server had closed before it read anything is reopened and the
  // request sent once more. `body` empty means no body; otherwise it is sent as JSON.
  // Errors: Unavailable (resolve, connect or transport failure; the message says which),
  // DeadlineExceeded (no complete answer within the timeout). After an error the
  // connection is closed and the next call reconnects.
  Result<HttpResponse> exchange(std::string_view method, std::string_view target,
                                std::string_view body, const HttpHeaders& headers);

  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sandbank::load
