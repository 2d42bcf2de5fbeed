// Scalar implementations of the row-wise ops; they are a small part of the
// step time next to the matmuls, and the compiler vectorises the inner loops.
// SiluMul, whose exp the compiler cannot vectorise, has an AVX2 path.
#include "kernels/cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/block_formats.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/simd_exp.h"

namespace llmw::cpu {

void Embed(float* out, const Tensor& table, const int32_t* tokens, int64_t n, float scale) {
  const int64_t width = table.row_elems();
  for (int64_t t = 0; t < n; ++t) {
    float* row = out + t * width;
    DequantizeRow(table.dtype(), table.row(tokens[t]), row, width);
    if (scale != 1.0f) Scale(row, row, scale, width);
  }
}

void RmsNorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
             float w_offset) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = out + r * dim;
    double sum_sq = 0;
    for (int64_t i = 0; i < dim; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
    const float scale = 1.0f / std::sqrt(static_cast<float>(sum_sq / dim) + eps);
    if (w_offset == 0.0f) {
      for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * scale * weight[i];
    } else {
      for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * scale * (weight[i] + w_offset);
    }
  }
}

void LayerNorm(float* out, const float* x, const float* weight, const float* bias, int64_t rows,
               int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = out + r * dim;
    double sum = 0;
    for (int64_t i = 0; i < dim; ++i) sum += xr[i];
    const float mean = static_cast<float>(sum / dim);
    double var = 0;
    for (int64_t i = 0; i < dim; ++i) var += static_cast<double>(xr[i] - mean) * (xr[i] - mean);
    const float scale = 1.0f / std::sqrt(static_cast<float>(var / dim) + eps);
    for (int64_t i = 0; i < dim; ++i) {
      yr[i] = (xr[i] - mean) * scale * weight[i] + (bias ? bias[i] : 0.0f);
    }
  }
}

void RopeAngles(float* cos, float* sin, const int32_t* positions, int64_t rows,
                const float* inv_freq, int64_t half_rot) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < half_rot; ++i) {
      const float angle = static_cast<float>(positions[r]) * inv_freq[i];
      cos[r * half_rot + i] = std::cos(angle);
      sin[r * half_rot + i] = std::sin(angle);
    }
  }
}

void Rope(float* x, const float* cos, const float* sin, int64_t rows, int64_t n_heads,
          int64_t head_dim, int64_t rot_dim, RopePairing pairing) {
  const int64_t half = rot_dim / 2;
  for (int64_t r = 0; r < rows; ++r) {
    const float* c = cos + r * half;
    const float* s = sin + r * half;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + (r * n_heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t a = pairing == RopePairing::kAdjacent ? 2 * i : i;
        const int64_t b = pairing == RopePairing::kAdjacent ? 2 * i + 1 : i + half;
        const float x0 = v[a];
        const float x1 = v[b];
        v[a] = x0 * c[i] - x1 * s[i];
        v[b] = x0 * s[i] + x1 * c[i];
      }
    }
  }
}

namespace {

#if defined(__x86_64__)
// Every element goes through the same vector code (the tail through a padded vector), so a
// result does not depend on where the element sits in the batch.
__attribute__((target("avx2,fma"))) inline __m256 SiluMul8(__m256 g, __m256 u) {
  const __m256 e = Exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
  return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

__attribute__((target("avx2,fma"))) void SiluMulAvx2(float* out, const float* gate, const float* up,
                                                     int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, SiluMul8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  }
  if (i < n) {
    float g[8] = {}, u[8] = {};
    std::copy(gate + i, gate + n, g);
    std::copy(up + i, up + n, u);
    _mm256_storeu_ps(g, SiluMul8(_mm256_loadu_ps(g), _mm256_loadu_ps(u)));
    std::copy(g, g + (n - i), out + i);
  }
}
#endif

}  // namespace

void SiluMul(float* out, const float* gate, const float* up, int64_t n) {
#if defined(__x86_64__)
  if (HasAvx2()) return SiluMulAvx2(out, gate, up, n);
#endif
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

namespace {

float GeluTanhOf(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

}  // namespace

void GeluTanh(float* out, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = GeluTanhOf(x[i]);
}

void GeluTanhMul(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = GeluTanhOf(gate[i]) * up[i];
}

void Scale(float* out, const float* x, float scale, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale;
}

void AddRowBias(float* x, const float* bias, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r) Add(x + r * width, x + r * width, bias, width);
}

void Add(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void GatherRows(float* out, const float* x, const int32_t* rows, int64_t n, int64_t width) {
  for (int64_t i = 0; i < n; ++i) {
    std::memmove(out + i * width, x + static_cast<int64_t>(rows[i]) * width, width * sizeof(float));
  }
}

void AddRmsNorm(float* out, float* residual, const float* x, const float* weight, int64_t rows,
                int64_t dim, float eps, float w_offset) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = residual + r * dim;
    Add(row, row, x + r * dim, dim);
    RmsNorm(out + r * dim, row, weight, 1, dim, eps, w_offset);
  }
}

void AddLayerNorm(float* out, float* residual, const float* x, const float* weight,
                  const float* bias, int64_t rows, int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = residual + r * dim;
    Add(row, row, x + r * dim, dim);
    LayerNorm(out + r * dim, row, weight, bias, 1, dim, eps);
  }
}

void RopeWriteKv(const PagedKvLayer& kv, float* q, float* k, const float* v, const float* cos,
                 const float* sin, const int32_t* slots, int64_t rows, int64_t n_heads,
                 int64_t rot_dim, RopePairing pairing) {
  Rope(q, cos, sin, rows, n_heads, kv.head_dim, rot_dim, pairing);
  Rope(k, cos, sin, rows, kv.n_kv_heads, kv.head_dim, rot_dim, pairing);
  WriteKv(kv, k, v, slots, rows);
}

}  // namespace llmw::cpu
