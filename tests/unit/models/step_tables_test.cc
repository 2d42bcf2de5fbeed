// Step tables on the host: a batch's layout, the choice of a decode step's bucket and its padding.
#include "models/step_tables.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/kv_cache/kv_cache.h"

namespace llmw {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr int32_t kUnwritten = -7;

// Host tables of room for `n` entries each, filled with kUnwritten.
struct Tables {
  explicit Tables(int n)
      : tokens(n, kUnwritten),
        positions(n, kUnwritten),
        slots(n, kUnwritten),
        rows(n, kUnwritten),
        chunks(n, StepChunk{kUnwritten, kUnwritten, kUnwritten, kUnwritten}),
        blocks(n, kUnwritten) {}
  HostStepTables view() {
    return {tokens.data(), positions.data(), slots.data(),
            rows.data(),   chunks.data(),    blocks.data()};
  }
  std::vector<int32_t> tokens, positions, slots, rows;
  std::vector<StepChunk> chunks;
  std::vector<int32_t> blocks;
};

std::vector<int32_t> ChunkFields(const StepChunk& c) {
  return {c.first_token, c.n_tokens, c.start_pos, c.block_table};
}

BlockTable Blocks(std::vector<int32_t> blocks) {
  BlockTable t;
  t.mutable_blocks() = std::move(blocks);
  return t;
}

TEST(DecodeBucketTest, NextPowerOfTwoUpToTheLargestBucket) {
  EXPECT_EQ(DecodeBucket(1, 64), 1);
  EXPECT_EQ(DecodeBucket(2, 64), 2);
  EXPECT_EQ(DecodeBucket(3, 64), 4);
  EXPECT_EQ(DecodeBucket(5, 64), 8);
  EXPECT_EQ(DecodeBucket(8, 64), 8);
  EXPECT_EQ(DecodeBucket(9, 64), 16);
  EXPECT_EQ(DecodeBucket(33, 64), 64);
  EXPECT_EQ(DecodeBucket(64, 64), 64);
  // A largest bucket that is no power of two is a bucket of its own.
  EXPECT_EQ(DecodeBucket(32, 48), 32);
  EXPECT_EQ(DecodeBucket(33, 48), 48);
  EXPECT_EQ(DecodeBucket(48, 48), 48);
  EXPECT_EQ(DecodeBucket(5, 6), 6);
  EXPECT_EQ(DecodeBucket(1, 1), 1);
}

TEST(DecodeBucketTest, NoBucketForEmptyOrOversizedBatches) {
  EXPECT_EQ(DecodeBucket(0, 64), 0);
  EXPECT_EQ(DecodeBucket(65, 64), 0);
  EXPECT_EQ(DecodeBucket(2, 1), 0);
}

TEST(DecodeBucketTest, EveryBatchSizeGetsTheSmallestBucketThatHoldsIt) {
  for (int64_t max_bucket : {1, 7, 16, 48, 64, 100}) {
    int64_t previous = 0;
    for (int64_t n = 1; n <= max_bucket; ++n) {
      const int64_t bucket = DecodeBucket(n, max_bucket);
      EXPECT_GE(bucket, n);
      EXPECT_LE(bucket, max_bucket);
      EXPECT_GE(bucket, previous);
      EXPECT_TRUE(bucket == max_bucket || (bucket & (bucket - 1)) == 0) << bucket;
      // The bucket below it (the largest power of two under it) would not hold the batch.
      int64_t below = 1;
      while (below * 2 < bucket) below *= 2;
      if (bucket > 1) EXPECT_LT(below, n) << n << " sequences in " << bucket;
      previous = bucket;
    }
  }
}

TEST(IsDecodeStepTest, OnlyOneTokenChunksThatWantLogits) {
  const std::vector<int32_t> one = {4}, two = {4, 5};
  const BlockTable table = Blocks({0});
  ForwardBatch batch;
  EXPECT_FALSE(IsDecodeStep(batch));
  batch.chunks.push_back({one, 3, &table, ChunkLogits::kLast});
  batch.chunks.push_back({one, 0, &table, ChunkLogits::kAll});
  EXPECT_TRUE(IsDecodeStep(batch));
  batch.chunks.push_back({one, 1, &table, ChunkLogits::kNone});
  EXPECT_FALSE(IsDecodeStep(batch));
  batch.chunks.back() = {two, 1, &table, ChunkLogits::kLast};
  EXPECT_FALSE(IsDecodeStep(batch));
}

TEST(FillStepTablesTest, LaysChunksOutOneAfterAnother) {
  // Blocks of 4 positions. A: a prefill chunk at positions 2..4 (blocks 9, 3) wanting its last
  // logits; B: one token at position 5 (blocks 1, 7) wanting all; C: positions 0..1, no logits.
  const std::vector<int32_t> a = {5, 6, 7}, b = {11}, c = {12, 13};
  const BlockTable ta = Blocks({9, 3}), tb = Blocks({1, 7}), tc = Blocks({2});
  ForwardBatch batch;
  batch.chunks.push_back({a, 2, &ta, ChunkLogits::kLast});
  batch.chunks.push_back({b, 5, &tb, ChunkLogits::kAll});
  batch.chunks.push_back({c, 0, &tc, ChunkLogits::kNone});
  Tables t(8);
  const StepCounts counts = FillStepTables(batch, 4, t.view());
  EXPECT_EQ(counts.n_tokens, 6);
  EXPECT_EQ(counts.n_chunks, 3);
  EXPECT_EQ(counts.n_logit_rows, 2);
  EXPECT_EQ(counts.n_block_entries, 5);
  EXPECT_THAT(t.tokens, ElementsAre(5, 6, 7, 11, 12, 13, kUnwritten, kUnwritten));
  EXPECT_THAT(t.positions, ElementsAre(2, 3, 4, 5, 0, 1, kUnwritten, kUnwritten));
  // block · 4 + position % 4
  EXPECT_THAT(t.slots, ElementsAre(38, 39, 12, 29, 8, 9, kUnwritten, kUnwritten));
  EXPECT_THAT(t.rows, ElementsAre(2, 3, kUnwritten, kUnwritten, kUnwritten, kUnwritten, kUnwritten,
                                  kUnwritten));
  EXPECT_THAT(ChunkFields(t.chunks[0]), ElementsAre(0, 3, 2, 0));
  EXPECT_THAT(ChunkFields(t.chunks[1]), ElementsAre(3, 1, 5, 2));
  EXPECT_THAT(ChunkFields(t.chunks[2]), ElementsAre(4, 2, 0, 4));
  EXPECT_EQ(t.chunks[3].first_token, kUnwritten);
  EXPECT_THAT(t.blocks, ElementsAre(9, 3, 1, 7, 2, kUnwritten, kUnwritten, kUnwritten));
}

// Three decoding sequences at positions 6, 1 and 9 of blocks of 4.
struct DecodeOfThree {
  std::vector<int32_t> tokens = {21, 22, 23};
  BlockTable t0 = Blocks({5, 6}), t1 = Blocks({4}), t2 = Blocks({0, 1, 2});
  ForwardBatch batch;
  DecodeOfThree() {
    batch.chunks.push_back({std::span(tokens).subspan(0, 1), 6, &t0, ChunkLogits::kLast});
    batch.chunks.push_back({std::span(tokens).subspan(1, 1), 1, &t1, ChunkLogits::kLast});
    batch.chunks.push_back({std::span(tokens).subspan(2, 1), 9, &t2, ChunkLogits::kLast});
  }
};

TEST(PadDecodeStepTest, PaddingChunksUseThePaddingBlockAfterTheBatch) {
  DecodeOfThree d;
  ASSERT_TRUE(IsDecodeStep(d.batch));
  const int32_t padding_block = 30;
  Tables unpadded(12), padded(12);
  const StepCounts counts = FillStepTables(d.batch, 4, unpadded.view());
  const StepCounts before = FillStepTables(d.batch, 4, padded.view());
  const int64_t bucket = DecodeBucket(3, 64);
  ASSERT_EQ(bucket, 4);
  const StepCounts after = PadDecodeStep(before, bucket, padding_block, 4, padded.view());
  EXPECT_EQ(counts.n_block_entries, 6);
  EXPECT_EQ(after.n_tokens, 4);
  EXPECT_EQ(after.n_chunks, 4);
  EXPECT_EQ(after.n_logit_rows, 4);
  EXPECT_EQ(after.n_block_entries, 7);
  // The batch's part is what it was unpadded.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(padded.tokens[i], unpadded.tokens[i]);
    EXPECT_EQ(padded.positions[i], unpadded.positions[i]);
    EXPECT_EQ(padded.slots[i], unpadded.slots[i]);
    EXPECT_EQ(padded.rows[i], unpadded.rows[i]);
    EXPECT_EQ(ChunkFields(padded.chunks[i]), ChunkFields(unpadded.chunks[i]));
  }
  EXPECT_THAT(std::vector<int32_t>(padded.blocks.begin(), padded.blocks.begin() + 6),
              ElementsAreArray(unpadded.blocks.begin(), unpadded.blocks.begin() + 6));
  EXPECT_THAT(std::vector<int32_t>(padded.slots.begin(), padded.slots.begin() + 3),
              ElementsAre(6 * 4 + 2, 4 * 4 + 1, 2 * 4 + 1));
  // The padding: token 0 at position 0 of the padding block, its logits row after the batch's.
  EXPECT_EQ(padded.tokens[3], 0);
  EXPECT_EQ(padded.positions[3], 0);
  EXPECT_EQ(padded.slots[3], padding_block * 4);
  EXPECT_EQ(padded.rows[3], 3);
  EXPECT_THAT(ChunkFields(padded.chunks[3]), ElementsAre(3, 1, 0, 6));
  EXPECT_EQ(padded.blocks[6], padding_block);
  EXPECT_EQ(padded.tokens[4], kUnwritten);
  EXPECT_EQ(padded.chunks[4].first_token, kUnwritten);
  EXPECT_EQ(padded.blocks[7], kUnwritten);
}

