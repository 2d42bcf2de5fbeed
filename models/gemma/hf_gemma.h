// Loads Hugging Face safetensors checkpoints of Gemma 3 (model_type
// `gemma3_text`) onto the Gemma forward pass.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "models/gemma/gemma_config.h"
#include "models/hf/hf_checkpoint.h"
#include "models/model.h"

namespace llmw {

absl::StatusOr<GemmaConfig> ReadHfGemmaConfig(const HfCheckpoint& checkpoint);

absl::StatusOr<std::unique_ptr<Model>> LoadHfGemma(HfCheckpoint checkpoint, Backend& backend);

}  // namespace llmw
