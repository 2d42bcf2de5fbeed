// PagedAttention against a dense, double-precision attention over the same
// keys and values, with blocks scattered through the cache.
#include "kernels/cpu/attention.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/thread_pool.h"

namespace llmw::cpu {
namespace {

struct CacheData {
  int64_t n_heads = 6, n_kv_heads = 2, head_dim = 16, block_size = 4, num_blocks = 12;
  int64_t seq_len = 23;
  std::vector<float> k, v;              // cache storage
  std::vector<int32_t> block_table;     // logical → physical, deliberately shuffled
  std::vector<float> dense_k, dense_v;  // [seq_len, n_kv_heads, head_dim]

  PagedKvLayer Layer() { return {k.data(), v.data(), block_size, n_kv_heads, head_dim}; }
};

CacheData MakeCacheData(std::mt19937& rng) {
  CacheData s;
  std::normal_distribution<float> normal;
  const int64_t token_stride = s.n_kv_heads * s.head_dim;
  s.k.assign(s.num_blocks * s.block_size * token_stride, NAN);  // unused slots poison results
  s.v.assign(s.k.size(), NAN);
  for (int32_t b : {7, 2, 11, 0, 5, 9}) s.block_table.push_back(b);
  for (int64_t pos = 0; pos < s.seq_len; ++pos) {
    for (int64_t i = 0; i < token_stride; ++i) {
      s.dense_k.push_back(normal(rng));
      s.dense_v.push_back(normal(rng));
    }
    PagedKvLayer layer = s.Layer();
    std::copy_n(s.dense_k.end() - token_stride, token_stride,
                layer.KeyAt(s.block_table.data(), pos));
    std::copy_n(s.dense_v.end() - token_stride, token_stride,
                layer.ValueAt(s.block_table.data(), pos));
  }
  return s;
}

// Attention of one sequence's `n_tokens` queries from position `first_pos`, as a step of one chunk.
void PagedAttention(const float* q, int64_t n_tokens, int64_t first_pos,
                    const std::vector<int32_t>& block_table, const PagedKvLayer& kv,
                    const AttentionParams& params, float* out, ThreadPool& pool) {
  const StepChunk chunk{0, static_cast<int32_t>(n_tokens), static_cast<int32_t>(first_pos), 0};
  StepLayout step;
  step.n_tokens = n_tokens;
  step.n_chunks = 1;
  step.chunks = &chunk;
  step.block_tables = block_table.data();
  cpu::PagedAttention(out, q, kv, step, params, pool);
}

std::vector<double> DenseAttention(const CacheData& s, const float* q, int64_t pos, int64_t window,
                                   float scale) {
  std::vector<double> out(s.n_heads * s.head_dim, 0.0);
  const int64_t first = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
  for (int64_t h = 0; h < s.n_heads; ++h) {
    const int64_t kvh = h / (s.n_heads / s.n_kv_heads);
    std::vector<double> w;
    double max = -INFINITY;
    for (int64_t j = first; j <= pos; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < s.head_dim; ++d) {
        dot += q[h * s.head_dim + d] * s.dense_k[(j * s.n_kv_heads + kvh) * s.head_dim + d];
      }
      w.push_back(dot * scale);
      max = std::max(max, w.back());
    }
    double total = 0;
    for (double& x : w) total += (x = std::exp(x - max));
    for (int64_t j = first; j <= pos; ++j) {
      for (int64_t d = 0; d < s.head_dim; ++d) {
        out[h * s.head_dim + d] +=
            w[j - first] / total * s.dense_v[(j * s.n_kv_heads + kvh) * s.head_dim + d];
      }
    }
  }
  return out;
}

void CheckAgainstDense(int64_t window, int threads) {
  std::mt19937 rng(42);
  CacheData s = MakeCacheData(rng);
  ThreadPool pool(threads);
  const int64_t first_pos = 15, n_tokens = s.seq_len - first_pos;
  const int64_t width = s.n_heads * s.head_dim;
  std::vector<float> q(n_tokens * width), out(n_tokens * width);
  std::normal_distribution<float> normal;
  for (float& x : q) x = normal(rng);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  PagedAttention(q.data(), n_tokens, first_pos, s.block_table, s.Layer(),
                 AttentionParams{s.n_heads, scale, window}, out.data(), pool);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const std::vector<double> ref = DenseAttention(s, &q[t * width], first_pos + t, window, scale);
    for (int64_t i = 0; i < width; ++i) {
      ASSERT_NEAR(out[t * width + i], ref[i], 1e-5) << "token " << t << " elem " << i;
    }
  }
}

TEST(PagedAttentionTest, MatchesDenseAttention) { CheckAgainstDense(0, 1); }
TEST(PagedAttentionTest, MatchesDenseWithThreads) { CheckAgainstDense(0, 3); }
TEST(PagedAttentionTest, SlidingWindowMatchesDense) { CheckAgainstDense(5, 2); }

TEST(PagedAttentionTest, ResultIndependentOfBatchAndThreads) {
  std::mt19937 rng(7);
  CacheData s = MakeCacheData(rng);
  const int64_t width = s.n_heads * s.head_dim, n_tokens = 8, first_pos = s.seq_len - n_tokens;
  std::vector<float> q(n_tokens * width), all(n_tokens * width), one(width);
  std::normal_distribution<float> normal;
  for (float& x : q) x = normal(rng);
  const AttentionParams params{s.n_heads, 0.25f, 0};
  ThreadPool pool3(3), pool1(1);
  PagedAttention(q.data(), n_tokens, first_pos, s.block_table, s.Layer(), params, all.data(),
                 pool3);
  const int64_t t = 5;
  PagedAttention(&q[t * width], 1, first_pos + t, s.block_table, s.Layer(), params, one.data(),
                 pool1);
  for (int64_t i = 0; i < width; ++i) EXPECT_EQ(one[i], all[t * width + i]);
}

}  // namespace
}  // namespace llmw::cpu
