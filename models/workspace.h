// A decoder's sizes, and the activations of one forward step allocated from them once, at load,
// for the largest step (max_tokens tokens), so that a step never allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "kernels/tensor.h"
#include "models/kv_cache/kv_cache.h"

namespace llmw {

struct ModelShape {
  int64_t n_layers = 0;
  int64_t hidden = 0;  // embedding width
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t ffn_hidden = 0;  // MLP inner width
  bool gated_ffn = true;   // gate and up projections (SwiGLU, GeGLU) rather than up alone
  int64_t vocab_size = 0;
  int64_t rope_dim = 0;     // dims of each head RoPE rotates
  int64_t rope_tables = 1;  // RoPE frequency sets (Gemma: local and global layers)

  int64_t q_width() const { return n_heads * head_dim; }
  int64_t kv_width() const { return n_kv_heads * head_dim; }
  // The widest activation a matmul takes as input.
  int64_t max_matmul_input() const;
  KvCacheShape kv(DType dtype) const { return {n_layers, n_kv_heads, head_dim, dtype}; }
};

// Every tensor is f32 [max_tokens, width]; a step uses its first n rows.
struct Workspace {
  static constexpr int kMaxRopeTables = 2;

  Tensor x;     // [hidden] the residual stream
  Tensor xn;    // [hidden] normed x, block outputs, the gathered rows that need logits
  Tensor q;     // [n_heads · head_dim]
  Tensor k, v;  // [n_kv_heads · head_dim]
  Tensor attn;  // [n_heads · head_dim] attention output
  Tensor out;   // [hidden] a second block output (parallel blocks)
  Tensor gate;  // [ffn_hidden] only with a gated MLP
  Tensor up;    // [ffn_hidden]
  Tensor cos[kMaxRopeTables], sin[kMaxRopeTables];  // [rope_dim / 2] per RoPE table

  std::vector<Buffer> memory;
};

// INVALID_ARGUMENT unless every size is positive and consistent.
absl::Status CheckModelShape(const ModelShape& shape);

absl::StatusOr<Workspace> AllocateWorkspace(Backend& backend, const ModelShape& shape,
                                            int64_t max_tokens);

// The first `n` rows of `t`.
inline Tensor Rows(const Tensor& t, int64_t n) { return t.SliceRows(0, n); }

}  // namespace llmw