TEST(PadDecodeStepTest, AllPaddingChunksShareOneBlockTableEntry) {
  DecodeOfThree d;
  Tables t(20);
  const StepCounts before = FillStepTables(d.batch, 4, t.view());
  const StepCounts after = PadDecodeStep(before, 16, 2, 4, t.view());
  EXPECT_EQ(after.n_tokens, 16);
  EXPECT_EQ(after.n_chunks, 16);
  EXPECT_EQ(after.n_logit_rows, 16);
  EXPECT_EQ(after.n_block_entries, before.n_block_entries + 1);
  for (int c = 3; c < 16; ++c) {
    EXPECT_THAT(ChunkFields(t.chunks[c]), ElementsAre(c, 1, 0, 6)) << c;
    EXPECT_EQ(t.slots[c], 8);
    EXPECT_EQ(t.rows[c], c);
  }
}

TEST(PadDecodeStepTest, AFullBucketIsLeftAsItIs) {
  DecodeOfThree d;
  Tables t(8);
  const StepCounts before = FillStepTables(d.batch, 4, t.view());
  const std::vector<int32_t> blocks = t.blocks;
  const StepCounts after = PadDecodeStep(before, 3, 30, 4, t.view());
  EXPECT_EQ(after.n_tokens, 3);
  EXPECT_EQ(after.n_block_entries, before.n_block_entries);
  EXPECT_EQ(t.blocks, blocks);
  EXPECT_EQ(t.tokens[3], kUnwritten);
}

TEST(PadDecodeStepTest, ABucketsCountsDoNotDependOnContextLengths) {
  // What a captured graph fixes are the counts; the contexts only change table contents.
  DecodeOfThree short_contexts, long_contexts;
  for (SequenceChunk& c : long_contexts.batch.chunks) c.start_pos = 3;
  long_contexts.t0 = Blocks({5}), long_contexts.t1 = Blocks({4}), long_contexts.t2 = Blocks({0});
  Tables a(12), b(12);
  const StepCounts pa =
      PadDecodeStep(FillStepTables(short_contexts.batch, 4, a.view()), 4, 9, 4, a.view());
  const StepCounts pb =
      PadDecodeStep(FillStepTables(long_contexts.batch, 4, b.view()), 4, 9, 4, b.view());
  EXPECT_EQ(pa.n_tokens, pb.n_tokens);
  EXPECT_EQ(pa.n_chunks, pb.n_chunks);
  EXPECT_EQ(pa.n_logit_rows, pb.n_logit_rows);
  EXPECT_NE(pa.n_block_entries, pb.n_block_entries);
}

}  // namespace
}  // namespace llmw
