// The CUDA kernels' row layout of block-format weights (kernels/cuda/repacked_layout.h) and the
// plan of which uploaded rows get it (kernels/cuda/repack_plan.h), on the host: repacking and
// reading back gives the original rows, each block's quants are its integer-weight fields and lie
// 16-byte aligned and contiguous, and rows viewed several times are repacked once.
#include "kernels/cuda/repacked_layout.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernels/block_formats.h"
#include "kernels/cuda/repack_plan.h"

namespace llmw {
namespace {

namespace cb = cuda_blocks;

const DType kBlockFormats[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                               DType::kQ8_0, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K,
                               DType::kQ5_K, DType::kQ6_K};

std::string Name(DType t) { return std::string(DTypeName(t)); }

// [begin, end) of each block's integer weights, from the block structs.
struct Range {
  size_t begin, end;
};

Range QuantFields(DType t) {
  switch (t) {
    case DType::kQ4_0:
      return {offsetof(BlockQ4_0, qs), sizeof(BlockQ4_0)};
    case DType::kQ4_1:
      return {offsetof(BlockQ4_1, qs), sizeof(BlockQ4_1)};
    case DType::kQ5_0:
      return {offsetof(BlockQ5_0, qs), sizeof(BlockQ5_0)};
    case DType::kQ5_1:
      return {offsetof(BlockQ5_1, qs), sizeof(BlockQ5_1)};
    case DType::kQ8_0:
      return {offsetof(BlockQ8_0, qs), sizeof(BlockQ8_0)};
    case DType::kQ2_K:  // the 4-bit scales and mins ride with the 2-bit codes
      return {offsetof(BlockQ2_K, scales), offsetof(BlockQ2_K, d)};
    case DType::kQ3_K:
      return {offsetof(BlockQ3_K, hmask), offsetof(BlockQ3_K, scales)};
    case DType::kQ4_K:
      return {offsetof(BlockQ4_K, qs), sizeof(BlockQ4_K)};
    case DType::kQ5_K:
      return {offsetof(BlockQ5_K, qh), sizeof(BlockQ5_K)};
    case DType::kQ6_K:
      return {offsetof(BlockQ6_K, ql), offsetof(BlockQ6_K, scales)};
    default:
      return {0, 0};
  }
}

TEST(RepackedLayoutTest, SplitIsTheBlockQuantFields) {
  for (DType t : kBlockFormats) {
    const cb::BlockSplit split = cb::SplitOf(t);
    const Range quants = QuantFields(t);
    EXPECT_EQ(split.block_bytes, Traits(t).block_bytes) << Name(t);
    EXPECT_EQ(static_cast<size_t>(split.quants_offset), quants.begin) << Name(t);
    EXPECT_EQ(static_cast<size_t>(split.quants_offset + split.quants_bytes), quants.end) << Name(t);
    EXPECT_EQ(split.quants_bytes % 16, 0) << Name(t) << ": quants are not whole 16-byte loads";
    // Every field moves in 16-bit halves (repack.cu relies on it).
    EXPECT_EQ(split.quants_offset % 2, 0) << Name(t);
    EXPECT_EQ(split.quants_bytes % 2, 0) << Name(t);
    EXPECT_EQ(split.meta_bytes() % 2, 0) << Name(t);
  }
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_K}) {
    EXPECT_EQ(cb::SplitOf(t).quants_bytes, 0) << Name(t) << " is not repacked";
  }
}

TEST(RepackedLayoutTest, RepackIsAPermutationAndUnpackRestoresTheRow) {
  std::mt19937 rng(7);
  for (DType t : kBlockFormats) {
    for (int64_t nb : {1, 3, 8, 18, 56}) {
      const cb::BlockSplit split = cb::SplitOf(t);
      const int64_t bytes = nb * split.block_bytes;
      std::vector<uint8_t> row(static_cast<size_t>(bytes)), repacked(row.size()),
          back(row.size(), 0xa5);
      for (uint8_t& b : row) b = static_cast<uint8_t>(rng());
      cb::RepackRow(t, nb, row.data(), repacked.data());
      cb::UnpackRow(t, nb, repacked.data(), back.data());
      EXPECT_EQ(back, row) << Name(t) << " nb " << nb;

      // Each source byte is taken exactly once.
      std::set<int64_t> sources;
      for (int64_t i = 0; i < bytes; ++i) sources.insert(cb::RepackedSourceOffset(split, nb, i));
      EXPECT_EQ(static_cast<int64_t>(sources.size()), bytes) << Name(t);
      EXPECT_EQ(*sources.begin(), 0);
      EXPECT_EQ(*sources.rbegin(), bytes - 1);
    }
  }
}

