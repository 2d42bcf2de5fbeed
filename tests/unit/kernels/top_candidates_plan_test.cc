// How cuda::TopCandidates spreads its work (kernels/cuda/top_candidates_plan.h): slices only for
// too few rows to fill the GPU, each slice holding at least the row's top_n (so the slices' best
// hold the row's best) and the minimum slice size, within the scratch.
#include "kernels/cuda/top_candidates_plan.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace llmw::cuda {
namespace {

constexpr int64_t kScratch = kTopCandidatesScratchBytes / 8;

TEST(TopCandidatesPlanTest, FewRowsOfALargeVocabularyAreSliced) {
  EXPECT_EQ(TopCandidatesSlices(1, 262144, 1, kScratch), 32);
  EXPECT_EQ(TopCandidatesSlices(1, 49152, 1, kScratch), 12);   // slices of 4,096
  EXPECT_EQ(TopCandidatesSlices(8, 128256, 40, kScratch), 8);  // 64 blocks
  EXPECT_EQ(TopCandidatesSlices(3, 262144, 1024, kScratch), 22);
}

TEST(TopCandidatesPlanTest, OneBlockPerRowOtherwise) {
  EXPECT_EQ(TopCandidatesSlices(64, 262144, 1, kScratch), 1);  // rows fill the GPU
  EXPECT_EQ(TopCandidatesSlices(1, 4099, 1, kScratch), 1);     // too short to cut
  EXPECT_EQ(TopCandidatesSlices(1, 262144, 1, 0), 1);          // no scratch
  EXPECT_EQ(TopCandidatesSlices(2, 1 << 20, 1024, 1024), 1);   // results would not fit
  EXPECT_EQ(TopCandidatesSlices(0, 262144, 1, kScratch), 1);
}

TEST(TopCandidatesPlanTest, EverySliceHoldsTheTopNAndTheResultsFit) {
  for (int64_t rows = 1; rows < 80; rows += 3) {
    for (const int64_t vocab : {1, 1000, 32000, 49152, 128256, 151936, 262144}) {
      for (const int64_t top_n : {1, 40, 1000, 1024}) {
        if (top_n > vocab) continue;
        const int64_t slices = TopCandidatesSlices(rows, vocab, top_n, kScratch);
        ASSERT_GE(slices, 1);
        if (slices == 1) continue;
        EXPECT_LT(rows, kTopCandidatesTargetBlocks);
        EXPECT_LE(slices, kTopCandidatesMaxSlices);
        EXPECT_GE(vocab / slices, top_n) << rows << " " << vocab << " " << top_n;
        EXPECT_GE(vocab / slices, kTopCandidatesMinSliceEntries);
        EXPECT_LE(rows * slices * top_n, kScratch);
      }
    }
  }
}

}  // namespace
}  // namespace llmw::cuda
