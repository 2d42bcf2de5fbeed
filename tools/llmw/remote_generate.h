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
#include "worker/config/flags.h"
#include "worker/engine/sampling_params.h"

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

struct RemoteGenerateOptions {
  Connection connection;
  std::string model;  // empty: the worker's first model
  std::string prompt;
  bool chat = false;
  bool ignore_eos = false;
  int64_t max_tokens = 128;
  SamplingParams sampling;
  bool special_tokens_as_text = false;  // GenerateRequest.special_tokens_as_text
};

// Writes text to stdout as it arrives and a usage line to stderr.
absl::Status GenerateRemote(const RemoteGenerateOptions& options);

// The connection flags' specs and their values, shared by the subcommands.
std::vector<FlagSpec> ConnectionFlags();
Connection ReadConnection(const ParsedFlags& flags);
// A channel for `connection` and the call metadata it needs.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const Connection& connection);
absl::Status Authorize(const Connection& connection, grpc::ClientContext& context);

}  // namespace llmw::cli
