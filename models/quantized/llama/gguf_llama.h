// Loads a GGUF checkpoint of the llama architecture (Llama 2/3, Mistral,
// SmolLM2) onto the llama family's forward pass.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "models/formats/gguf_file.h"
#include "models/llama/llama_config.h"
#include "models/load_options.h"
#include "models/model.h"

namespace llmw {

// Hyper-parameters from the `llama.*` keys, validated.
absl::StatusOr<LlamaConfig> ReadGgufLlamaConfig(const GgufFile& file);

absl::StatusOr<std::unique_ptr<Model>> LoadGgufLlama(std::shared_ptr<GgufFile> file,
                                                     const LoadOptions& options);

}  // namespace llmw
