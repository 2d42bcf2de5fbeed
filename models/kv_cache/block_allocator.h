// Hands out fixed-size KV-cache blocks by index (lowest first, then the most
// recently freed) and counts references to them, so that sequences with a
// common prefix share blocks.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace llmw {

class BlockAllocator {
 public:
  explicit BlockAllocator(int32_t num_blocks);

  // A free block with a reference count of 1, or nullopt when none is free.
  std::optional<int32_t> Allocate();
  // Adds a reference to an allocated block.
  void AddRef(int32_t block);
  // Drops a reference; the block returns to the free list at zero.
  void Release(int32_t block);

  int32_t RefCount(int32_t block) const { return ref_counts_[block]; }
  int32_t num_blocks() const { return static_cast<int32_t>(ref_counts_.size()); }
  int32_t num_free() const { return static_cast<int32_t>(free_.size()); }
  int32_t num_used() const { return num_blocks() - num_free(); }

 private:
  std::vector<int32_t> ref_counts_;
  std::vector<int32_t> free_;  // a stack: the most recently freed block is reused first
};

}  // namespace llmw
