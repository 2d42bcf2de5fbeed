// Serves a Registry as Prometheus text on GET /metrics over HTTP (civetweb).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "worker/metrics/registry.h"

struct mg_context;
struct mg_connection;

namespace llmw::metrics {

inline constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

class MetricsServer {
 public:
  // `address` is "host:port" ("127.0.0.1:9100", "[::1]:9100"), ":port" or
  // "port" (all IPv4 interfaces). Port 0 picks a free port; port() tells
  // which. Fails with UNAVAILABLE when the address cannot be bound (e.g. the
  // port is taken) and INVALID_ARGUMENT for a malformed address. The registry
  // must outlive the server. GET and HEAD /metrics answer 200 with
  // kContentType; other paths 404, other methods 405.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(std::string_view address,
                                                              Registry* registry);
  // Stops accepting, waits for requests in flight, and closes the socket.
  // Takes up to about 2 s: civetweb polls its listening socket in 2 s slices.
  ~MetricsServer();

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsServer(Registry* registry) : registry_(registry) {}
  static int Handle(mg_connection* conn, void* self);

  Registry* registry_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

// Turns our address syntax into civetweb's listening_ports value ("9100",
// "127.0.0.1:9100", "[::1]:9100"); exposed for tests.
absl::StatusOr<std::string> ListeningPortsOption(std::string_view address);

}  // namespace llmw::metrics
