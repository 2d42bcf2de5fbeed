// Helpers for tests that run other programs next to the worker: a PATH lookup, a free loopback
// port, a self-removing temporary directory, and an instant query through Prometheus's HTTP API.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>

#include "tests/unit/metrics/http_get.h"

namespace llmw::testing {

// The executable `name` found in $PATH.
inline std::optional<std::string> FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

// A loopback TCP port that was free a moment ago.
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/llmw-itest-XXXXXX";
    if (mkdtemp(name) != nullptr) path_ = name;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The first sample's value of an instant query through Prometheus's HTTP API.
inline std::optional<double> PrometheusQuery(int port, const std::string& query) {
  ::llmw::metrics::testing::HttpResponse response;
  if (!::llmw::metrics::testing::HttpRequest(port, "GET", "/api/v1/query?query=" + query,
                                             &response) ||
      response.status != 200) {
    return std::nullopt;
  }
  static const std::regex kValue(R"re("value":\[[0-9.e+-]+,"([^"]+)"\])re");
  std::smatch match;
  if (!std::regex_search(response.body, match, kValue)) return std::nullopt;
  return std::stod(match[1].str());
}

}  // namespace llmw::testing
