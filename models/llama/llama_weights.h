// Loading and checking the llama family's weights and hyper-parameters, shared
// by the GGUF and the safetensors loaders: only the tensor names differ.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "models/llama/llama_config.h"
#include "models/weight_table.h"

namespace llmw {

// Where one checkpoint kind keeps each tensor. Per-layer names follow
// `layer_prefix` + the layer index + ".".
struct LlamaTensorNames {
  std::string token_embd, output_norm, output;
  std::string layer_prefix;
  std::string attn_norm, q, k, v, q_bias, k_bias, v_bias, o;
  std::string ffn_norm, gate, up, down;
  std::string qkv, gate_up;  // the fused projections (phi3)
};

const LlamaTensorNames& GgufLlamaNames();
const LlamaTensorNames& HfLlamaNames();

// INVALID_ARGUMENT starting with `source` unless the sizes are positive and
// consistent (heads a multiple of KV heads, an even head and rotary width
// within the attention op's limit).
absl::Status CheckLlamaConfig(const LlamaConfig& c, std::string_view source);

// Every weight but the RoPE frequencies. Fused checkpoints keep Q|K|V and
// gate|up in one tensor each, used as row views. Without an `output` tensor
// the embeddings are the LM head, unless `require_output`.
absl::StatusOr<LlamaWeights> LoadLlamaWeights(const WeightTable& weights, const LlamaConfig& c,
                                              const LlamaTensorNames& names, bool fused,
                                              bool require_output);

}  // namespace llmw