TEST(RepackedLayoutTest, BlocksReadBackFromQuantsAndMeta) {
  std::mt19937 rng(11);
  for (DType t : kBlockFormats) {
    const cb::BlockSplit split = cb::SplitOf(t);
    constexpr int64_t kBlocks = 9;
    std::vector<uint8_t> row(static_cast<size_t>(kBlocks * split.block_bytes));
    for (uint8_t& b : row) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> repacked(row.size());
    cb::RepackRow(t, kBlocks, row.data(), repacked.data());
    for (int64_t b = 0; b < kBlocks; ++b) {
      const uint8_t* block = row.data() + b * split.block_bytes;
      const int64_t quants = cb::QuantsOffset(split, b);
      const int64_t meta = cb::MetaOffset(split, kBlocks, b);
      EXPECT_EQ(quants % 16, 0) << Name(t) << " block " << b << ": quants not 16-byte aligned";
      // The quants, contiguous; the meta: the bytes before them, then those after.
      EXPECT_EQ(std::vector<uint8_t>(repacked.begin() + quants,
                                     repacked.begin() + quants + split.quants_bytes),
                std::vector<uint8_t>(block + split.quants_offset,
                                     block + split.quants_offset + split.quants_bytes))
          << Name(t) << " block " << b;
      std::vector<uint8_t> want_meta(block, block + split.quants_offset);
      want_meta.insert(want_meta.end(), block + split.quants_offset + split.quants_bytes,
                       block + split.block_bytes);
      EXPECT_EQ(std::vector<uint8_t>(repacked.begin() + meta,
                                     repacked.begin() + meta + split.meta_bytes()),
                want_meta)
          << Name(t) << " block " << b;
    }
  }
}

using cuda::RowRun;
using cuda::RowsToRepack;

TEST(RepackPlanTest, ViewsOfTheSameRowsAreRepackedOnce) {
  const int64_t row = RowBytes(DType::kQ4_0, 256);  // 144 bytes
  // A fused projection [12 rows] and its three row views, a tied table twice, a float weight.
  const std::vector<RowRun> runs = {
      {DType::kQ4_0, 256, 4 * row, 4}, {DType::kQ4_0, 256, 0, 12},
      {DType::kQ4_0, 256, 0, 4},       {DType::kQ4_0, 256, 8 * row, 4},
      {DType::kQ6_K, 512, 100000, 7},  {DType::kQ6_K, 512, 100000, 7},
      {DType::kF32, 64, 50000, 3},     {DType::kQ8_0, 64, 60000, 0},
  };
  const absl::StatusOr<std::vector<RowRun>> plan = RowsToRepack(runs);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->size(), 2u);
  EXPECT_EQ((*plan)[0].dtype, DType::kQ4_0);
  EXPECT_EQ((*plan)[0].offset, 0);
  EXPECT_EQ((*plan)[0].rows, 12);
  EXPECT_EQ((*plan)[1].dtype, DType::kQ6_K);
  EXPECT_EQ((*plan)[1].offset, 100000);
  EXPECT_EQ((*plan)[1].rows, 7);
}

TEST(RepackPlanTest, PartlyOverlappingViewsJoinAndNeighboursStayApart) {
  const int64_t row = RowBytes(DType::kQ8_0, 64);  // 68 bytes
  const absl::StatusOr<std::vector<RowRun>> plan = RowsToRepack({
      {DType::kQ8_0, 64, 0, 5},
      {DType::kQ8_0, 64, 3 * row, 5},  // rows 3..7: joins to 0..7
      {DType::kQ8_0, 64, 8 * row, 2},  // touches, does not overlap
  });
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->size(), 2u);
  EXPECT_EQ((*plan)[0].rows, 8);
  EXPECT_EQ((*plan)[1].offset, 8 * row);
  EXPECT_EQ((*plan)[1].rows, 2);
}

TEST(RepackPlanTest, RejectsBytesSharedByDifferentRows) {
  const int64_t row = RowBytes(DType::kQ4_0, 256);
  for (const RowRun& other : {RowRun{DType::kQ4_0, 512, 0, 2}, RowRun{DType::kQ4_1, 256, 0, 2},
                              RowRun{DType::kQ4_0, 256, row / 2, 2}}) {
    const absl::StatusOr<std::vector<RowRun>> plan =
        RowsToRepack({{DType::kQ4_0, 256, 0, 4}, other});
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace llmw
