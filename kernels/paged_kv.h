// The paged KV cache of one layer as the attention ops see it.
//
// K and V are two arrays of [num_blocks, block_size, n_kv_heads, head_dim] elements of `dtype`
// (f32, f16 or bf16) in the backend's memory. A sequence's block table maps its logical block i
// (positions i * block_size ...) to a physical block; a token's slot is block * block_size +
// offset in the block, so its keys start at element slot * token_stride().
#pragma once

#include <cstdint>

#include "kernels/dtype.h"

namespace llmw {

struct PagedKvLayer {
  void* k = nullptr;
  void* v = nullptr;
  int64_t block_size = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  DType dtype = DType::kF32;

  int64_t token_stride() const { return n_kv_heads * head_dim; }
  int64_t block_stride() const { return block_size * token_stride(); }
  // Element offset of the K (or V) vectors of all heads at `pos` of a sequence.
  int64_t OffsetOf(const int32_t* block_table, int64_t pos) const {
    return block_table[pos / block_size] * block_stride() + (pos % block_size) * token_stride();
  }
  template <typename T = float>
  T* KeyAt(const int32_t* block_table, int64_t pos) const {
    return static_cast<T*>(k) + OffsetOf(block_table, pos);
  }
  template <typename T = float>
  T* ValueAt(const int32_t* block_table, int64_t pos) const {
    return static_cast<T*>(v) + OffsetOf(block_table, pos);
  }
};

// Whether the KV cache can store elements of `dtype`.
inline bool IsKvCacheDType(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

}  // namespace llmw
