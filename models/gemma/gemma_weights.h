// Loading and checking Gemma 3's weights and hyper-parameters, shared by the
// GGUF and the safetensors loaders: the tensor names differ, and safetensors
// store each RMSNorm weight as w of (1 + w) where GGUF stores 1 + w.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "models/gemma/gemma_config.h"
#include "models/weight_table.h"

namespace llmw {

// Where one checkpoint kind keeps each tensor. Per-layer names follow
// `layer_prefix` + the layer index + ".".
struct GemmaTensorNames {
  std::string token_embd, output_norm;
  std::string layer_prefix;
  std::string attn_norm, q, k, v, q_norm, k_norm, o, post_attention_norm;
  std::string ffn_norm, gate, up, down, post_ffw_norm;
  float norm_offset;  // what RMSNorm adds to every norm weight
};

const GemmaTensorNames& GgufGemmaNames();
const GemmaTensorNames& HfGemmaNames();

// The most layers a checkpoint may declare (bounds what is allocated before
// the tensors are read).
inline constexpr int64_t kMaxGemmaLayers = 1024;

// Every `pattern`-th layer global (layer il when (il + 1) % pattern == 0), the
// rest local; at most kMaxGemmaLayers entries (CheckGemmaConfig refuses more
// layers). `pattern` must be positive.
std::vector<bool> EveryNthLayerGlobal(int64_t n_layers, int64_t pattern);

// INVALID_ARGUMENT starting with `source` unless the sizes are positive and
// consistent and there is one global/local flag per layer.
absl::Status CheckGemmaConfig(const GemmaConfig& c, std::string_view source);

// Every weight, and the RoPE frequencies of local and global layers.
absl::StatusOr<GemmaWeights> LoadGemmaWeights(const WeightTable& weights, const GemmaConfig& c,
                                              const GemmaTensorNames& names);

}  // namespace llmw
