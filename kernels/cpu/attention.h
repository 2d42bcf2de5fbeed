// Causal attention of new query tokens over a paged KV cache.
//
// The cache of one layer is two arrays, K and V, of shape
// [num_blocks, block_size, n_kv_heads, head_dim]; a sequence's block table
// maps its logical block i (positions i*block_size ...) to a physical block.
#pragma once

#include <cstdint>

namespace llmw::cpu {

class ThreadPool;

struct PagedKvLayer {
  float* k = nullptr;
  float* v = nullptr;
  int64_t block_size = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;

  int64_t token_stride() const { return n_kv_heads * head_dim; }
  int64_t block_stride() const { return block_size * token_stride(); }
  // Start of the K (or V) vectors of all heads at `pos` of a sequence.
  float* KeyAt(const int32_t* block_table, int64_t pos) const {
    return k + block_table[pos / block_size] * block_stride() + (pos % block_size) * token_stride();
  }
  float* ValueAt(const int32_t* block_table, int64_t pos) const {
    return v + block_table[pos / block_size] * block_stride() + (pos % block_size) * token_stride();
  }
};

// Largest head dimension PagedAttention handles (its accumulator lives on the stack).
inline constexpr int64_t kMaxAttentionHeadDim = 512;

struct AttentionParams {
  int64_t n_heads = 0;  // query heads; n_heads % n_kv_heads == 0 (grouped-query)
  float scale = 1.0f;   // usually 1/sqrt(head_dim)
  int64_t window = 0;   // sliding window in tokens; 0 = attend to every earlier position
};

// For each of `n_tokens` queries q[t] ([n_heads, head_dim], at position
// first_pos + t of one sequence), attends to that sequence's cached positions
// [max(0, p - window + 1), p] and writes out[t] ([n_heads, head_dim]).
// The keys and values of the new tokens must already be in the cache.
// Each (token, head) is computed alone, in a fixed order, so results do not
// depend on the batch or the thread count.
void PagedAttention(const float* q, int64_t n_tokens, int64_t first_pos, const int32_t* block_table,
                    const PagedKvLayer& kv, const AttentionParams& params, float* out,
                    ThreadPool& pool);

// One sequence's part of a batched call: PagedAttention's arguments for it.
struct AttentionChunk {
  const float* q = nullptr;
  int64_t n_tokens = 0;
  int64_t first_pos = 0;
  const int32_t* block_table = nullptr;
  float* out = nullptr;
};

// PagedAttention for several sequences in one parallel loop over all their (token, head) pairs,
// so a batch of one-token decode chunks costs one dispatch rather than one per sequence. Each
// output equals what PagedAttention gives for its sequence alone.
void PagedAttentionBatch(const AttentionChunk* chunks, int64_t n_chunks, const PagedKvLayer& kv,
                         const AttentionParams& params, ThreadPool& pool);

}  // namespace llmw::cpu
