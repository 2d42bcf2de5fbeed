// The paged KV cache of one model: per layer, K and V arrays of
// [num_blocks, block_size, n_kv_heads, head_dim] elements (f32, f16 or bf16) in the memory of the
// backend the model runs on, a block allocator, and block tables that map each sequence's
// positions onto physical blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "kernels/dtype.h"
#include "kernels/paged_kv.h"
#include "models/kv_cache/block_allocator.h"

namespace llmw {

struct KvCacheShape {
  int64_t n_layers = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  DType dtype = DType::kF32;

  int64_t bytes_per_token() const {
    return 2 * n_layers * n_kv_heads * head_dim * Traits(dtype).block_bytes;
  }
};

// The blocks of one sequence, in logical order, and the prefix-cache hashes
// of its leading full blocks (kept by whoever does prefix caching).
class BlockTable {
 public:
  const std::vector<int32_t>& blocks() const { return blocks_; }
  std::vector<int32_t>& mutable_blocks() { return blocks_; }
  const int32_t* data() const { return blocks_.data(); }
  int64_t capacity_tokens(int64_t block_size) const {
    return static_cast<int64_t>(blocks_.size()) * block_size;
  }
  // hashes()[i] identifies the content of block i and of every block before it.
  const std::vector<uint64_t>& hashes() const { return hashes_; }
  std::vector<uint64_t>& mutable_hashes() { return hashes_; }

 private:
  friend class KvCache;
  std::vector<int32_t> blocks_;
  std::vector<uint64_t> hashes_;
};

class KvCache {
 public:
  static constexpr int64_t kDefaultBlockSize = 16;

  // A cache with room for `num_blocks` blocks of `block_size` tokens, its storage from
  // `backend` (which must outlive it). With `padding_block`, the last of them is kept out of the
  // allocator: no sequence ever gets it, and steps padded to a fixed size write their padding
  // tokens there.
  static absl::StatusOr<std::unique_ptr<KvCache>> Create(const KvCacheShape& shape,
                                                         int64_t block_size, int32_t num_blocks,
                                                         Backend& backend,
                                                         bool padding_block = false);

  // Grows `table` to hold at least `n_tokens` positions. RESOURCE_EXHAUSTED
  // when the allocator runs out (the table keeps what it had).
  absl::Status Reserve(BlockTable& table, int64_t n_tokens);
  // Returns every block of `table` to the allocator and empties it (hashes too).
  void Release(BlockTable& table);

  PagedKvLayer Layer(int64_t layer) const;
  const KvCacheShape& shape() const { return shape_; }
  int64_t block_size() const { return block_size_; }
  // Positions the allocator's blocks hold (the padding block is not one of them).
  int64_t capacity_tokens() const { return allocator_.num_blocks() * block_size_; }
  // The reserved padding block, or -1 without one.
  int32_t padding_block() const { return padding_block_; }
  int64_t bytes() const { return storage_.bytes(); }
  const BlockAllocator& allocator() const { return allocator_; }
  BlockAllocator& mutable_allocator() { return allocator_; }
  // Blocks needed for `n_tokens` positions.
  int64_t BlocksFor(int64_t n_tokens) const { return (n_tokens + block_size_ - 1) / block_size_; }

 private:
  KvCache(const KvCacheShape& shape, int64_t block_size, int32_t num_blocks, bool padding_block,
          Buffer storage);

  KvCacheShape shape_;
  int64_t block_size_;
  BlockAllocator allocator_;
  int32_t padding_block_;
  // [n_layers][2][num_blocks][block_size][n_kv_heads][head_dim], left uninitialised but for the
  // first blocks (see Create).
  Buffer storage_;
};

}  // namespace llmw
