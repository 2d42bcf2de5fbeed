// Element-wise and row-wise CPU ops of the forward pass, on row-major f32 activations (a row is
// one token's vector). The CPU twins of the Backend ops of the same names (kernels/backend.h):
// outputs first, then inputs, then sizes.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/paged_kv.h"
#include "kernels/tensor.h"

namespace llmw::cpu {

// out[t] = table[tokens[t]] · scale as f32 ([n, table width]); scale 1 leaves rows as stored.
void Embed(float* out, const Tensor& table, const int32_t* tokens, int64_t n, float scale);

// out[r] = x[r] / sqrt(mean(x[r]²) + eps) · (weight + w_offset), for `rows` rows of `dim`.
// `out` may be `x`.
void RmsNorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
             float w_offset);

// out[r] = (x[r] - mean) / sqrt(var + eps) · weight + bias.
void LayerNorm(float* out, const float* x, const float* weight, const float* bias, int64_t rows,
               int64_t dim, float eps);

// cos/sin[r][i] of positions[r] · inv_freq[i] for i < half_rot.
void RopeAngles(float* cos, float* sin, const int32_t* positions, int64_t rows,
                const float* inv_freq, int64_t half_rot);

// Rotates the first `rot_dim` dims of every head of each row of x in place. `cos` and `sin`
// hold rot_dim/2 angles per row (see RopeAngles).
void Rope(float* x, const float* cos, const float* sin, int64_t rows, int64_t n_heads,
          int64_t head_dim, int64_t rot_dim, RopePairing pairing);

// out[i] = silu(gate[i]) · up[i] over n elements; out may be gate or up.
void SiluMul(float* out, const float* gate, const float* up, int64_t n);

// out[i] = gelu_tanh(x[i]) over n elements.
void GeluTanh(float* out, const float* x, int64_t n);

// out[i] = gelu_tanh(gate[i]) · up[i] over n elements (GeGLU with the tanh approximation:
// 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))).
void GeluTanhMul(float* out, const float* gate, const float* up, int64_t n);

// out[i] = x[i] · scale over n elements.
void Scale(float* out, const float* x, float scale, int64_t n);

// x[r][i] += bias[i] for `rows` rows of `width`.
void AddRowBias(float* x, const float* bias, int64_t rows, int64_t width);

// out[i] = a[i] + b[i] over n elements.
void Add(float* out, const float* a, const float* b, int64_t n);

// out[i] = x[rows[i]] for n rows of `width`.
void GatherRows(float* out, const float* x, const int32_t* rows, int64_t n, int64_t width);

// Fused ops: each is the sequence of the ops above that it names, with the same results bit for
// bit, done row by row.

// residual[r] += x[r], then out[r] = RmsNorm(residual[r]). `out` may be `x`.
void AddRmsNorm(float* out, float* residual, const float* x, const float* weight, int64_t rows,
                int64_t dim, float eps, float w_offset);

// residual[r] += x[r], then out[r] = LayerNorm(residual[r]). `out` may be `x`.
void AddLayerNorm(float* out, float* residual, const float* x, const float* weight,
                  const float* bias, int64_t rows, int64_t dim, float eps);

// Rope of q ([rows, n_heads · kv.head_dim]) and k ([rows, kv.token_stride()]) in place, then
// WriteKv of k and v at `slots` (kernels/cpu/attention.h).
void RopeWriteKv(const PagedKvLayer& kv, float* q, float* k, const float* v, const float* cos,
                 const float* sin, const int32_t* slots, int64_t rows, int64_t n_heads,
                 int64_t rot_dim, RopePairing pairing);

}  // namespace llmw::cpu
