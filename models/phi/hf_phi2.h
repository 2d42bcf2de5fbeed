// Loads Hugging Face safetensors checkpoints of Phi-2 (model_type `phi`) onto
// the Phi-2 forward pass.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "models/hf/hf_checkpoint.h"
#include "models/load_options.h"
#include "models/model.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<Model>> LoadHfPhi2(HfCheckpoint checkpoint,
                                                  const LoadOptions& options);

}  // namespace llmw
