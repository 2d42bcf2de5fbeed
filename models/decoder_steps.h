// Steps every decoder-only family's forward pass shares: laying out a batch,
// embedding lookup, writing keys/values into the paged cache and attending per
// sequence chunk, gathering the rows that need logits, and the matmul choice.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/huge_buffer.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/packed_weights.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/tensor.h"
#include "models/model.h"

namespace llmw {

// tokens[t] and positions[t] for every token of the batch, in chunk order.
void LayOutBatch(const ForwardBatch& batch, int32_t* tokens, int32_t* positions);

// x[t] = table[tokens[t]] as f32 ([n, hidden]).
void EmbedTokens(const Tensor& table, const int32_t* tokens, int64_t n, int64_t hidden, float* x);

// Stores each token's k and v ([n, n_kv_heads * head_dim]) in the cache of
// `layer`, then attends each chunk's queries q ([n, n_heads * head_dim]) over
// its sequence into out.
void AttendChunks(const ForwardBatch& batch, const float* q, const float* k, const float* v,
                  KvCache& kv, int64_t layer, const cpu::AttentionParams& params, float* out,
                  cpu::ThreadPool& pool);

// Moves the rows of x ([n, hidden]) that need logits (the last of each chunk,
// or all of it with all_logits) to its front; returns how many there are.
int64_t GatherLogitRows(const ForwardBatch& batch, float* x, int64_t hidden);

// y = x · Wᵀ through the fast path, or the scalar reference when asked. Block-format weights
// run packed (cpu::PackedWeights): each one is packed once, by Prepare at load or else on its
// first use, and kept here; results are the same either way.
class LayerMatmul {
 public:
  LayerMatmul(cpu::ThreadPool& pool, bool reference) : pool_(pool), reference_(reference) {}
  void Reserve(int64_t max_n, int64_t max_in) { scratch_.Reserve(max_n, max_in); }
  // Packs `w` now if it is a block-format weight (allocates).
  void Prepare(const Tensor& w);
  void operator()(const Tensor& w, const float* x, int64_t n, float* y);

  // y = x · Wᵀ for each output, all taking the same x (q, k and v; gate and up): x is quantized
  // once and the weights share one parallel loop. Results equal separate calls.
  struct Output {
    const Tensor& w;
    float* y;
  };
  void operator()(std::initializer_list<Output> outputs, const float* x, int64_t n);

 private:
  // A weight is its memory, row count and type (row views of one tensor differ in the first
  // two).
  using Key = std::tuple<const void*, int64_t, DType>;
  const cpu::PackedWeights& Packed(const Tensor& w);

  cpu::ThreadPool& pool_;
  bool reference_;
  cpu::MatmulScratch scratch_;
  std::map<Key, std::unique_ptr<cpu::PackedWeights>> packed_;
  // The packed weights' memory: large chunks on huge pages, since a decode step streams all of
  // them and 4 KiB pages would miss the TLB every few rows.
  std::vector<cpu::HugeBuffer> chunks_;
  uint8_t* chunk_next_ = nullptr;  // the free end of chunks_.back(),
  int64_t chunk_free_ = 0;         // this many bytes
};

}  // namespace llmw
