// The /metrics HTTP endpoint on civetweb.
#include "worker/metrics/metrics_server.h"

#include <civetweb.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace llmw::metrics {
namespace {

void SendPlain(mg_connection* conn, int code, std::string_view reason, std::string_view extra,
               std::string_view body) {
  std::string head = absl::StrCat(
      "HTTP/1.1 ", code, " ", absl::string_view(reason.data(), reason.size()),
      "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ", body.size(), "\r\n",
      absl::string_view(extra.data(), extra.size()), "Connection: close\r\n\r\n");
  mg_write(conn, head.data(), head.size());
  mg_write(conn, body.data(), body.size());
}

}  // namespace

absl::StatusOr<std::string> ListeningPortsOption(std::string_view address) {
  std::string_view host;
  std::string_view port_text = address;
  size_t colon = address.rfind(':');
  if (colon != std::string_view::npos) {
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  int port = 0;
  if (port_text.empty() ||
      !absl::SimpleAtoi(absl::string_view(port_text.data(), port_text.size()), &port) || port < 0 ||
      port > 65535 || port_text.find_first_not_of("0123456789") != std::string::npos) {
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

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(std::string_view address,
                                                                    Registry* registry) {
  absl::StatusOr<std::string> ports = ListeningPortsOption(address);
  if (!ports.ok()) return ports.status();

  mg_init_library(0);
  std::unique_ptr<MetricsServer> server(new MetricsServer(registry));
  const char* options[] = {
      "listening_ports", ports->c_str(),      "num_threads", "2",    "request_timeout_ms",
      "10000",           "enable_keep_alive", "no",          nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  // Start-up errors come back through mg_error_data; keep civetweb off stderr.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init;
  std::memset(&init, 0, sizeof(init));
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = options;
  char error_text[256] = {0};
  unsigned error_code = 0;
  mg_error_data error;
  std::memset(&error, 0, sizeof(error));
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);

  server->ctx_ = mg_start2(&init, &error);
  if (server->ctx_ == nullptr) {
    mg_exit_library();
    return absl::UnavailableError(absl::StrCat("metrics server cannot listen on \"",
                                               std::string(address), "\": ", error_text));
  }
  mg_server_port bound[4];
  int n = mg_get_server_ports(server->ctx_, 4, bound);
  if (n < 1) {
    return absl::InternalError(
        absl::StrCat("metrics server on \"", std::string(address), "\": no listening port"));
  }
  server->port_ = bound[0].port;
  // "/" is a prefix of every path, so Handle sees every request.
  mg_set_request_handler(server->ctx_, "/", &MetricsServer::Handle, server.get());
  return server;
}

MetricsServer::~MetricsServer() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
    mg_exit_library();
  }
}

int MetricsServer::Handle(mg_connection* conn, void* self) {
  auto* server = static_cast<MetricsServer*>(self);
  const mg_request_info* ri = mg_get_request_info(conn);
  std::string_view uri = ri->local_uri != nullptr ? ri->local_uri : "";
  std::string_view method = ri->request_method != nullptr ? ri->request_method : "";
  if (uri != "/metrics") {
    SendPlain(conn, 404, "Not Found", "", "Not found; metrics are at /metrics\n");
    return 404;
  }
  if (method != "GET" && method != "HEAD") {
    SendPlain(conn, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n", "Method not allowed\n");
    return 405;
  }
  std::string body = server->registry_->Render();
  std::string head = absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: ", kContentType,
                                  "\r\nContent-Length: ", body.size(),
                                  "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
  mg_write(conn, head.data(), head.size());
  if (method == "GET") mg_write(conn, body.data(), body.size());
  return 200;
}

}  // namespace llmw::metrics
