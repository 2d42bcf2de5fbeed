// Hyper-parameters and weights of the llama architecture (Llama 2/3, Mistral,
// SmolLM2): pre-norm RMSNorm blocks, grouped-query attention with RoPE, and a
// SwiGLU MLP, no biases.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/op_params.h"
#include "kernels/tensor.h"
#include "models/host_arena.h"

namespace llmw {

struct LlamaConfig {
  int64_t n_layers = 0;
  int64_t hidden = 0;      // embedding width
  int64_t ffn_hidden = 0;  // MLP inner width
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t rope_dim = 0;  // leading dims of each head that RoPE rotates
  float rope_base = 10000.0f;
  float rms_eps = 1e-5f;
  int64_t context_length = 0;
  int64_t vocab_size = 0;
  int64_t sliding_window = 0;  // 0: full attention
  bool qkv_bias = false;       // Q, K and V projections have biases (qwen2)
  RopePairing rope_pairing = RopePairing::kAdjacent;
};

struct LlamaLayerWeights {
  Tensor attn_norm;   // [hidden] f32
  Tensor wq;          // [n_heads * head_dim, hidden]
  Tensor wk;          // [n_kv_heads * head_dim, hidden]
  Tensor wv;          // [n_kv_heads * head_dim, hidden]
  Tensor bq, bk, bv;  // [n_heads * head_dim], [n_kv_heads * head_dim] ×2 f32; qkv_bias only
  Tensor wo;          // [hidden, n_heads * head_dim]
  Tensor ffn_norm;    // [hidden] f32
  Tensor w_gate;      // [ffn_hidden, hidden]
  Tensor w_up;        // [ffn_hidden, hidden]
  Tensor w_down;      // [hidden, ffn_hidden]
};

struct LlamaWeights {
  Tensor token_embd;                      // [vocab, hidden]
  std::vector<LlamaLayerWeights> layers;  // [n_layers]
  Tensor output_norm;                     // [hidden] f32
  Tensor output;                          // [vocab, hidden]; token_embd when tied
  Tensor rope_inv_freq;                   // [rope_dim / 2] f32, after any frequency scaling
  HostArena host;                         // the f32 vectors above
};

// inv_freq[i] = base^(-2i / rope_dim) / factor[i] (factors from a `rope_freqs`
// tensor, Llama 3.1 style; empty = all 1).
std::vector<float> RopeInverseFrequencies(int64_t rope_dim, float base,
                                          const std::vector<float>& factors);

}  // namespace llmw
