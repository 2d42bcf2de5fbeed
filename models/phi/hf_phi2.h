// Loads Hugging Face safetensors checkpoints of Phi-2 (model_type `phi`) onto
// the Phi-2 forward pass.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "models/hf/hf_checkpoint.h"
#include "models/model.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<Model>> LoadHfPhi2(HfCheckpoint checkpoint, Backend& backend);

}  // namespace llmw
