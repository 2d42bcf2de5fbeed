// Block allocator reference counts and KV cache block tables.
#include "models/kv_cache/kv_cache.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;

// Host memory for the caches of these tests.
Backend& Host() {
  static cpu::CpuBackend backend({.threads = 1});
  return backend;
}

TEST(BlockAllocatorTest, AllocatesEveryBlockOnceThenRunsOut) {
  BlockAllocator alloc(3);
  std::set<int32_t> seen;
  for (int i = 0; i < 3; ++i) {
    std::optional<int32_t> b = alloc.Allocate();
    ASSERT_TRUE(b.has_value());
    EXPECT_TRUE(seen.insert(*b).second);
  }
  EXPECT_FALSE(alloc.Allocate().has_value());
  EXPECT_EQ(alloc.num_used(), 3);
  EXPECT_EQ(alloc.num_free(), 0);
}

TEST(BlockAllocatorTest, SharedBlockFreedOnLastRelease) {
  BlockAllocator alloc(2);
  const int32_t b = *alloc.Allocate();
  alloc.AddRef(b);
  EXPECT_EQ(alloc.RefCount(b), 2);
  alloc.Release(b);
  EXPECT_EQ(alloc.num_free(), 1);
  alloc.Release(b);
  EXPECT_EQ(alloc.num_free(), 2);
  EXPECT_EQ(alloc.RefCount(b), 0);
}

TEST(KvCacheTest, ReserveGrowsTableByWholeBlocks) {
  auto kv = KvCache::Create({2, 1, 4}, 4, 5, Host());
  ASSERT_TRUE(kv.ok());
  BlockTable table;
  ASSERT_TRUE((*kv)->Reserve(table, 1).ok());
  EXPECT_EQ(table.blocks().size(), 1u);
  ASSERT_TRUE((*kv)->Reserve(table, 9).ok());
  EXPECT_EQ(table.blocks().size(), 3u);
  EXPECT_EQ((*kv)->allocator().num_used(), 3);
  (*kv)->Release(table);
  EXPECT_TRUE(table.blocks().empty());
  EXPECT_EQ((*kv)->allocator().num_used(), 0);
}

TEST(KvCacheTest, ReserveBeyondCapacityFailsAndKeepsTable) {
  auto kv = KvCache::Create({1, 1, 2}, 4, 2, Host());
  ASSERT_TRUE(kv.ok());
  BlockTable table;
  ASSERT_TRUE((*kv)->Reserve(table, 4).ok());
  const absl::Status s = (*kv)->Reserve(table, 12);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("2 more blocks needed, 1 free of 2"));
  EXPECT_EQ(table.blocks().size(), 1u);
}

TEST(KvCacheTest, LayersDoNotOverlap) {
  auto kv = KvCache::Create({2, 2, 3}, 2, 4, Host());
  ASSERT_TRUE(kv.ok());
  BlockTable table;
  ASSERT_TRUE((*kv)->Reserve(table, 8).ok());
  std::set<float*> slots;
  for (int layer = 0; layer < 2; ++layer) {
    const PagedKvLayer l = (*kv)->Layer(layer);
    for (int pos = 0; pos < 8; ++pos) {
      EXPECT_TRUE(slots.insert(l.KeyAt(table.data(), pos)).second);
      EXPECT_TRUE(slots.insert(l.ValueAt(table.data(), pos)).second);
    }
  }
}

TEST(KvCacheTest, RejectsInvalidSizes) {
  EXPECT_FALSE(KvCache::Create({1, 1, 1}, 0, 4, Host()).ok());
  EXPECT_FALSE(KvCache::Create({1, 1, 1}, 16, 0, Host()).ok());
  EXPECT_FALSE(KvCache::Create({1, 1, 1, DType::kQ8_0}, 16, 4, Host()).ok());
}

TEST(KvCacheTest, SixteenBitCachesTakeHalfTheBytes) {
  auto f32 = KvCache::Create({2, 2, 8, DType::kF32}, 4, 3, Host());
  auto f16 = KvCache::Create({2, 2, 8, DType::kF16}, 4, 3, Host());
  auto bf16 = KvCache::Create({2, 2, 8, DType::kBF16}, 4, 3, Host());
  ASSERT_TRUE(f32.ok() && f16.ok() && bf16.ok());
  EXPECT_EQ((*f32)->bytes(), 2 * 2 * 2 * 8 * 4 * 3 * 4);
  EXPECT_EQ((*f16)->bytes(), (*f32)->bytes() / 2);
  EXPECT_EQ((*bf16)->bytes(), (*f32)->bytes() / 2);
  // Layer 1's keys start after layer 0's keys and values.
  const PagedKvLayer l0 = (*f16)->Layer(0), l1 = (*f16)->Layer(1);
  EXPECT_EQ(l1.dtype, DType::kF16);
  EXPECT_EQ(static_cast<char*>(l1.k) - static_cast<char*>(l0.k), 2 * 4 * 3 * 2 * 8 * 2);
}

TEST(KvCacheTest, PaddingBlockIsNeverHandedOutNorCounted) {
  auto plain = KvCache::Create({1, 1, 2}, 4, 5, Host());
  auto padded = KvCache::Create({1, 1, 2}, 4, 5, Host(), /*padding_block=*/true);
  ASSERT_TRUE(plain.ok() && padded.ok());
  KvCache& kv = **padded;
  EXPECT_EQ((*plain)->padding_block(), -1);
  EXPECT_EQ(kv.padding_block(), 4);
  // Its storage is there; the allocator and the capacity leave it out.
  EXPECT_EQ(kv.bytes(), (*plain)->bytes());
  EXPECT_EQ(kv.allocator().num_blocks(), 4);
  EXPECT_EQ(kv.capacity_tokens(), 16);
  // Every block, including the ones freed and handed out again.
  BlockTable a, b;
  ASSERT_TRUE(kv.Reserve(a, 9).ok());
  ASSERT_TRUE(kv.Reserve(b, 4).ok());
  EXPECT_EQ(kv.Reserve(b, 5).code(), absl::StatusCode::kResourceExhausted);
  kv.Release(a);
  ASSERT_TRUE(kv.Reserve(b, 16).ok());
  EXPECT_THAT(b.blocks(), ::testing::UnorderedElementsAre(0, 1, 2, 3));
  // The padding block's slots are the cache's last, apart from every other block's.
  const PagedKvLayer layer = kv.Layer(0);
  const int32_t padding[] = {kv.padding_block()};
  std::set<float*> keys;
  for (int pos = 0; pos < 16; ++pos) keys.insert(layer.KeyAt(b.data(), pos));
  for (int pos = 0; pos < 4; ++pos) EXPECT_EQ(keys.count(layer.KeyAt(padding, pos)), 0u);
}

TEST(KvCacheTest, PaddingBlockNeedsAnotherBlock) {
  const absl::StatusOr<std::unique_ptr<KvCache>> kv =
      KvCache::Create({1, 1, 1}, 4, 1, Host(), /*padding_block=*/true);
  ASSERT_FALSE(kv.ok());
  EXPECT_THAT(kv.status().message(), HasSubstr("one for padding"));
}

}  // namespace
}  // namespace llmw
