// `llmw generate --server ADDR`: streams a completion from a running
// llm-worker over gRPC instead of loading the model locally.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "worker/engine/sampling_params.h"

namespace llmw::cli {

struct RemoteGenerateOptions {
  std::string server;  // host:port
  std::string model;   // empty: the worker's first model
  std::string prompt;
  bool chat = false;
  int64_t max_tokens = 128;
  SamplingParams sampling;
};

// Writes text to stdout as it arrives and a usage line to stderr.
absl::Status GenerateRemote(const RemoteGenerateOptions& options);

}  // namespace llmw::cli
