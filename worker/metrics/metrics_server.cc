// The /metrics endpoint: address checks, then prometheus-cpp's Exposer.
#include "worker/metrics/metrics_server.h"

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace llmw::metrics {

absl::StatusOr<std::string> ListeningPortsOption(std::string_view address) {
  std::string_view host;
  std::string_view port_text = address;
  size_t colon = address.rfind(':');
  if (colon != std::string_view::npos) {
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  int port = 0;
  if (port_text.empty() || port_text.find_first_not_of("0123456789") != std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(port_text.data(), port_text.size()), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics address \"", std::string(address),
                                                   "\": expected host:port, :port or port"));
  }
  // An IPv6 host must be bracketed; a bare one would contain more colons.
  if (host.find(':') != std::string_view::npos && (host.front() != '[' || host.back() != ']')) {
    return absl::InvalidArgumentError(absl::StrCat("metrics address \"", std::string(address),
                                                   "\": write IPv6 hosts as [addr]:port"));
  }
  if (host.empty()) return std::to_string(port);
  return absl::StrCat(std::string(host), ":", port);
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    std::string_view address, std::vector<std::shared_ptr<prometheus::Collectable>> collectables) {
  absl::StatusOr<std::string> ports = ListeningPortsOption(address);
  if (!ports.ok()) return ports.status();
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", *ports, "num_threads", "2", "request_timeout_ms", "10000"});
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics server cannot listen on \"", std::string(address), "\": ", e.what()));
  }
  const std::vector<int> bound = server->exposer_->GetListeningPorts();
  if (bound.empty()) {
    return absl::InternalError(
        absl::StrCat("metrics server on \"", std::string(address), "\": no listening port"));
  }
  server->port_ = bound.front();
  server->collectables_ = std::move(collectables);
  for (const auto& c : server->collectables_) server->exposer_->RegisterCollectable(c);
  return server;
}

}  // namespace llmw::metrics
