// Paged attention with a single-pass (online) softmax per query head, so no
// score buffer proportional to the context is needed.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/thread_pool.h"

namespace llmw::cpu {
namespace {

constexpr int64_t kMaxHeadDim = 512;

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

  float acc[kMaxHeadDim] = {};
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

}  // namespace

void PagedAttention(const float* q, int64_t n_tokens, int64_t first_pos, const int32_t* block_table,
                    const PagedKvLayer& kv, const AttentionParams& params, float* out,
                    ThreadPool& pool) {
  const int64_t n_heads = params.n_heads;
  const int64_t d = kv.head_dim;
  pool.ParallelFor(n_tokens * n_heads, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / n_heads;
      const int64_t h = task % n_heads;
      const int64_t offset = (t * n_heads + h) * d;
      AttendOneHead(q + offset, first_pos + t, h, block_table, kv, params, out + offset);
    }
  });
}

}  // namespace llmw::cpu
