// Storage and block bookkeeping of the paged KV cache.
#include "models/kv_cache/kv_cache.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<KvCache>> KvCache::Create(const KvCacheShape& shape,
                                                         int64_t block_size, int32_t num_blocks,
                                                         Backend& backend, bool padding_block) {
  if (block_size <= 0 || num_blocks <= (padding_block ? 1 : 0) || shape.n_layers <= 0 ||
      shape.n_kv_heads <= 0 || shape.head_dim <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("KV cache: invalid size (block_size ",
                                                   block_size, ", blocks ", num_blocks,
                                                   padding_block ? ", one for padding" : "", ")"));
  }
  if (!IsKvCacheDType(shape.dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KV cache: dtype ", std::string(DTypeName(shape.dtype)), " (f32, f16 or bf16 only)"));
  }
  const int64_t bytes = shape.bytes_per_token() * block_size * num_blocks;
  ASSIGN_OR_RETURN(Buffer storage, backend.Allocate(bytes));
  // Blocks are handed out lowest first. Write the start of every layer's K and V arrays now, at
  // load, so that on the CPU the system zeroes those huge pages here rather than in the first
  // request.
  const int64_t array_bytes = bytes / (2 * shape.n_layers);
  const int64_t touch = std::min<int64_t>(array_bytes, int64_t{2} << 20);
  const std::vector<uint8_t> zeros(touch);
  for (int64_t a = 0; a < 2 * shape.n_layers; ++a) {
    backend.Upload(static_cast<uint8_t*>(storage.data()) + a * array_bytes, zeros.data(), touch);
  }
  RETURN_IF_ERROR(backend.Synchronize());
  return std::unique_ptr<KvCache>(
      new KvCache(shape, block_size, num_blocks, padding_block, std::move(storage)));
}

KvCache::KvCache(const KvCacheShape& shape, int64_t block_size, int32_t num_blocks,
                 bool padding_block, Buffer storage)
    : shape_(shape),
      block_size_(block_size),
      allocator_(padding_block ? num_blocks - 1 : num_blocks),
      padding_block_(padding_block ? num_blocks - 1 : -1),
      storage_(std::move(storage)) {}

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

PagedKvLayer KvCache::Layer(int64_t layer) const {
  const int64_t array_bytes = storage_.bytes() / (2 * shape_.n_layers);
  uint8_t* base = static_cast<uint8_t*>(storage_.data()) + layer * 2 * array_bytes;
  return PagedKvLayer{
      base, base + array_bytes, block_size_, shape_.n_kv_heads, shape_.head_dim, shape_.dtype};
}

}  // namespace llmw
