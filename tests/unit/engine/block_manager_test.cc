// BlockManager: allocation and reference counts, all-or-nothing reservation,
// prefix-cache hits, chained hashes, LRU eviction, statistics, and a
// randomized run against a shadow model of what each block's KV was computed
// from.
#include "worker/engine/block_manager.h"

#include <algorithm>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"

namespace llmw {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

// Host memory for the caches of these tests.
Backend& Host() {
  static cpu::CpuBackend backend({.threads = 1});
  return backend;
}

std::unique_ptr<KvCache> MakeKv(int32_t num_blocks, int64_t block_size) {
  auto kv = KvCache::Create(KvCacheShape{1, 1, 1}, block_size, num_blocks, Host());
  EXPECT_TRUE(kv.ok()) << kv.status();
  return *std::move(kv);
}

std::vector<int32_t> Iota(int n, int32_t start) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

std::vector<int32_t> Concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Runs a whole prompt through: match, reserve, "compute", commit.
int64_t Prefill(BlockManager& bm, const std::vector<int32_t>& tokens, BlockTable& table) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t matched = bm.MatchPrefix(tokens, n - 1, table);
  EXPECT_TRUE(bm.Reserve(table, n).ok());
  bm.CommitFullBlocks(table, tokens, n);
  return matched;
}

TEST(BlockManagerTest, ReserveAndReleaseCountReferences) {
  auto kv = MakeKv(8, 4);
  BlockManager bm(*kv, true);
  EXPECT_EQ(bm.num_blocks(), 8);
  EXPECT_EQ(bm.block_size(), 4);

  BlockTable t;
  ASSERT_TRUE(bm.Reserve(t, 5).ok());
  ASSERT_EQ(t.blocks().size(), 2u);
  for (int32_t b : t.blocks()) EXPECT_EQ(bm.RefCount(b), 1);
  EXPECT_EQ(bm.num_used_blocks(), 2);
  EXPECT_EQ(bm.num_free_blocks(), 6);

  ASSERT_TRUE(bm.Reserve(t, 8).ok());  // still fits in two blocks
  EXPECT_EQ(t.blocks().size(), 2u);
  ASSERT_TRUE(bm.Reserve(t, 9).ok());
  EXPECT_EQ(t.blocks().size(), 3u);
  EXPECT_EQ(bm.num_used_blocks(), 3);

  const std::vector<int32_t> held = t.blocks();
  bm.Release(t);
  EXPECT_THAT(t.blocks(), IsEmpty());
  EXPECT_THAT(t.hashes(), IsEmpty());
  for (int32_t b : held) EXPECT_EQ(bm.RefCount(b), 0);
  EXPECT_EQ(bm.num_used_blocks(), 0);
  EXPECT_EQ(bm.num_free_blocks(), 8);
}

