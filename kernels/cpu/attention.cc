// Paged attention with a single-pass (online) softmax per query head, so no
// score buffer proportional to the context is needed.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/cpu/simd_exp.h"
#include "kernels/cpu/thread_pool.h"

namespace llmw::cpu {
namespace {

// Most query heads one task attends together.
constexpr int64_t kMaxGroupHeads = 8;

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
// Lane t = the sum of the lanes of v[t].
__attribute__((target("avx2,fma"))) inline __m256 SumLanes8(const __m256 v[8]) {
  const __m256 a = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
  const __m256 b = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
}

__attribute__((target("avx2,fma"))) inline float MaxLanes(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

__attribute__((target("avx2,fma"))) inline float SumLanes(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// The online softmax of the query heads [head, head + heads) (which share one KV head) over
// tiles of 8 positions from the first attended one: each K and V row is read once for all of
// them, a tile's 8 dot products run side by side, its weights come from one vector exp, and the
// running state is rescaled once per tile (head_dim a multiple of 8). Each head's arithmetic is
// the same whatever `heads` is.
__attribute__((target("avx2,fma"))) void AttendHeadsAvx2(const float* q, int64_t pos, int64_t head,
                                                         int64_t heads, const int32_t* block_table,
                                                         const PagedKvLayer& kv,
                                                         const AttentionParams& params,
                                                         float* out) {
  const int64_t d = kv.head_dim;
  const int64_t nv = d / 8;
  const int64_t kv_head = head / (params.n_heads / kv.n_kv_heads);
  const int64_t first = params.window > 0 ? std::max<int64_t>(0, pos - params.window + 1) : 0;
  const __m256 lane_index = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
  constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

  __m256 acc[kMaxGroupHeads][kMaxAttentionHeadDim / 8];
  float running_max[kMaxGroupHeads], running_sum[kMaxGroupHeads];
  for (int64_t g = 0; g < heads; ++g) {
    for (int64_t v = 0; v < nv; ++v) acc[g][v] = _mm256_setzero_ps();
    running_max[g] = kMinusInf;
    running_sum[g] = 0;
  }
  // Positions past the end of the last tile read zeros (and get weight 0).
  static constexpr float kZeros[kMaxAttentionHeadDim] = {};
  const float* keys[8];
  const float* values[8];
  auto locate = [&](int64_t j0) {
    for (int t = 0; t < 8; ++t) {
      const bool in = j0 + t <= pos;
      keys[t] = in ? kv.KeyAt(block_table, j0 + t) + kv_head * d : kZeros;
      values[t] = in ? kv.ValueAt(block_table, j0 + t) + kv_head * d : kZeros;
    }
  };
  locate(first);
  for (int64_t j0 = first; j0 <= pos; j0 += 8) {
    const int count = static_cast<int>(std::min<int64_t>(8, pos - j0 + 1));
    const __m256 valid =
        _mm256_cmp_ps(lane_index, _mm256_set1_ps(static_cast<float>(count)), _CMP_LT_OQ);
    // Rows of the next tile, fetched while this one computes.
    for (int64_t t = 0; t < 8 && j0 + 8 + t <= pos; ++t) {
      const char* k =
          reinterpret_cast<const char*>(kv.KeyAt(block_table, j0 + 8 + t) + kv_head * d);
      const char* v =
          reinterpret_cast<const char*>(kv.ValueAt(block_table, j0 + 8 + t) + kv_head * d);
      for (int64_t off = 0; off < d * 4; off += 64) {
        _mm_prefetch(k + off, _MM_HINT_T0);
        _mm_prefetch(v + off, _MM_HINT_T0);
      }
    }
    alignas(32) float w[kMaxGroupHeads][8];
    float rescale[kMaxGroupHeads];
    for (int64_t g = 0; g < heads; ++g) {
      const float* qg = q + g * d;
      __m256 dots[8];
      for (int t = 0; t < 8; ++t) dots[t] = _mm256_setzero_ps();
      for (int64_t v = 0; v < nv; ++v) {
        const __m256 qv = _mm256_loadu_ps(qg + 8 * v);
        for (int t = 0; t < 8; ++t) {
          dots[t] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(keys[t] + 8 * v), dots[t]);
        }
      }
      const __m256 scores =
          _mm256_blendv_ps(_mm256_set1_ps(kMinusInf),
                           _mm256_mul_ps(SumLanes8(dots), _mm256_set1_ps(params.scale)), valid);
      const float new_max = std::max(running_max[g], MaxLanes(scores));
      const __m256 weights =
          _mm256_and_ps(Exp8(_mm256_sub_ps(scores, _mm256_set1_ps(new_max))), valid);
      rescale[g] = running_max[g] == kMinusInf
                       ? 0.0f
                       : _mm256_cvtss_f32(Exp8(_mm256_set1_ps(running_max[g] - new_max)));
      running_sum[g] = running_sum[g] * rescale[g] + SumLanes(weights);
      running_max[g] = new_max;
      _mm256_store_ps(w[g], weights);
    }
    for (int64_t g = 0; g < heads; ++g) {
      const __m256 r = _mm256_set1_ps(rescale[g]);
      for (int64_t v = 0; v < nv; ++v) {
        __m256 a = _mm256_mul_ps(acc[g][v], r);
        for (int t = 0; t < 8; ++t) {
          a = _mm256_fmadd_ps(_mm256_broadcast_ss(&w[g][t]), _mm256_loadu_ps(values[t] + 8 * v), a);
        }
        acc[g][v] = a;
      }
    }
    locate(j0 + 8);
  }
  for (int64_t g = 0; g < heads; ++g) {
    const __m256 inv = _mm256_set1_ps(1.0f / running_sum[g]);
    for (int64_t v = 0; v < nv; ++v) {
      _mm256_storeu_ps(out + g * d + 8 * v, _mm256_mul_ps(acc[g][v], inv));
    }
  }
}
#endif

// Heads [head, head + heads) of one query.
using AttendFn = void (*)(const float*, int64_t, int64_t, int64_t, const int32_t*,
                          const PagedKvLayer&, const AttentionParams&, float*);

void AttendHeads(const float* q, int64_t pos, int64_t head, int64_t heads,
                 const int32_t* block_table, const PagedKvLayer& kv, const AttentionParams& params,
                 float* out) {
  for (int64_t g = 0; g < heads; ++g) {
    AttendOneHead(q + g * kv.head_dim, pos, head + g, block_table, kv, params,
                  out + g * kv.head_dim);
  }
}

// The variant for this CPU and head size; every call of one process uses the
// same one, so results stay independent of the batch.
AttendFn PickAttend(int64_t head_dim) {
#if defined(__x86_64__)
  if (head_dim % 8 == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return AttendHeadsAvx2;
  }
#endif
  (void)head_dim;
  return AttendHeads;
}

}  // namespace

void PagedAttention(const float* q, int64_t n_tokens, int64_t first_pos, const int32_t* block_table,
                    const PagedKvLayer& kv, const AttentionParams& params, float* out,
                    ThreadPool& pool) {
  const AttentionChunk chunk{q, n_tokens, first_pos, block_table, out};
  PagedAttentionBatch(&chunk, 1, kv, params, pool);
}

void PagedAttentionBatch(const AttentionChunk* chunks, int64_t n_chunks, const PagedKvLayer& kv,
                         const AttentionParams& params, ThreadPool& pool) {
  const int64_t d = kv.head_dim;
  const AttendFn attend = PickAttend(d);
  // A task is a group of one token's query heads that share a KV head: the largest divisor of
  // their number up to kMaxGroupHeads.
  const int64_t per_kv_head = params.n_heads / kv.n_kv_heads;
  int64_t group = std::min(per_kv_head, kMaxGroupHeads);
  while (per_kv_head % group != 0) --group;
  const int64_t n_heads = params.n_heads / group;  // tasks per token
  int64_t n_tasks = 0;
  for (int64_t i = 0; i < n_chunks; ++i) n_tasks += chunks[i].n_tokens * n_heads;
  pool.ParallelFor(n_tasks, [&](int64_t begin, int64_t end) {
    // Tasks run chunk by chunk, token-major within a chunk; find the chunk of `begin`.
    int64_t i = 0, first_task = 0;
    while (first_task + chunks[i].n_tokens * n_heads <= begin) {
      first_task += chunks[i].n_tokens * n_heads;
      ++i;
    }
    for (int64_t task = begin; task < end; ++task) {
      while (task >= first_task + chunks[i].n_tokens * n_heads) {
        first_task += chunks[i].n_tokens * n_heads;
        ++i;
      }
      const AttentionChunk& c = chunks[i];
      const int64_t t = (task - first_task) / n_heads;
      const int64_t h = (task - first_task) % n_heads * group;
      const int64_t offset = (t * params.n_heads + h) * d;
      attend(c.q + offset, c.first_pos + t, h, group, c.block_table, kv, params, c.out + offset);
    }
  });
}

}  // namespace llmw::cpu
