// Paged attention with a single-pass (online) softmax per query head, so no
// score buffer proportional to the context is needed.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/simd_exp.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/fp16.h"

namespace llmw::cpu {
namespace {

// Most query heads one task attends together.
constexpr int64_t kMaxGroupHeads = 8;

// How attention reads the cache's elements as f32: one, or eight into a vector.
struct F32Elems {
  using T = float;
  static float Load(const T* p) { return *p; }
#if defined(__x86_64__)
  __attribute__((target("avx2,fma,f16c"))) static __m256 Load8(const T* p) {
    return _mm256_loadu_ps(p);
  }
#endif
};

struct F16Elems {
  using T = uint16_t;
  static float Load(const T* p) { return Fp16ToFp32(*p); }
#if defined(__x86_64__)
  __attribute__((target("avx2,fma,f16c"))) static __m256 Load8(const T* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
#endif
};

struct Bf16Elems {
  using T = uint16_t;
  static float Load(const T* p) { return Bf16ToFp32(*p); }
#if defined(__x86_64__)
  __attribute__((target("avx2,fma,f16c"))) static __m256 Load8(const T* p) {
    const __m256i wide =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
#endif
};

float Softcap(float score, float cap) { return cap > 0 ? cap * std::tanh(score / cap) : score; }

template <typename E>
float Dot(const float* a, const typename E::T* b, int64_t n) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * E::Load(b + i);
  return sum;
}

template <typename E>
void AttendOneHead(const float* q, int64_t pos, int64_t head, const int32_t* block_table,
                   const PagedKvLayer& kv, const AttentionParams& params, float* out) {
  using T = typename E::T;
  const int64_t d = kv.head_dim;
  const int64_t kv_head = head / (params.n_heads / kv.n_kv_heads);
  const int64_t first = params.window > 0 ? std::max<int64_t>(0, pos - params.window + 1) : 0;

  float acc[kMaxAttentionHeadDim] = {};
  float running_max = -std::numeric_limits<float>::infinity();
  float running_sum = 0;
  for (int64_t j = first; j <= pos; ++j) {
    const T* key = kv.KeyAt<T>(block_table, j) + kv_head * d;
    const T* value = kv.ValueAt<T>(block_table, j) + kv_head * d;
    const float score = Softcap(Dot<E>(q, key, d) * params.scale, params.softcap);
    if (score > running_max) {
      const float rescale = std::exp(running_max - score);
      running_sum *= rescale;
      for (int64_t i = 0; i < d; ++i) acc[i] *= rescale;
      running_max = score;
    }
    const float w = std::exp(score - running_max);
    running_sum += w;
    for (int64_t i = 0; i < d; ++i) acc[i] += w * E::Load(value + i);
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
template <typename E>
__attribute__((target("avx2,fma,f16c"))) void AttendHeadsAvx2(
    const float* q, int64_t pos, int64_t head, int64_t heads, const int32_t* block_table,
    const PagedKvLayer& kv, const AttentionParams& params, float* out) {
  using T = typename E::T;
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
  static constexpr T kZeros[kMaxAttentionHeadDim] = {};
  const T* keys[8];
  const T* values[8];
  auto locate = [&](int64_t j0) {
    for (int t = 0; t < 8; ++t) {
      const bool in = j0 + t <= pos;
      keys[t] = in ? kv.KeyAt<T>(block_table, j0 + t) + kv_head * d : kZeros;
      values[t] = in ? kv.ValueAt<T>(block_table, j0 + t) + kv_head * d : kZeros;
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
          reinterpret_cast<const char*>(kv.KeyAt<T>(block_table, j0 + 8 + t) + kv_head * d);
      const char* v =
          reinterpret_cast<const char*>(kv.ValueAt<T>(block_table, j0 + 8 + t) + kv_head * d);
      for (int64_t off = 0; off < d * static_cast<int64_t>(sizeof(T)); off += 64) {
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
          dots[t] = _mm256_fmadd_ps(qv, E::Load8(keys[t] + 8 * v), dots[t]);
        }
      }
      __m256 scaled = _mm256_mul_ps(SumLanes8(dots), _mm256_set1_ps(params.scale));
      if (params.softcap > 0) {
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, scaled);
        for (float& x : lanes) x = Softcap(x, params.softcap);
        scaled = _mm256_load_ps(lanes);
      }
      const __m256 scores = _mm256_blendv_ps(_mm256_set1_ps(kMinusInf), scaled, valid);
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
          a = _mm256_fmadd_ps(_mm256_broadcast_ss(&w[g][t]), E::Load8(values[t] + 8 * v), a);
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

template <typename E>
void AttendHeads(const float* q, int64_t pos, int64_t head, int64_t heads,
                 const int32_t* block_table, const PagedKvLayer& kv, const AttentionParams& params,
                 float* out) {
  for (int64_t g = 0; g < heads; ++g) {
    AttendOneHead<E>(q + g * kv.head_dim, pos, head + g, block_table, kv, params,
                     out + g * kv.head_dim);
  }
}

template <typename E>
AttendFn PickAttendFor(int64_t head_dim) {
#if defined(__x86_64__)
  if (head_dim % 8 == 0 && HasAvx2()) {
    return AttendHeadsAvx2<E>;
  }
#endif
  (void)head_dim;
  return AttendHeads<E>;
}

// The variant for this CPU, cache dtype and head size; every call of one process uses the same
// one, so results stay independent of the batch.
AttendFn PickAttend(DType dtype, int64_t head_dim) {
  switch (dtype) {
    case DType::kF16:
      return PickAttendFor<F16Elems>(head_dim);
    case DType::kBF16:
      return PickAttendFor<Bf16Elems>(head_dim);
    default:
      return PickAttendFor<F32Elems>(head_dim);
  }
}

template <typename T, T (*kConvert)(float)>
void StoreConverted(T* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = kConvert(src[i]);
}

void StoreRow(const PagedKvLayer& kv, void* base, int64_t offset, const float* src) {
  const int64_t n = kv.token_stride();
  switch (kv.dtype) {
    case DType::kF16:
      return StoreConverted<uint16_t, Fp32ToFp16>(static_cast<uint16_t*>(base) + offset, src, n);
    case DType::kBF16:
      return StoreConverted<uint16_t, Fp32ToBf16>(static_cast<uint16_t*>(base) + offset, src, n);
    default:
      std::memcpy(static_cast<float*>(base) + offset, src, n * sizeof(float));
  }
}

}  // namespace

void WriteKv(const PagedKvLayer& kv, const float* k, const float* v, const int32_t* slots,
             int64_t n) {
  const int64_t width = kv.token_stride();
  for (int64_t t = 0; t < n; ++t) {
    const int64_t offset = static_cast<int64_t>(slots[t]) * width;
    StoreRow(kv, kv.k, offset, k + t * width);
    StoreRow(kv, kv.v, offset, v + t * width);
  }
}

void PagedAttention(float* out, const float* q, const PagedKvLayer& kv, const StepLayout& step,
                    const AttentionParams& params, ThreadPool& pool) {
  const int64_t d = kv.head_dim;
  const AttendFn attend = PickAttend(kv.dtype, d);
  // A task is a group of one token's query heads that share a KV head: the largest divisor of
  // their number up to kMaxGroupHeads.
  const int64_t per_kv_head = params.n_heads / kv.n_kv_heads;
  int64_t group = std::min(per_kv_head, kMaxGroupHeads);
  while (per_kv_head % group != 0) --group;
  const int64_t tasks_per_token = params.n_heads / group;
  const StepChunk* chunks = step.chunks;
  pool.ParallelFor(step.n_tokens * tasks_per_token, [&](int64_t begin, int64_t end) {
    // Tasks run token-major in step order; find the chunk of `begin`'s token.
    int64_t c = 0;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / tasks_per_token;
      while (t >= chunks[c].first_token + chunks[c].n_tokens) ++c;
      const StepChunk& chunk = chunks[c];
      const int64_t h = task % tasks_per_token * group;
      const int64_t offset = (t * params.n_heads + h) * d;
      attend(q + offset, chunk.start_pos + (t - chunk.first_token), h, group,
             step.block_tables + chunk.block_table, kv, params, out + offset);
    }
  });
}

}  // namespace llmw::cpu
