// Hyper-parameters and weights of Gemma 3: pre- and post-norms around both
// blocks, per-head RMSNorm of queries and keys, GeGLU (tanh GELU), embeddings
// scaled by √hidden, and sliding-window layers with every 6th layer global
// (local layers use their own RoPE base).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/tensor.h"
#include "models/host_arena.h"

namespace llmw {

struct GemmaConfig {
  int64_t n_layers = 0;
  int64_t hidden = 0;
  int64_t ffn_hidden = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;  // not hidden / n_heads in general (Gemma 3 270M: 256 vs 160)
  float rms_eps = 1e-6f;
  float attention_scale = 0;  // query_pre_attn_scalar^-1/2
  float rope_base_global = 1e6f;
  float rope_base_local = 1e4f;
  float rope_scale_global = 1;  // positions are divided by this on global layers
  int64_t sliding_window = 0;
  std::vector<bool> global_layers;  // per layer: full attention and the global RoPE base
  int64_t context_length = 0;
  int64_t vocab_size = 0;

  bool IsGlobal(int64_t layer) const { return global_layers[layer]; }
};

// RMSNorm multiplies by (w + norm_offset): GGUF stores 1 + w already (the converter added the 1
// of Gemma's (1 + w)), safetensors store w.
struct GemmaLayerWeights {
  Tensor attn_norm;            // [hidden] f32
  Tensor wq;                   // [n_heads * head_dim, hidden]
  Tensor wk;                   // [n_kv_heads * head_dim, hidden]
  Tensor wv;                   // [n_kv_heads * head_dim, hidden]
  Tensor q_norm;               // [head_dim] f32
  Tensor k_norm;               // [head_dim] f32
  Tensor wo;                   // [hidden, n_heads * head_dim]
  Tensor post_attention_norm;  // [hidden] f32
  Tensor ffn_norm;             // [hidden] f32
  Tensor w_gate;               // [ffn_hidden, hidden]
  Tensor w_up;                 // [ffn_hidden, hidden]
  Tensor w_down;               // [hidden, ffn_hidden]
  Tensor post_ffw_norm;        // [hidden] f32
};

struct GemmaWeights {
  Tensor token_embd;                      // [vocab, hidden]; also the LM head (tied)
  std::vector<GemmaLayerWeights> layers;  // [n_layers]
  Tensor output_norm;                     // [hidden] f32
  float norm_offset = 0;                  // 0 (GGUF) or 1 (safetensors)
  Tensor rope_inv_freq_local;             // [head_dim / 2] f32
  Tensor rope_inv_freq_global;            // [head_dim / 2] f32, divided by rope_scale_global
  HostArena host;                         // the f32 vectors above
};

}  // namespace llmw
