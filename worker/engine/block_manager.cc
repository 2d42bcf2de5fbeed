// Block allocation with automatic prefix caching over KvCache's allocator.
#include "worker/engine/block_manager.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace llmw {
namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;

// The splitmix64 finalizer: a bijection that spreads every input bit.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

uint64_t HashBlockTokens(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = Mix(parent ^ (kGolden * (tokens.size() + 1)));
  for (int32_t t : tokens) h = Mix(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(t)) + kGolden));
  return h;
}

// Collisions: a lookup only hits when the cached block's stored tokens and
// parent hash both equal the requested ones, so two different blocks that
// collide are never confused directly. What the check cannot see is a full
// 64-bit collision between two different *prefixes* whose first block was
// evicted in between; with a well-mixed 64-bit hash that is negligible.

BlockManager::BlockManager(KvCache& kv, bool enable_prefix_caching, BlockHashFn hash_fn)
    : kv_(kv),
      enable_prefix_caching_(enable_prefix_caching),
      hash_fn_(hash_fn),
      block_size_(kv.block_size()) {
  const int64_t n = kv.allocator().num_blocks();
  cached_.assign(n, false);
  if (enable_prefix_caching_) {
    cache_.reserve(n);
    hash_.assign(n, 0);
    parent_hash_.assign(n, 0);
    tokens_.assign(n * block_size_, 0);
  }
  lru_prev_.assign(n + 1, kNotInLru);
  lru_next_.assign(n + 1, kNotInLru);
  lru_prev_[n] = lru_next_[n] = static_cast<int32_t>(n);
}

BlockManager::~BlockManager() { ClearPrefixCache(); }

void BlockManager::RecordQuery(int64_t n_tokens, int64_t max_tokens, int64_t hit_tokens) {
  if (!enable_prefix_caching_) return;
  const int64_t limit = std::max<int64_t>(std::min(n_tokens, max_tokens), 0);
  query_tokens_ += limit / block_size_ * block_size_;
  hit_tokens_ += hit_tokens;
}

int64_t BlockManager::MatchPrefix(std::span<const int32_t> tokens, int64_t max_tokens,
                                  BlockTable& table, bool record_stats) {
  assert(table.blocks().empty());
  if (!enable_prefix_caching_) return 0;
  const int64_t limit = std::min<int64_t>(static_cast<int64_t>(tokens.size()), max_tokens);
  const int64_t n_full = std::max<int64_t>(limit, 0) / block_size_;

  table.mutable_hashes().clear();
  uint64_t parent = 0;
  int64_t matched = 0;
  for (; matched < n_full; ++matched) {
    const auto block_tokens = tokens.subspan(matched * block_size_, block_size_);
    const uint64_t h = hash_fn_(parent, block_tokens);
    const int32_t block = Lookup(h, parent, block_tokens);
    if (block < 0) break;
    if (IsEvictable(block)) LruRemove(block);
    allocator().AddRef(block);
    table.mutable_blocks().push_back(block);
    table.mutable_hashes().push_back(h);
    parent = h;
  }
  if (record_stats)
    RecordQuery(static_cast<int64_t>(tokens.size()), max_tokens, matched * block_size_);
  return matched * block_size_;
}

absl::Status BlockManager::Reserve(BlockTable& table, int64_t n_tokens) {
  const int64_t have = static_cast<int64_t>(table.blocks().size());
  const int64_t need = kv_.BlocksFor(n_tokens) - have;
  if (need <= 0) return absl::OkStatus();
  if (!CanAllocate(need)) {
    return absl::ResourceExhaustedError(absl::StrCat("KV cache full: ", need,
                                                     " more blocks needed, ", num_free_blocks(),
                                                     " available of ", num_blocks()));
  }
  for (int64_t i = 0; i < need; ++i) table.mutable_blocks().push_back(AllocateBlock());
  return absl::OkStatus();
}

