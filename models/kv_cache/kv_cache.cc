// Storage and block bookkeeping of the paged KV cache.
#include "models/kv_cache/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<KvCache>> KvCache::Create(const KvCacheShape& shape,
                                                         int64_t block_size, int32_t num_blocks) {
  if (block_size <= 0 || num_blocks <= 0 || shape.n_layers <= 0 || shape.n_kv_heads <= 0 ||
      shape.head_dim <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("KV cache: invalid size (block_size ",
                                                   block_size, ", blocks ", num_blocks, ")"));
  }
  return std::unique_ptr<KvCache>(new KvCache(shape, block_size, num_blocks));
}

KvCache::KvCache(const KvCacheShape& shape, int64_t block_size, int32_t num_blocks)
    : shape_(shape),
      block_size_(block_size),
      allocator_(num_blocks),
      storage_(cpu::AllocateHugeBuffer(sizeof(float) * static_cast<size_t>(shape.n_layers) * 2 *
                                       num_blocks * block_size * shape.n_kv_heads *
                                       shape.head_dim)) {
  // The storage is on huge pages (attention reads it scattered), which the system zeroes on
  // first touch, 2 MiB at a time. Blocks are handed out lowest first, so touch the start of
  // every layer's K and V arrays now, at load, rather than in the first request.
  const size_t array_bytes = sizeof(float) * static_cast<size_t>(num_blocks) * block_size *
                             shape.n_kv_heads * shape.head_dim;
  const size_t touch = std::min(array_bytes, size_t{2} << 20);
  for (int64_t a = 0; a < 2 * shape.n_layers; ++a) {
    std::memset(static_cast<char*>(storage_.get()) + a * array_bytes, 0, touch);
  }
}

absl::Status KvCache::Reserve(BlockTable& table, int64_t n_tokens) {
  const int64_t needed = BlocksFor(n_tokens);
  const int64_t have = static_cast<int64_t>(table.blocks_.size());
  if (needed - have > allocator_.num_free()) {
    return absl::ResourceExhaustedError(absl::StrCat("KV cache full: ", needed - have,
                                                     " more blocks needed, ", allocator_.num_free(),
                                                     " free of ", allocator_.num_blocks()));
  }
  for (int64_t i = have; i < needed; ++i) table.blocks_.push_back(*allocator_.Allocate());
  return absl::OkStatus();
}

void KvCache::Release(BlockTable& table) {
  for (int32_t block : table.blocks_) allocator_.Release(block);
  table.blocks_.clear();
  table.hashes_.clear();
}

cpu::PagedKvLayer KvCache::Layer(int64_t layer) {
  const int64_t per_array = static_cast<int64_t>(allocator_.num_blocks()) * block_size_ *
                            shape_.n_kv_heads * shape_.head_dim;
  float* base = static_cast<float*>(storage_.get()) + layer * 2 * per_array;
  return cpu::PagedKvLayer{base, base + per_array, block_size_, shape_.n_kv_heads, shape_.head_dim};
}

}  // namespace llmw
