// `llmw generate --server ADDR`: streams a completion from a running
// llm-worker over gRPC instead of loading the model locally.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "llmworker/v1/worker.pb.h"
#include "worker/config/flags.h"

namespace llmw::cli {

// How to reach a worker: plaintext, or TLS (with a client certificate for
// mutual TLS), and an optional bearer token.
struct Connection {
  std::string server;  // host:port
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string auth_token_file;
};

// Sends `request` and prints the stream (PrintGenerateResponse).
absl::Status GenerateRemote(const Connection& connection,
                            const llmworker::v1::GenerateRequest& request);

// The connection flags' specs and their values, shared by the subcommands.
std::vector<FlagSpec> ConnectionFlags();
Connection ReadConnection(const ParsedFlags& flags);
// A channel for `connection` and the call metadata it needs.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const Connection& connection);
absl::Status Authorize(const Connection& connection, grpc::ClientContext& context);

}  // namespace llmw::cli
