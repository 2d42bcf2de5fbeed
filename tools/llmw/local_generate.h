// `llmw generate --model PATH`: loads the checkpoint onto a runner of its own and runs the request
// through the same engine and request conversion as llm-worker, so sampling defaults
// (generation_config.json), stop strings, min_tokens and penalties behave as on a worker.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "llmworker/v1/worker.pb.h"
#include "models/model_runner.h"

namespace llmw::cli {

// Streams the completion of `request` to stdout (PrintGenerateResponse); load progress goes to
// stderr. Errors in the request are the worker's INVALID_ARGUMENT messages.
absl::Status GenerateLocal(const std::string& model_path, const RunnerOptions& runner_options,
                           const llmworker::v1::GenerateRequest& request);

}  // namespace llmw::cli
