// A small blocking HTTP/1.1 client for tests that drive the edge: one request per
// connection (Connection: close), Content-Length bodies, headers in, status + headers +
// body out. Enough for JSON APIs on 127.0.0.1; not a general client.
// Thread-safety: stateless functions; call from any thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sandbank::testing {

struct HttpResponse {
  int status = 0;  // 0: no answer (connect failed, timed out or malformed)
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;  // why status is 0
};

inline HttpResponse httpRequest(int port, const std::string& method, const std::string& path,
                                const std::string& body = "",
                                const std::vector<std::pair<std::string, std::string>>& headers = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  HttpResponse out;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    out.error = "socket failed";
    return out;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    out.error = "connect to 127.0.0.1:" + std::to_string(port) + " failed";
    return out;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  for (size_t sent = 0; sent < req.size();) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      out.error = "send failed";
      return out;
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  const auto until = std::chrono::steady_clock::now() + timeout;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      out.error = "timed out";
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 9, "HTTP/1.1 ") != 0) {
    if (out.error.empty()) out.error = "malformed response: " + raw.substr(0, 200);
    return out;
  }
  out.status = std::atoi(raw.c_str() + 9);
  size_t line = raw.find("\r\n") + 2;
  while (line < head_end) {
    size_t eol = raw.find("\r\n", line);
    std::string h = raw.substr(line, eol - line);
    size_t colon = h.find(':');
    if (colon != std::string::npos) {
      std::string name = h.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = colon + 1;
      while (v < h.size() && h[v] == ' ') ++v;
      out.headers[name] = h.substr(v);
    }
    line = eol + 2;
  }
  out.body = raw.substr(head_end + 4);
  return out;
}

}  // namespace sandbank::testing