void BlockManager::CommitFullBlocks(BlockTable& table, std::span<const int32_t> tokens,
                                    int64_t n_computed) {
  if (!enable_prefix_caching_) return;
  const auto& blocks = table.blocks();
  auto& hashes = table.mutable_hashes();
  const int64_t computed = std::min<int64_t>(n_computed, static_cast<int64_t>(tokens.size()));
  const int64_t n_full =
      std::min<int64_t>(computed / block_size_, static_cast<int64_t>(blocks.size()));
  for (int64_t i = static_cast<int64_t>(hashes.size()); i < n_full; ++i) {
    const uint64_t parent = i == 0 ? 0 : hashes[i - 1];
    const auto block_tokens = tokens.subspan(i * block_size_, block_size_);
    const uint64_t h = hash_fn_(parent, block_tokens);
    hashes.push_back(h);
    const int32_t block = blocks[i];
    // Either the same content is cached already (computed concurrently by
    // another sequence) or a different block collides: keep this one private.
    if (cache_.contains(h) || cached_[block]) continue;
    cache_.emplace(h, block);
    cached_[block] = true;
    hash_[block] = h;
    parent_hash_[block] = parent;
    std::copy(block_tokens.begin(), block_tokens.end(), tokens_.begin() + block * block_size_);
    allocator().AddRef(block);
  }
}

void BlockManager::Release(BlockTable& table) {
  auto& blocks = table.mutable_blocks();
  // Last block first: releasing in reverse makes a sequence's tail the least
  // recently used, so eviction trims prefixes from the end, where a lost block
  // does not strand the cached blocks after it.
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
    const int32_t block = *it;
    allocator().Release(block);
    if (cached_[block] && allocator().RefCount(block) == 1) LruPushBack(block);
  }
  blocks.clear();
  table.mutable_hashes().clear();
}

void BlockManager::ClearPrefixCache() {
  for (const auto& [h, block] : cache_) {
    if (IsEvictable(block)) LruRemove(block);
    cached_[block] = false;
    allocator().Release(block);
  }
  cache_.clear();
}

BlockManager::PrefixCacheStats BlockManager::prefix_stats() const {
  PrefixCacheStats stats;
  stats.query_tokens = query_tokens_;
  stats.hit_tokens = hit_tokens_;
  stats.cached_blocks = static_cast<int64_t>(cache_.size());
  return stats;
}

std::span<const int32_t> BlockManager::CachedTokens(int32_t block) const {
  if (!cached_[block]) return {};
  return std::span<const int32_t>(tokens_).subspan(block * block_size_, block_size_);
}

int32_t BlockManager::AllocateBlock() {
  if (allocator().num_free() == 0) {
    const int32_t sentinel = static_cast<int32_t>(num_blocks());
    const int32_t victim = lru_next_[sentinel];
    assert(victim != sentinel);
    LruRemove(victim);
    Uncache(victim);
    allocator().Release(victim);
  }
  const auto block = allocator().Allocate();
  assert(block.has_value());
  return *block;
}

int32_t BlockManager::Lookup(uint64_t hash, uint64_t parent,
                             std::span<const int32_t> tokens) const {
  const auto it = cache_.find(hash);
  if (it == cache_.end()) return -1;
  const int32_t block = it->second;
  if (parent_hash_[block] != parent) return -1;
  if (!std::equal(tokens.begin(), tokens.end(), tokens_.begin() + block * block_size_)) return -1;
  return block;
}

void BlockManager::Uncache(int32_t block) {
  cache_.erase(hash_[block]);
  cached_[block] = false;
}

void BlockManager::LruPushBack(int32_t block) {
  const int32_t sentinel = static_cast<int32_t>(num_blocks());
  const int32_t last = lru_prev_[sentinel];
  lru_prev_[block] = last;
  lru_next_[block] = sentinel;
  lru_next_[last] = block;
  lru_prev_[sentinel] = block;
  ++num_evictable_;
}

void BlockManager::LruRemove(int32_t block) {
  const int32_t prev = lru_prev_[block];
  const int32_t next = lru_next_[block];
  lru_next_[prev] = next;
  lru_prev_[next] = prev;
  lru_prev_[block] = lru_next_[block] = kNotInLru;
  --num_evictable_;
}

}  // namespace llmw