TEST(BlockManagerTest, ReserveIsAllOrNothing) {
  auto kv = MakeKv(4, 4);
  BlockManager bm(*kv, true);
  BlockTable a, b;
  ASSERT_TRUE(bm.Reserve(a, 12).ok());
  EXPECT_TRUE(bm.CanAllocate(1));
  EXPECT_FALSE(bm.CanAllocate(2));

  const absl::Status s = bm.Reserve(b, 8);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(b.blocks(), IsEmpty());
  EXPECT_EQ(bm.num_free_blocks(), 1);

  const std::vector<int32_t> before = a.blocks();
  EXPECT_EQ(bm.Reserve(a, 20).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(a.blocks(), before);
  EXPECT_TRUE(bm.Reserve(a, 16).ok());
  EXPECT_EQ(bm.num_free_blocks(), 0);
}

TEST(BlockManagerTest, SecondSequenceWithSamePromptSharesBlocks) {
  auto kv = MakeKv(16, 4);
  BlockManager bm(*kv, true);
  const std::vector<int32_t> prompt = Iota(10, 100);

  BlockTable a;
  EXPECT_EQ(Prefill(bm, prompt, a), 0);
  ASSERT_EQ(a.blocks().size(), 3u);
  EXPECT_EQ(a.hashes().size(), 2u);  // only the two full blocks
  EXPECT_TRUE(bm.IsCached(a.blocks()[0]));
  EXPECT_TRUE(bm.IsCached(a.blocks()[1]));
  EXPECT_FALSE(bm.IsCached(a.blocks()[2]));
  EXPECT_THAT(bm.CachedTokens(a.blocks()[1]), ElementsAre(104, 105, 106, 107));

  BlockTable b;
  EXPECT_EQ(bm.MatchPrefix(prompt, 9, b), 8);
  ASSERT_EQ(b.blocks().size(), 2u);
  EXPECT_EQ(b.blocks()[0], a.blocks()[0]);
  EXPECT_EQ(b.blocks()[1], a.blocks()[1]);
  EXPECT_EQ(b.hashes(), a.hashes());
  EXPECT_EQ(bm.RefCount(a.blocks()[0]), 3);  // a, b and the cache
  EXPECT_EQ(bm.RefCount(a.blocks()[1]), 3);
  ASSERT_TRUE(bm.Reserve(b, 10).ok());
  EXPECT_NE(b.blocks()[2], a.blocks()[2]);  // the partial tail is private
  EXPECT_EQ(bm.num_used_blocks(), 4);

  bm.Release(a);
  EXPECT_EQ(bm.RefCount(b.blocks()[0]), 2);
  EXPECT_FALSE(bm.IsEvictable(b.blocks()[0]));
  bm.Release(b);
  EXPECT_EQ(bm.num_used_blocks(), 0);
  EXPECT_EQ(bm.num_evictable_blocks(), 2);
  EXPECT_EQ(bm.num_free_blocks(), 16);
}

TEST(BlockManagerTest, PartialBlocksAreNeverShared) {
  auto kv = MakeKv(16, 4);
  BlockManager bm(*kv, true);
  const std::vector<int32_t> prompt = Iota(10, 0);
  BlockTable a;
  Prefill(bm, prompt, a);

  // A longer prompt with the same first ten tokens only gets the full blocks.
  const std::vector<int32_t> longer = Concat(prompt, {10, 11, 12});
  BlockTable b;
  EXPECT_EQ(bm.MatchPrefix(longer, 12, b), 8);
  bm.Release(b);

  // Once `a` completes its third block (two generated tokens), it is shared.
  const std::vector<int32_t> grown = Concat(prompt, {10, 11});
  ASSERT_TRUE(bm.Reserve(a, 12).ok());
  bm.CommitFullBlocks(a, grown, 12);
  EXPECT_EQ(a.hashes().size(), 3u);
  BlockTable c;
  EXPECT_EQ(bm.MatchPrefix(longer, 12, c), 12);
  EXPECT_EQ(c.blocks()[2], a.blocks()[2]);
  bm.Release(a);
  bm.Release(c);
}

TEST(BlockManagerTest, MaxTokensCapsTheMatch) {
  auto kv = MakeKv(16, 4);
  BlockManager bm(*kv, true);
  const std::vector<int32_t> prompt = Iota(8, 7);
  BlockTable a;
  Prefill(bm, prompt, a);
  bm.Release(a);

  BlockTable b;
  EXPECT_EQ(bm.MatchPrefix(prompt, 7, b), 4);  // prompt_len - 1: the last block is recomputed
  EXPECT_EQ(b.blocks().size(), 1u);
  bm.Release(b);
  EXPECT_EQ(bm.MatchPrefix(prompt, 8, b), 8);
  bm.Release(b);
  EXPECT_EQ(bm.MatchPrefix(prompt, 3, b), 0);
  EXPECT_THAT(b.blocks(), IsEmpty());
}

TEST(BlockManagerTest, SameBlockAfterDifferentPrefixIsNotAHit) {
  auto kv = MakeKv(16, 2);
  BlockManager bm(*kv, true);
  const std::vector<int32_t> xz = {1, 2, 5, 6, 9};
  const std::vector<int32_t> yz = {3, 4, 5, 6, 9};
  BlockTable a, b;
  Prefill(bm, xz, a);
  EXPECT_EQ(Prefill(bm, yz, b), 0);
  EXPECT_NE(a.hashes()[1], b.hashes()[1]);
  EXPECT_NE(a.blocks()[1], b.blocks()[1]);
  EXPECT_EQ(bm.prefix_stats().cached_blocks, 4);
  bm.Release(a);
  bm.Release(b);

  // A prompt starting with the second block alone does not hit it either.
  BlockTable c;
  EXPECT_EQ(bm.MatchPrefix(std::vector<int32_t>{5, 6, 9}, 2, c), 0);
}

TEST(BlockManagerTest, EvictsLeastRecentlyReleasedFirst) {
  auto kv = MakeKv(4, 2);
  BlockManager bm(*kv, true);
  const std::vector<int32_t> p1 = {1, 1, 0}, p2 = {2, 2, 0}, p3 = {3, 3, 0};
  BlockTable t1, t2, t3;
  Prefill(bm, p1, t1);
  Prefill(bm, p2, t2);
  const int32_t b1 = t1.blocks()[0], b2 = t2.blocks()[0];
  bm.Release(t2);  // released first: evicted first
  bm.Release(t1);
  Prefill(bm, p3, t3);  // reuses the two free tail blocks, evicts nothing
  const int32_t b3 = t3.blocks()[0];
  bm.Release(t3);
  EXPECT_EQ(bm.num_evictable_blocks(), 3);
  EXPECT_EQ(bm.num_free_blocks(), 4);
  EXPECT_EQ(bm.num_used_blocks(), 0);

  BlockTable x;
  ASSERT_TRUE(bm.Reserve(x, 2).ok());  // takes the free block
  EXPECT_TRUE(bm.IsCached(b2));
  ASSERT_TRUE(bm.Reserve(x, 4).ok());  // evicts p2's block
  EXPECT_FALSE(bm.IsCached(b2));
  EXPECT_EQ(x.blocks()[1], b2);
  EXPECT_EQ(bm.prefix_stats().cached_blocks, 2);

  BlockTable y;
  EXPECT_EQ(bm.MatchPrefix(p2, 2, y), 0);  // evicted: no hit
  // Reusing p1's block takes it off the LRU list: p3's goes next.
  EXPECT_EQ(bm.MatchPrefix(p1, 2, y), 2);
  EXPECT_EQ(y.blocks()[0], b1);
  EXPECT_FALSE(bm.IsEvictable(b1));
  EXPECT_EQ(bm.RefCount(b1), 2);
  ASSERT_TRUE(bm.Reserve(y, 4).ok());
  EXPECT_EQ(y.blocks()[1], b3);
  EXPECT_FALSE(bm.IsCached(b3));
  EXPECT_TRUE(bm.IsCached(b1));
  EXPECT_EQ(bm.Reserve(y, 6).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(bm.num_free_blocks(), 0);
}

TEST(BlockManagerTest, ReleaseMakesTheTailEvictableFirst) {
  auto kv = MakeKv(4, 2);
  BlockManager bm(*kv, true);
  const std::vector<int32_t> p = {1, 2, 3, 4, 5, 6, 7};
  BlockTable a;
  Prefill(bm, p, a);
  const std::vector<int32_t> blocks = a.blocks();
  bm.Release(a);
  EXPECT_EQ(bm.num_evictable_blocks(), 3);

  BlockTable x;
  ASSERT_TRUE(bm.Reserve(x, 4).ok());  // the free tail block, then the last full block
  EXPECT_FALSE(bm.IsCached(blocks[2]));
  EXPECT_TRUE(bm.IsCached(blocks[1]));
  BlockTable b;
  EXPECT_EQ(bm.MatchPrefix(p, 6, b), 4);
}

TEST(BlockManagerTest, CountsQueryAndHitTokens) {
  auto kv = MakeKv(16, 4);
  BlockManager bm(*kv, true);
  const std::vector<int32_t> prompt = Iota(13, 0);
  BlockTable a, b, c;
  Prefill(bm, prompt, a);  // 12 matchable tokens, no hit
  EXPECT_EQ(bm.prefix_stats().query_tokens, 12);
  EXPECT_EQ(bm.prefix_stats().hit_tokens, 0);
  EXPECT_EQ(bm.prefix_stats().cached_blocks, 3);
  Prefill(bm, prompt, b);  // 12 matchable, 12 hit
  EXPECT_EQ(bm.MatchPrefix(Iota(9, 0), 8, c), 8);
  const auto stats = bm.prefix_stats();
  EXPECT_EQ(stats.query_tokens, 12 + 12 + 8);
  EXPECT_EQ(stats.hit_tokens, 12 + 8);
  EXPECT_EQ(stats.cached_blocks, 3);
}

TEST(BlockManagerTest, ClearPrefixCacheFreesEvictableBlocks) {
  auto kv = MakeKv(8, 2);
  BlockManager bm(*kv, true);
  const std::vector<int32_t> p = {1, 2, 3, 4, 5};
  const std::vector<int32_t> q = {6, 7, 8};
  BlockTable a, b;
  Prefill(bm, p, a);
  Prefill(bm, q, b);
  bm.Release(b);
  EXPECT_EQ(bm.prefix_stats().cached_blocks, 3);
  EXPECT_EQ(kv->allocator().num_free(), 8 - 3 - 1);

  bm.ClearPrefixCache();
  EXPECT_EQ(bm.prefix_stats().cached_blocks, 0);
  EXPECT_EQ(bm.num_evictable_blocks(), 0);
  EXPECT_EQ(kv->allocator().num_free(), 8 - 3);
  for (int32_t block : a.blocks()) {
    EXPECT_FALSE(bm.IsCached(block));
    EXPECT_EQ(bm.RefCount(block), 1);
  }
  BlockTable c;
  EXPECT_EQ(bm.MatchPrefix(p, 4, c), 0);
  bm.Release(a);
  EXPECT_EQ(kv->allocator().num_free(), 8);
  EXPECT_EQ(bm.num_free_blocks(), 8);
}

TEST(BlockManagerTest, IdenticalBlocksComputedConcurrentlyStayPrivate) {
  auto kv = MakeKv(16, 2);
  BlockManager bm(*kv, true);
  const std::vector<int32_t> prompt = {1, 2, 3, 4};
  BlockTable a, b;
  EXPECT_EQ(bm.MatchPrefix(prompt, 3, a), 0);
  EXPECT_EQ(bm.MatchPrefix(prompt, 3, b), 0);
  ASSERT_TRUE(bm.Reserve(a, 4).ok());
  ASSERT_TRUE(bm.Reserve(b, 4).ok());
  bm.CommitFullBlocks(a, prompt, 4);
  bm.CommitFullBlocks(b, prompt, 4);
  EXPECT_EQ(a.hashes(), b.hashes());
  EXPECT_EQ(bm.prefix_stats().cached_blocks, 2);
  EXPECT_FALSE(bm.IsCached(b.blocks()[0]));
  EXPECT_EQ(bm.RefCount(b.blocks()[0]), 1);

  // b's own continuation still chains onto the shared content.
  const std::vector<int32_t> b_tokens = {1, 2, 3, 4, 9, 9};
  ASSERT_TRUE(bm.Reserve(b, 6).ok());
  bm.CommitFullBlocks(b, b_tokens, 6);
  EXPECT_TRUE(bm.IsCached(b.blocks()[2]));
  const std::vector<int32_t> b_blocks = b.blocks();
  bm.Release(b);
  EXPECT_EQ(bm.RefCount(b_blocks[0]), 0);  // private duplicate: freed, not evictable
  BlockTable c;
  EXPECT_EQ(bm.MatchPrefix(b_tokens, 6, c), 6);
  EXPECT_THAT(c.blocks(), ElementsAre(a.blocks()[0], a.blocks()[1], b_blocks[2]));
}

uint64_t WeakHash(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = parent;
  for (int32_t t : tokens) h += static_cast<uint64_t>(t);
  return h;
}

TEST(BlockManagerTest, HashCollisionIsNotAHit) {
  auto kv = MakeKv(16, 2);
  BlockManager bm(*kv, true, &WeakHash);
  const std::vector<int32_t> p = {1, 2, 0};
  const std::vector<int32_t> q = {2, 1, 0};  // same weak hash
  BlockTable a, b, c;
  Prefill(bm, p, a);
  EXPECT_EQ(Prefill(bm, q, b), 0);
  EXPECT_EQ(a.hashes(), b.hashes());
  EXPECT_EQ(bm.prefix_stats().cached_blocks, 1);
  EXPECT_FALSE(bm.IsCached(b.blocks()[0]));
  EXPECT_EQ(bm.MatchPrefix(p, 2, c), 2);
  EXPECT_EQ(c.blocks()[0], a.blocks()[0]);
}

TEST(BlockManagerTest, DisabledCachesNothing) {
  auto kv = MakeKv(8, 2);
  BlockManager bm(*kv, false);
  EXPECT_FALSE(bm.prefix_caching_enabled());
  const std::vector<int32_t> p = {1, 2, 3, 4, 5};
  BlockTable a, b;
  EXPECT_EQ(Prefill(bm, p, a), 0);
  EXPECT_THAT(a.hashes(), IsEmpty());
  EXPECT_EQ(Prefill(bm, p, b), 0);
  EXPECT_NE(a.blocks()[0], b.blocks()[0]);
  bm.Release(a);
  bm.Release(b);
  EXPECT_EQ(kv->allocator().num_free(), 8);
  EXPECT_EQ(bm.num_evictable_blocks(), 0);
  const auto stats = bm.prefix_stats();
  EXPECT_EQ(stats.query_tokens, 0);
  EXPECT_EQ(stats.hit_tokens, 0);
  EXPECT_EQ(stats.cached_blocks, 0);
}

TEST(BlockManagerTest, DestructorReturnsCachedBlocks) {
  auto kv = MakeKv(8, 2);
  {
    BlockManager bm(*kv, true);
    BlockTable a;
    Prefill(bm, {1, 2, 3, 4, 5}, a);
    bm.Release(a);
    EXPECT_EQ(kv->allocator().num_free(), 6);
  }
  EXPECT_EQ(kv->allocator().num_free(), 8);
}

// Random sequences sharing random prefixes over a tiny vocabulary (so equal
// blocks after different prefixes are common), fed in random chunks and
// released in random order under block pressure. A shadow records, per
// physical block, the token prefix its KV was last computed from.
class RandomizedTest : public ::testing::TestWithParam<int> {};

struct SimSeq {
  std::vector<int32_t> tokens;
  int64_t computed = 0;
  int64_t max_len = 0;
  BlockTable table;
};

TEST_P(RandomizedTest, KeepsInvariantsAndNeverReturnsWrongBlocks) {
  constexpr int32_t kBlocks = 24;
  constexpr int64_t kBs = 3;
  auto kv = MakeKv(kBlocks, kBs);
  BlockManager bm(*kv, true);
  std::mt19937 rng(GetParam());
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };

  std::vector<std::vector<int32_t>> bases;
  for (int i = 0; i < 4; ++i) {
    std::vector<int32_t> base(uniform(3, 20));
    for (auto& t : base) t = static_cast<int32_t>(uniform(0, 2));
    bases.push_back(base);
  }
  std::vector<std::vector<int32_t>> shadow(kBlocks);
  std::vector<std::unique_ptr<SimSeq>> seqs;
  int64_t evictions = 0;

  auto check_invariants = [&] {
    std::vector<int> holders(kBlocks, 0);
    for (const auto& s : seqs) {
      for (int32_t b : s->table.blocks()) ++holders[b];
      ASSERT_LE(s->table.hashes().size(), s->table.blocks().size());
    }
    int64_t free = 0, evictable = 0, used = 0, cached = 0;
    for (int32_t b = 0; b < kBlocks; ++b) {
      const bool is_cached = bm.IsCached(b);
      ASSERT_EQ(bm.RefCount(b), holders[b] + (is_cached ? 1 : 0)) << "block " << b;
      ASSERT_EQ(bm.IsEvictable(b), is_cached && holders[b] == 0) << "block " << b;
      const int states = (bm.RefCount(b) == 0) + bm.IsEvictable(b) + (holders[b] > 0);
      ASSERT_EQ(states, 1) << "block " << b;
      free += bm.RefCount(b) == 0;
      evictable += bm.IsEvictable(b);
      used += holders[b] > 0;
      cached += is_cached;
      if (is_cached) {
        ASSERT_EQ(static_cast<int64_t>(shadow[b].size()) % kBs, 0);
        ASSERT_GE(static_cast<int64_t>(shadow[b].size()), kBs);
        ASSERT_THAT(bm.CachedTokens(b), ElementsAreArray(shadow[b].end() - kBs, shadow[b].end()));
      }
    }
    ASSERT_EQ(bm.num_free_blocks(), free + evictable);
    ASSERT_EQ(bm.num_evictable_blocks(), evictable);
    ASSERT_EQ(bm.num_used_blocks(), used);
    ASSERT_EQ(bm.num_free_blocks() + bm.num_used_blocks(), bm.num_blocks());
    ASSERT_EQ(bm.prefix_stats().cached_blocks, cached);
  };

  for (int op = 0; op < 4000; ++op) {
    const int64_t kind = uniform(0, 9);
    if (kind <= 1 && seqs.size() < 8) {  // a new sequence
      auto s = std::make_unique<SimSeq>();
      const auto& base = bases[uniform(0, bases.size() - 1)];
      s->tokens.assign(base.begin(), base.begin() + uniform(0, base.size()));
      for (int64_t n = uniform(s->tokens.empty() ? 1 : 0, 6); n > 0; --n) {
        s->tokens.push_back(static_cast<int32_t>(uniform(0, 2)));
      }
      s->max_len = static_cast<int64_t>(s->tokens.size()) + uniform(0, 8);
      const auto prompt = s->tokens;
      const int64_t matched =
          bm.MatchPrefix(prompt, static_cast<int64_t>(prompt.size()) - 1, s->table);
      ASSERT_EQ(matched % kBs, 0);
      ASSERT_LT(matched, static_cast<int64_t>(prompt.size()));
      ASSERT_EQ(static_cast<int64_t>(s->table.blocks().size()), matched / kBs);
      for (int64_t i = 0; i < matched / kBs; ++i) {
        const std::vector<int32_t> want(prompt.begin(), prompt.begin() + (i + 1) * kBs);
        ASSERT_EQ(shadow[s->table.blocks()[i]], want) << "a matched block holds other tokens";
      }
      s->computed = matched;
      seqs.push_back(std::move(s));
    } else if (kind <= 6 && !seqs.empty()) {  // compute a chunk (or a decode step)
      SimSeq& s = *seqs[uniform(0, seqs.size() - 1)];
      if (s.computed == static_cast<int64_t>(s.tokens.size())) {
        if (static_cast<int64_t>(s.tokens.size()) >= s.max_len) continue;
        s.tokens.push_back(static_cast<int32_t>(uniform(0, 2)));
      }
      const int64_t end = std::min<int64_t>(s.tokens.size(), s.computed + uniform(1, 7));
      const int64_t cached_before = bm.prefix_stats().cached_blocks;
      const int64_t free_before = kv->allocator().num_free();
      const int64_t new_blocks = kv->BlocksFor(end) - static_cast<int64_t>(s.table.blocks().size());
      const bool can = bm.CanAllocate(std::max<int64_t>(new_blocks, 0));
      const absl::Status st = bm.Reserve(s.table, end);
      ASSERT_EQ(st.ok(), can) << st;
      if (!st.ok()) continue;
      evictions += std::max<int64_t>(new_blocks - free_before, 0);
      ASSERT_EQ(bm.prefix_stats().cached_blocks,
                cached_before - std::max<int64_t>(new_blocks - free_before, 0));
      for (int64_t pos = s.computed; pos < end; ++pos) {
        const int32_t b = s.table.blocks()[pos / kBs];
        ASSERT_FALSE(bm.IsCached(b)) << "writing into a cached block";
        ASSERT_EQ(bm.RefCount(b), 1) << "writing into a shared block";
        shadow[b].assign(s.tokens.begin(), s.tokens.begin() + pos + 1);
      }
      s.computed = end;
      bm.CommitFullBlocks(s.table, s.tokens, s.computed);
      ASSERT_EQ(static_cast<int64_t>(s.table.hashes().size()), s.computed / kBs);
    } else if (kind <= 8 && !seqs.empty()) {  // finish or preempt a sequence
      const size_t i = uniform(0, seqs.size() - 1);
      bm.Release(seqs[i]->table);
      seqs.erase(seqs.begin() + i);
    } else if (kind == 9 && uniform(0, 20) == 0) {
      bm.ClearPrefixCache();
    }
    check_invariants();
    if (HasFatalFailure()) return;
  }
  for (auto& s : seqs) bm.Release(s->table);
  seqs.clear();
  check_invariants();
  EXPECT_EQ(bm.num_used_blocks(), 0);
  EXPECT_EQ(bm.num_free_blocks(), kBlocks);
  EXPECT_GT(bm.prefix_stats().hit_tokens, 0);
  EXPECT_GT(evictions, 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomizedTest, ::testing::Range(1, 9));

}  // namespace
}  // namespace llmw
