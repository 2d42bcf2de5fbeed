// Paged attention with a single-pass (online) softmax per query head, so no
// score buffer proportional to the context is needed.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/cpu/thread_pool.h"

namespace llmw::cpu {
namespace {

float Dot(const float* a, const float* b, int64_t n) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void AttendOneHead(const float* q, int64_t pos, int64_t head, const int32_t* block_table,
                   const PagedKvLayer& kv, const AttentionParams& params, float* out) {
  const int64_t d = kv.head_dim;
  const int64_t kv_head = head / (params.n_heads / kv.n_kv_heads);
  const int64_t first = params.window > 0 ? std::max<int64_t>(0, pos - params.window + 1) : 0;

  float acc[kMaxAttentionHeadDim] = {};
  float running_max = -std::numeric_limits<float>::infinity();
  float running_sum = 0;
  for (int64_t j = first; j <= pos; ++j) {
    const float* key = kv.KeyAt(block_table, j) + kv_head * d;
    const float* value = kv.ValueAt(block_table, j) + kv_head * d;
    const float score = Dot(q, key, d) * params.scale;
    if (score > running_max) {
      const float rescale = std::exp(running_max - score);
      running_sum *= rescale;
      for (int64_t i = 0; i < d; ++i) acc[i] *= rescale;
      running_max = score;
    }
    const float w = std::exp(score - running_max);
    running_sum += w;
    for (int64_t i = 0; i < d; ++i) acc[i] += w * value[i];
  }
  const float inv = 1.0f / running_sum;
  for (int64_t i = 0; i < d; ++i) out[i] = acc[i] * inv;
}

#if defined(__x86_64__)
// The same online softmax with the dot products and value updates on 8-lane
// AVX2 vectors (head_dim a multiple of 8).
__attribute__((target("avx2,fma"))) void AttendOneHeadAvx2(const float* q, int64_t pos,
                                                           int64_t head, const int32_t* block_table,
                                                           const PagedKvLayer& kv,
                                                           const AttentionParams& params,
                                                           float* out) {
  const int64_t d = kv.head_dim;
  const int64_t nv = d / 8;
  const int64_t kv_head = head / (params.n_heads / kv.n_kv_heads);
  const int64_t first = params.window > 0 ? std::max<int64_t>(0, pos - params.window + 1) : 0;

  __m256 acc[kMaxAttentionHeadDim / 8];
  for (int64_t v = 0; v < nv; ++v) acc[v] = _mm256_setzero_ps();
  float running_max = -std::numeric_limits<float>::infinity();
  float running_sum = 0;
  for (int64_t j = first; j <= pos; ++j) {
    const float* key = kv.KeyAt(block_table, j) + kv_head * d;
    const float* value = kv.ValueAt(block_table, j) + kv_head * d;
    __m256 dot = _mm256_setzero_ps();
    for (int64_t v = 0; v < nv; ++v) {
      dot = _mm256_fmadd_ps(_mm256_loadu_ps(q + 8 * v), _mm256_loadu_ps(key + 8 * v), dot);
    }
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(dot), _mm256_extractf128_ps(dot, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    const float score = _mm_cvtss_f32(half) * params.scale;
    if (score > running_max) {
      const float rescale = std::exp(running_max - score);
      running_sum *= rescale;
      const __m256 r = _mm256_set1_ps(rescale);
      for (int64_t v = 0; v < nv; ++v) acc[v] = _mm256_mul_ps(acc[v], r);
      running_max = score;
    }
    const float w = std::exp(score - running_max);
    running_sum += w;
    const __m256 wv = _mm256_set1_ps(w);
    for (int64_t v = 0; v < nv; ++v) {
      acc[v] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(value + 8 * v), acc[v]);
    }
  }
  const __m256 inv = _mm256_set1_ps(1.0f / running_sum);
  for (int64_t v = 0; v < nv; ++v) _mm256_storeu_ps(out + 8 * v, _mm256_mul_ps(acc[v], inv));
}
#endif

using AttendFn = void (*)(const float*, int64_t, int64_t, const int32_t*, const PagedKvLayer&,
                          const AttentionParams&, float*);

// The variant for this CPU and head size; every call of one process uses the
// same one, so results stay independent of the batch.
AttendFn PickAttend(int64_t head_dim) {
#if defined(__x86_64__)
  if (head_dim % 8 == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return AttendOneHeadAvx2;
  }
#endif
  (void)head_dim;
  return AttendOneHead;
}

}  // namespace

void PagedAttention(const float* q, int64_t n_tokens, int64_t first_pos, const int32_t* block_table,
                    const PagedKvLayer& kv, const AttentionParams& params, float* out,
                    ThreadPool& pool) {
  const int64_t n_heads = params.n_heads;
  const int64_t d = kv.head_dim;
  const AttendFn attend = PickAttend(d);
  pool.ParallelFor(n_tokens * n_heads, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / n_heads;
      const int64_t h = task % n_heads;
      const int64_t offset = (t * n_heads + h) * d;
      attend(q + offset, first_pos + t, h, block_table, kv, params, out + offset);
    }
  });
}

}  // namespace llmw::cpu
