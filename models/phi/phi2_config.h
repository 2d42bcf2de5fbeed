// Hyper-parameters and weights of Phi-2: one LayerNorm (with bias) feeds
// attention and the MLP in parallel, x + attn(ln x) + mlp(ln x); every linear
// has a bias (the LM head too); RoPE rotates only the first rope_dim dims of
// each head, rotate-half; the MLP is fc2(gelu_tanh(fc1 x)).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/tensor.h"
#include "models/host_arena.h"

namespace llmw {

struct Phi2Config {
  int64_t n_layers = 0;
  int64_t hidden = 0;
  int64_t ffn_hidden = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t rope_dim = 0;  // partial rotary: 32 of 80 for Phi-2
  float rope_base = 10000.0f;
  float norm_eps = 1e-5f;
  int64_t context_length = 0;
  int64_t vocab_size = 0;
};

// Vectors (norms, biases) are f32.
struct Phi2LayerWeights {
  Tensor norm_w, norm_b;  // [hidden]
  Tensor wq, wk, wv;      // [n_heads * head_dim, hidden], [n_kv * head_dim, hidden] ×2
  Tensor bq, bk, bv;
  Tensor wo;      // [hidden, n_heads * head_dim]
  Tensor bo;      // [hidden]
  Tensor w_up;    // [ffn_hidden, hidden] (fc1)
  Tensor b_up;    // [ffn_hidden]
  Tensor w_down;  // [hidden, ffn_hidden] (fc2)
  Tensor b_down;  // [hidden]
};

struct Phi2Weights {
  Tensor token_embd;                     // [vocab, hidden]
  std::vector<Phi2LayerWeights> layers;  // [n_layers]
  Tensor output_norm_w, output_norm_b;   // [hidden]
  Tensor output;                         // [vocab, hidden]
  Tensor output_b;                       // [vocab]
  Tensor rope_inv_freq;                  // [rope_dim / 2]
  HostArena host;                        // the f32 vectors above
};

}  // namespace llmw
