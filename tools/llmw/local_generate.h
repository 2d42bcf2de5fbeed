// `llmw generate --model PATH` (or `--random-model SHAPE --dtype DT`): loads the model onto a
// runner of its own and runs the request through the same engine and request conversion as
// llm-worker, so sampling defaults (generation_config.json), stop strings, min_tokens and
// penalties behave as on a worker.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "llmworker/v1/worker.pb.h"
#include "models/model_runner.h"

namespace llmw::cli {

// Where the local model comes from: a checkpoint, or random weights at a known shape
// (RandomLlama), which lets a GPU be checked without carrying a checkpoint to it.
struct LocalModel {
  std::string path;
  std::string random_shape;  // instead of path
  std::string random_dtype;
};

// Streams the completion of `request` to stdout (PrintGenerateResponse); load progress goes to
// stderr. Errors in the request are the worker's INVALID_ARGUMENT messages.
absl::Status GenerateLocal(const LocalModel& model, const RunnerOptions& runner_options,
                           const llmworker::v1::GenerateRequest& request);

}  // namespace llmw::cli
