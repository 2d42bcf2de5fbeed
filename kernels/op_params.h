// Parameters of the forward-pass ops that every backend shares: how RoPE pairs a head's
// elements and how attention is masked and scaled.
#pragma once

#include <cstdint>

namespace llmw {

// Which elements of a head RoPE rotates together.
enum class RopePairing {
  kAdjacent,    // (x[2i], x[2i+1]): GGUF llama checkpoints (weights permuted by the converter)
  kRotateHalf,  // (x[i], x[i + rot_dim/2]): Hugging Face layout, qwen2, phi, gemma
};

// Largest head dimension the attention ops handle (the CPU's accumulator lives on the stack).
inline constexpr int64_t kMaxAttentionHeadDim = 512;

// The activation of a gated MLP: out = act(x·w_gateᵀ) · (x·w_upᵀ).
enum class GatedActivation {
  kSilu,      // SwiGLU: llama, mistral, qwen
  kGeluTanh,  // GeGLU with the tanh approximation: gemma
};

struct AttentionParams {
  int64_t n_heads = 0;  // query heads; n_heads % n_kv_heads == 0 (grouped-query)
  float scale = 1.0f;   // usually 1/sqrt(head_dim)
  int64_t window = 0;   // sliding window in tokens; 0 = attend to every earlier position
  float softcap = 0;    // scores become softcap * tanh(score / softcap); 0 = none
};

}  // namespace llmw
