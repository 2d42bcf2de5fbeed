// Loads GGUF checkpoints of the llama architecture (Llama 2/3, Mistral,
// SmolLM2) and of qwen2 (llama blocks with Q/K/V biases) onto the llama
// family's forward pass.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "models/formats/gguf_file.h"
#include "models/llama/llama_config.h"
#include "kernels/backend.h"
#include "models/model.h"

namespace llmw {

// Hyper-parameters from the `<arch>.*` keys, validated.
absl::StatusOr<LlamaConfig> ReadGgufLlamaConfig(const GgufFile& file, const std::string& arch);

// general.architecture `llama`.
absl::StatusOr<std::unique_ptr<Model>> LoadGgufLlama(std::shared_ptr<GgufFile> file,
                                                     Backend& backend);
// general.architecture `qwen2` (Qwen2 / Qwen2.5).
absl::StatusOr<std::unique_ptr<Model>> LoadGgufQwen2(std::shared_ptr<GgufFile> file,
                                                     Backend& backend);
// general.architecture `phi3` (Phi-3 without LongRoPE).
absl::StatusOr<std::unique_ptr<Model>> LoadGgufPhi3(std::shared_ptr<GgufFile> file,
                                                    Backend& backend);

}  // namespace llmw
