// The engine's view of KV-cache blocks: hands blocks to sequences and keeps
// finished full blocks in a prefix cache, so that a later sequence starting
// with the same tokens reuses their keys and values instead of recomputing.
//
// A full block (block_size tokens whose KV is computed) is keyed by a chained
// 64-bit hash of (the previous block's hash, the block's token ids). The
// manager holds one reference on every cached block; a cached block that no
// sequence references is "evictable": it stays reusable until allocation runs
// out of free blocks and takes the least recently released one.
//
// Every block is at any time exactly one of: free (reference count 0),
// evictable (cached, only the manager's reference), or used (referenced by at
// least one table, cached or not). Not thread-safe: the engine thread owns it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "models/kv_cache/kv_cache.h"

namespace llmw {

// Hash of one full block given the hash of the blocks before it (0 for the
// first block).
using BlockHashFn = uint64_t (*)(uint64_t parent, std::span<const int32_t> tokens);
uint64_t HashBlockTokens(uint64_t parent, std::span<const int32_t> tokens);

class BlockManager {
 public:
  struct PrefixCacheStats {
    int64_t query_tokens = 0;  // tokens MatchPrefix could have matched (whole blocks, capped)
    int64_t hit_tokens = 0;    // tokens it did match
    int64_t cached_blocks = 0;
  };

  // `hash_fn` is replaceable only so tests can provoke hash collisions.
  BlockManager(KvCache& kv, bool enable_prefix_caching, BlockHashFn hash_fn = &HashBlockTokens);
  BlockManager(const BlockManager&) = delete;
  BlockManager& operator=(const BlockManager&) = delete;
  ~BlockManager();

  // On an empty `table`: appends the cached blocks of the longest prefix of
  // `tokens` made of whole blocks and covering at most `max_tokens` tokens,
  // taking a reference on each, and records their hashes in the table.
  // Returns the number of tokens covered (a multiple of block_size). Counts
  // the query in prefix_stats() unless `record_stats` is false (a caller that
  // may give the blocks back and retry counts it once, with RecordQuery).
  int64_t MatchPrefix(std::span<const int32_t> tokens, int64_t max_tokens, BlockTable& table,
                      bool record_stats = true);
  // Counts one prefix-cache query of `n_tokens` tokens (whole blocks up to
  // `max_tokens`) of which `hit_tokens` were served from the cache.
  void RecordQuery(int64_t n_tokens, int64_t max_tokens, int64_t hit_tokens);

  // Grows `table` to cover `n_tokens` positions, evicting cached blocks when
  // no free ones are left. All or nothing: RESOURCE_EXHAUSTED leaves the table
  // unchanged.
  absl::Status Reserve(BlockTable& table, int64_t n_tokens);

  // Whether `n_blocks` more blocks could be allocated now.
  bool CanAllocate(int64_t n_blocks) const { return n_blocks <= num_free_blocks(); }

  // Called once the KV of tokens[0, n_computed) of the sequence owning
  // `table` is in the cache: registers every full block completed since the
  // last call (its hash is appended to table.mutable_hashes()). A block whose
  // content is already cached elsewhere stays private to this table.
  void CommitFullBlocks(BlockTable& table, std::span<const int32_t> tokens, int64_t n_computed);

  // Drops the table's references and empties it. Its cached blocks become
  // evictable, the last block of the table first in line for eviction.
  void Release(BlockTable& table);

  // Forgets every cached block: evictable ones become free, used ones stay
  // with their tables as ordinary blocks.
  void ClearPrefixCache();

  int64_t num_blocks() const { return allocator().num_blocks(); }
  // Blocks an allocation can take: free plus evictable.
  int64_t num_free_blocks() const { return allocator().num_free() + num_evictable_; }
  // Blocks referenced by at least one table.
  int64_t num_used_blocks() const { return allocator().num_used() - num_evictable_; }
  int64_t num_evictable_blocks() const { return num_evictable_; }
  int64_t block_size() const { return block_size_; }
  bool prefix_caching_enabled() const { return enable_prefix_caching_; }
  PrefixCacheStats prefix_stats() const;

  // Introspection for tests and debugging.
  bool IsCached(int32_t block) const { return cached_[block]; }
  bool IsEvictable(int32_t block) const { return lru_prev_[block] != kNotInLru; }
  int32_t RefCount(int32_t block) const { return allocator().RefCount(block); }
  // The token ids a cached block was registered with.
  std::span<const int32_t> CachedTokens(int32_t block) const;

 private:
  static constexpr int32_t kNotInLru = -1;

  const BlockAllocator& allocator() const { return kv_.allocator(); }
  BlockAllocator& allocator() { return kv_.mutable_allocator(); }

  // A free block, evicting the least recently used evictable block if needed.
  // Callers check CanAllocate first.
  int32_t AllocateBlock();
  // The cached block holding exactly `tokens` after a prefix hashing to
  // `parent`, or -1.
  int32_t Lookup(uint64_t hash, uint64_t parent, std::span<const int32_t> tokens) const;
  void Uncache(int32_t block);

  void LruPushBack(int32_t block);
  void LruRemove(int32_t block);

  KvCache& kv_;
  const bool enable_prefix_caching_;
  const BlockHashFn hash_fn_;
  const int64_t block_size_;

  absl::flat_hash_map<uint64_t, int32_t> cache_;  // block hash -> cached block
  // Per block: whether it is in cache_, its hash, its parent's hash, its tokens.
  std::vector<bool> cached_;
  std::vector<uint64_t> hash_;
  std::vector<uint64_t> parent_hash_;
  std::vector<int32_t> tokens_;  // [num_blocks][block_size]

  // Evictable blocks in a doubly linked list through these arrays; index
  // num_blocks is the head/tail sentinel, front = least recently used.
  std::vector<int32_t> lru_prev_;
  std::vector<int32_t> lru_next_;
  int64_t num_evictable_ = 0;

  int64_t query_tokens_ = 0;
  int64_t hit_tokens_ = 0;
};

}  // namespace llmw
