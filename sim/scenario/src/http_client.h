// A small blocking HTTP/1.1 client for the edge: one request per connection
// (Connection: close), Content-Length or chunked bodies. Enough for JSON on 127.0.0.1.
// Thread-safety: a stateless function; call from any thread.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sandbank::scenario {

struct HttpAnswer {
  int status = 0;                              // 0: no answer; see error
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;
};

HttpAnswer httpRequest(int port, const std::string& method, const std::string& path, const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       std::chrono::milliseconds timeout);

}  // namespace sandbank::scenario
