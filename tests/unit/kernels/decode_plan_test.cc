// Tests of PlanDecode and DecodeTargetBlocks: the split count of decode attention fills the GPU
// from the counts alone, stays within its scratch, and groups query heads that share a KV head.
#include "kernels/decode_plan.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace llmw {
namespace {

constexpr int64_t kH200Sms = 132;
// An H200 whose multiprocessors hold 4 decode blocks each.
const int64_t kH200 = DecodeTargetBlocks(kH200Sms, 4);
constexpr int64_t kAmpleScratch = int64_t{1} << 40;

// Thread blocks of a plan's decode kernel.
int64_t Blocks(int64_t n_chunks, int64_t n_heads, const DecodePlan& plan) {
  return n_chunks * (n_heads / plan.heads_per_block) * plan.splits;
}

TEST(DecodePlanTest, SmallBatchFillsTheGpu) {
  // Llama-3.1-8B: 32 query heads over 8 KV heads of 128.
  for (int64_t n_chunks : {1, 2, 4, 8, 16}) {
    const DecodePlan plan = PlanDecode(n_chunks, 32, 8, 128, kH200, kAmpleScratch);
    EXPECT_EQ(plan.heads_per_block, 4);
    EXPECT_GT(plan.splits, 1) << n_chunks;
    EXPECT_GE(Blocks(n_chunks, 32, plan), 2 * kH200Sms) << n_chunks;
  }
  // One sequence of 8 KV heads: 528 blocks would take 66 splits; the cap holds.
  EXPECT_EQ(PlanDecode(1, 32, 8, 128, kH200, kAmpleScratch).splits, kMaxDecodeSplits);
  EXPECT_EQ(PlanDecode(8, 32, 8, 128, kH200, kAmpleScratch).splits, 9);  // ceil(528 / 64)
}

TEST(DecodePlanTest, BatchThatFillsTheGpuAloneIsNotSplit) {
  EXPECT_EQ(PlanDecode(66, 32, 8, 128, kH200, kAmpleScratch).splits, 1);  // 528 blocks
  EXPECT_EQ(PlanDecode(256, 32, 8, 128, kH200, kAmpleScratch).splits, 1);
  EXPECT_EQ(PlanDecode(65, 32, 8, 128, kH200, kAmpleScratch).splits, 2);  // 520 blocks
  // Without GQA every query head is a block of its own: 64 chunks of 32 heads fill it alone.
  EXPECT_EQ(PlanDecode(64, 32, 32, 64, kH200, kAmpleScratch).splits, 1);
}

TEST(DecodePlanTest, DependsOnlyOnCountsAndScalesWithTheGpu) {
  // The same counts give the same plan (there is no other input: no context length).
  const DecodePlan a = PlanDecode(3, 9, 3, 64, 80, kAmpleScratch);
  const DecodePlan b = PlanDecode(3, 9, 3, 64, 80, kAmpleScratch);
  EXPECT_EQ(a.splits, b.splits);
  EXPECT_EQ(a.heads_per_block, 3);
  EXPECT_EQ(a.splits, 9);  // 3 chunks · 3 groups = 9 blocks; ceil(80 / 9)
  // A smaller GPU needs fewer splits for the same batch.
  EXPECT_LT(PlanDecode(4, 32, 8, 128, DecodeTargetBlocks(16, 4), kAmpleScratch).splits,
            PlanDecode(4, 32, 8, 128, kH200, kAmpleScratch).splits);
}

TEST(DecodePlanTest, TargetIsOneWaveOfAtLeastTwoBlocksPerMultiprocessor) {
  EXPECT_EQ(DecodeTargetBlocks(132, 3), 396);
  EXPECT_EQ(DecodeTargetBlocks(132, 1), 2 * 132);
  EXPECT_EQ(DecodeTargetBlocks(132, 0), 2 * 132);
  EXPECT_EQ(DecodeTargetBlocks(0, 0), kMinDecodeBlocksPerSm);  // unknown counts as one
  // A single decode on a one-block-per-SM kernel still gets two blocks per multiprocessor.
  const DecodePlan plan = PlanDecode(1, 32, 8, 128, DecodeTargetBlocks(16, 1), kAmpleScratch);
  EXPECT_GE(Blocks(1, 32, plan), 2 * 16);
}

TEST(DecodePlanTest, HeadsPerBlockIsTheLargestDivisorOfTheGroupUpToTheLimit) {
  EXPECT_EQ(PlanDecode(1, 8, 8, 64, 1, 0).heads_per_block, 1);  // no GQA
  EXPECT_EQ(PlanDecode(1, 32, 8, 64, 1, 0).heads_per_block, 4);
  EXPECT_EQ(PlanDecode(1, 16, 2, 64, 1, 0).heads_per_block, 8);
  EXPECT_EQ(PlanDecode(1, 14, 2, 64, 1, 0).heads_per_block, 7);  // Qwen2.5-0.5B
  EXPECT_EQ(PlanDecode(1, 32, 2, 64, 1, 0).heads_per_block, 8);  // group of 16
  EXPECT_EQ(PlanDecode(1, 24, 2, 64, 1, 0).heads_per_block, 6);  // group of 12
  EXPECT_EQ(PlanDecode(1, 22, 2, 64, 1, 0).heads_per_block, 1);  // group of 11, a prime
}

TEST(DecodePlanTest, ScratchBoundsTheSplits) {
  // No scratch: never split.
  EXPECT_EQ(PlanDecode(1, 32, 8, 128, kH200, 0).splits, 1);
  // Room for exactly 5 splits of 2 chunks of 32 heads of 128 (+ maximum and sum).
  const int64_t per_split = 2 * 32 * 130;
  EXPECT_EQ(PlanDecode(2, 32, 8, 128, kH200, 5 * per_split).splits, 5);
  EXPECT_EQ(PlanDecode(2, 32, 8, 128, kH200, 5 * per_split - 1).splits, 4);
  EXPECT_EQ(DecodeScratchFloats(2, 32, 128, 5), 5 * per_split);
  EXPECT_EQ(DecodeScratchFloats(2, 32, 128, 1), 0);
}

TEST(DecodePlanTest, MaxScratchHoldsEveryPlanUnbounded) {
  struct Model {
    int64_t n_heads, n_kv_heads, head_dim;
  };
  const Model models[] = {{32, 8, 128}, {9, 3, 64},    {14, 2, 64}, {32, 32, 80},
                          {8, 1, 256},  {16, 16, 256}, {22, 2, 4},  {1, 1, 1}};
  for (int64_t sms : {1, 7, 16, 108, 132}) {
    for (const Model& m : models) {
      const int64_t target = DecodeTargetBlocks(sms, 3);
      const int64_t capacity = MaxDecodeScratchFloats(target, m.n_heads * m.head_dim);
      for (int64_t n_chunks = 1; n_chunks <= 600; ++n_chunks) {
        const DecodePlan ample =
            PlanDecode(n_chunks, m.n_heads, m.n_kv_heads, m.head_dim, target, kAmpleScratch);
        const DecodePlan bounded =
            PlanDecode(n_chunks, m.n_heads, m.n_kv_heads, m.head_dim, target, capacity);
        ASSERT_EQ(bounded.splits, ample.splits) << sms << " SMs, " << n_chunks << " chunks";
        ASSERT_LE(DecodeScratchFloats(n_chunks, m.n_heads, m.head_dim, ample.splits), capacity);
        ASSERT_GE(ample.splits, 1);
        ASSERT_LE(ample.splits, kMaxDecodeSplits);
      }
    }
  }
}

TEST(DecodePlanTest, BadCountsGiveOneUnsplitHead) {
  for (const DecodePlan& plan :
       {PlanDecode(0, 32, 8, 128, 132, kAmpleScratch), PlanDecode(4, 7, 2, 128, 132, kAmpleScratch),
        PlanDecode(4, 8, 0, 128, 132, kAmpleScratch)}) {
    EXPECT_EQ(plan.heads_per_block, 1);
    EXPECT_EQ(plan.splits, 1);
  }
}

}  // namespace
}  // namespace llmw
