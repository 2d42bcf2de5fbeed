// Loads Hugging Face safetensors checkpoints of the llama family onto the
// llama forward pass: model_type `llama` (Llama 2/3, TinyLlama, SmolLM2),
// `mistral` (plus its sliding window), `qwen2` (Q/K/V biases) and `phi3`
// (fused QKV and gate|up projections).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "models/hf/hf_checkpoint.h"
#include "models/llama/llama_config.h"
#include "models/model.h"

namespace llmw {

// config.json → LlamaConfig and the RoPE inverse frequencies (after any
// `llama3` or `linear` scaling; other scaling types are UNIMPLEMENTED).
absl::StatusOr<LlamaConfig> ReadHfLlamaConfig(const HfCheckpoint& checkpoint,
                                              std::vector<float>* rope_inv_freq);

absl::StatusOr<std::unique_ptr<Model>> LoadHfLlama(HfCheckpoint checkpoint, Backend& backend);

}  // namespace llmw
