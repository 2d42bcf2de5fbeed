// A Hugging Face model directory opened for a family loader: config.json, the
// safetensors weights (single file or sharded) and the tokenizer files.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "models/formats/safetensors_checkpoint.h"
#include "models/hf/hf_config.h"
#include "models/model.h"
#include "models/tokenizer/tokenizer.h"

namespace llmw {

struct HfCheckpoint {
  std::string directory;
  HfConfig config;  // config.json
  std::string model_type;
  std::shared_ptr<SafetensorsCheckpoint> weights;  // null until OpenHfWeights
};

// Reads `directory`/config.json, whose `model_type` must be a string.
absl::StatusOr<HfCheckpoint> ReadHfCheckpoint(const std::string& directory);

// Opens the safetensors of `checkpoint` (single file or sharded).
absl::Status OpenHfWeights(HfCheckpoint& checkpoint);

// The sampling defaults of `directory`/generation_config.json; none set when the file is absent.
absl::StatusOr<GenerationDefaults> ReadGenerationDefaults(const std::string& directory);

// What a family model takes besides its config and weights.
struct HfModelParts {
  // Name (the directory's), architecture (model_type), dominant dtype, parameter
  // count, chat template and the sampling defaults of generation_config.json.
  ModelInfo info;
  std::unique_ptr<Tokenizer> tokenizer;  // its ids fit a vocab_size-row embedding
};

absl::StatusOr<HfModelParts> LoadHfModelParts(const HfCheckpoint& checkpoint,
                                              int64_t context_length, int64_t vocab_size);

}  // namespace llmw
