// Element-wise and row-wise CPU ops of the forward pass. Each op works on
// row-major f32 activations; a row is one token's vector.
#pragma once

#include <cstdint>

namespace llmw::cpu {

// out[r] = x[r] / sqrt(mean(x[r]²) + eps) * weight, for `rows` rows of `dim`.
void RmsNorm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out);

// out[r] = (x[r] - mean) / sqrt(var + eps) * weight + bias.
void LayerNorm(const float* x, const float* weight, const float* bias, int64_t rows, int64_t dim,
               float eps, float* out);

// Which elements of a head RoPE rotates together.
enum class RopePairing {
  kAdjacent,    // (x[2i], x[2i+1]): GGUF llama checkpoints (weights permuted by the converter)
  kRotateHalf,  // (x[i], x[i + rot_dim/2]): Hugging Face layout, qwen2, phi, gemma
};

// Rotates the first `rot_dim` dims of every head of each row in place. `cos`
// and `sin` hold rot_dim/2 angles per row (see RopeAngles).
void Rope(float* x, int64_t rows, int64_t n_heads, int64_t head_dim, int64_t rot_dim,
          RopePairing pairing, const float* cos, const float* sin);

// cos/sin[r][i] of positions[r] * inv_freq[i] for i < rot_dim/2.
void RopeAngles(const int32_t* positions, int64_t rows, const float* inv_freq, int64_t half_rot,
                float* cos, float* sin);

// gate[i] = silu(gate[i]) * up[i] over n elements.
void SiluMul(float* gate, const float* up, int64_t n);

// x[i] = gelu_tanh(x[i]) over n elements.
void GeluTanh(float* x, int64_t n);

// gate[i] = gelu_tanh(gate[i]) * up[i] over n elements (GeGLU with the tanh
// approximation: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))).
void GeluTanhMul(float* gate, const float* up, int64_t n);

// x[i] *= scale over n elements.
void Scale(float* x, float scale, int64_t n);

// x[r][i] += bias[i] for `rows` rows of `width`.
void AddRowBias(float* x, const float* bias, int64_t rows, int64_t width);

// x[i] += y[i] over n elements.
void AddInPlace(float* x, const float* y, int64_t n);

// In-place softmax over n elements (numerically stable).
void Softmax(float* x, int64_t n);

}  // namespace llmw::cpu
