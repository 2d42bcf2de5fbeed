// Serves metric collectables as Prometheus text on GET /metrics, through
// prometheus-cpp's Exposer (an HTTP server on civetweb).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"

namespace llmw::metrics {

class MetricsServer {
 public:
  // `address` is "host:port" ("127.0.0.1:9100", "[::1]:9100"), ":port" or
  // "port" (all IPv4 interfaces). Port 0 picks a free port; port() tells
  // which. Fails with UNAVAILABLE when the address cannot be bound (e.g. the
  // port is taken) and INVALID_ARGUMENT for a malformed address. The
  // collectables are scraped in the order given and kept alive by the server.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      std::string_view address, std::vector<std::shared_ptr<prometheus::Collectable>> collectables);

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsServer() = default;

  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // after collectables_: stops first
  int port_ = 0;
};

// Turns our address syntax into civetweb's listening_ports value ("9100",
// "127.0.0.1:9100", "[::1]:9100"); exposed for tests.
absl::StatusOr<std::string> ListeningPortsOption(std::string_view address);

}  // namespace llmw::metrics
