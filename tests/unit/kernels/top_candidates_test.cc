// cpu::TopCandidates against a sort of the whole row: random rows with ties, -inf, +inf, NaN and
// signed zeros, every top_n from 1 to the whole row, and the values at extra ids.
#include "kernels/cpu/top_candidates.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/kernels/logit_rows_test_util.h"

namespace llmw::cpu {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The ids of the top_n largest values (NaN last, -0 == +0, lower id first on a tie), ascending.
std::vector<int32_t> ReferenceTop(const float* row, int64_t vocab, int64_t top_n) {
  std::vector<int32_t> ids(vocab);
  std::iota(ids.begin(), ids.end(), 0);
  const auto rank = [](float v) { return std::isnan(v) ? -kInf : v; };
  std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    const bool nan_a = std::isnan(row[a]), nan_b = std::isnan(row[b]);
    if (nan_a != nan_b) return nan_b;
    return rank(row[a]) > rank(row[b]);
  });
  ids.resize(top_n);
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

TEST(TopCandidatesTest, MatchesSortingTheWholeRowWithScratchReused) {
  std::mt19937 rng(7);
  TopCandidatesScratch scratch;  // one for every call, as a backend keeps it
  for (const int64_t vocab : {1, 5, 64, 1000, 4099}) {
    for (int kind = 0; kind < testing::kLogitRowKinds; ++kind) {
      const int64_t rows = 3;
      const std::vector<float> x = testing::LogitRows(rows, vocab, kind, rng);
      for (const int64_t top_n :
           {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{64}, int64_t{600}, vocab - 1, vocab}) {
        if (top_n < 1 || top_n > vocab) continue;
        // Row r asks for the values at r ids, one of them outside the row.
        std::vector<int32_t> offsets = {0}, extra;
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t j = 0; j < r; ++j) {
            extra.push_back(j == 0 ? static_cast<int32_t>(vocab + j)
                                   : static_cast<int32_t>(rng() % vocab));
          }
          offsets.push_back(static_cast<int32_t>(extra.size()));
        }
        std::vector<int32_t> ids(rows * top_n, -7);
        std::vector<float> values(rows * top_n, 1234.0f), extra_values(extra.size(), 1234.0f);
        TopCandidates(ids.data(), values.data(), extra_values.data(), x.data(), rows, vocab, top_n,
                      extra.data(), offsets.data(), &scratch);
        for (int64_t r = 0; r < rows; ++r) {
          const float* row = x.data() + r * vocab;
          const std::vector<int32_t> want = ReferenceTop(row, vocab, top_n);
          const std::vector<int32_t> got(ids.begin() + r * top_n, ids.begin() + (r + 1) * top_n);
          ASSERT_EQ(got, want) << "vocab " << vocab << " kind " << kind << " top_n " << top_n
                               << " row " << r;
          for (int64_t i = 0; i < top_n; ++i) {
            EXPECT_TRUE(SameBits(values[r * top_n + i], row[got[i]]));
          }
          for (int32_t j = offsets[r]; j < offsets[r + 1]; ++j) {
            if (extra[j] >= vocab) {
              EXPECT_TRUE(std::isnan(extra_values[j]));
            } else {
              EXPECT_TRUE(SameBits(extra_values[j], row[extra[j]]));
            }
          }
        }
      }
    }
  }
}

TEST(TopCandidatesTest, KeyOrdersLikeTheValue) {
  const float ordered[] = {-kInf, -3.5f, -1e-30f, 0.0f, 1e-30f, 2.0f, kInf};
  for (size_t i = 0; i + 1 < std::size(ordered); ++i) {
    EXPECT_LT(CandidateKey(ordered[i]), CandidateKey(ordered[i + 1])) << ordered[i];
  }
  EXPECT_EQ(CandidateKey(-0.0f), CandidateKey(0.0f));
  EXPECT_LT(CandidateKey(std::nanf("")), CandidateKey(-kInf));
  EXPECT_LT(CandidateKey(-std::nanf("")), CandidateKey(-kInf));
}

}  // namespace
}  // namespace llmw::cpu
