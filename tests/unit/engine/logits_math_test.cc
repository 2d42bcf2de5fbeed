// The vectorised row passes: exp accuracy and edge values, maximum and search
// with NaN and -inf, sums against plain loops, for lengths that exercise the
// scalar tails.
#include "worker/engine/logits_math.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace llmw::logits_math {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

TEST(LogitsMathTest, ExpIsAccurateOverItsRange) {
  double worst = 0;
  for (int i = 0; i <= 800000; ++i) {
    const float x = -80.0f * static_cast<float>(i) / 800000.0f;
    const double exact = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(ExpNonPositive(x) - exact) / exact);
  }
  EXPECT_LT(worst, 1e-6);
  EXPECT_EQ(ExpNonPositive(0.0f), 1.0f);
  EXPECT_EQ(ExpNonPositive(-0.0f), 1.0f);
}

TEST(LogitsMathTest, ExpIsZeroBelowRangeAndForInfAndNan) {
  EXPECT_EQ(ExpNonPositive(-80.5f), 0.0f);
  EXPECT_EQ(ExpNonPositive(-1e30f), 0.0f);
  EXPECT_EQ(ExpNonPositive(-kInf), 0.0f);
  EXPECT_EQ(ExpNonPositive(kNan), 0.0f);
  EXPECT_GT(ExpNonPositive(-80.0f), 0.0f);
}

std::vector<float> Row(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, 3);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

TEST(LogitsMathTest, MaxValueSkipsNanAndFindsTheFirstIndex) {
  for (size_t n : {1, 3, 4, 15, 16, 17, 100, 1001}) {
    std::vector<float> v = Row(n, static_cast<uint32_t>(n));
    v[n / 2] = 50;
    if (n > 2) v[n - 1] = 50;
    if (n > 1) v[0] = kNan;
    if (n == 1) v[0] = 50;
    EXPECT_EQ(MaxValue(v), 50.0f) << n;
    EXPECT_EQ(FindFirst(v, 50.0f), static_cast<int64_t>(n / 2)) << n;
    EXPECT_EQ(FindFirst(v, 1234.0f), -1) << n;
  }
  EXPECT_EQ(MaxValue(std::vector<float>{kNan, -kInf, kNan}), -kInf);
  EXPECT_EQ(MaxValue(std::vector<float>{}), -kInf);
}

TEST(LogitsMathTest, ExpShiftedAndSumsMatchPlainLoops) {
  for (size_t n : {1, 7, 8, 9, 1000, 1003}) {
    const std::vector<float> v = Row(n, 7 + static_cast<uint32_t>(n));
    const float max = MaxValue(v);
    std::vector<float> out(n);
    const float inv_temperature = 1 / 0.7f;
    const double sum = ExpShifted(v, max, inv_temperature, out.data());
    double expected = 0, plain = 0;
    for (size_t i = 0; i < n; ++i) {
      // The argument is a float product, as in ExpShifted; its own rounding
      // is not the exp's error.
      const double e = std::exp(static_cast<double>((v[i] - max) * inv_temperature));
      EXPECT_NEAR(out[i], e, 1e-6 * e) << i;
      expected += e;
      plain += out[i];
    }
    EXPECT_NEAR(sum, expected, 1e-6 * expected) << n;
    EXPECT_NEAR(Sum(out.data(), n), plain, 1e-12 * plain) << n;
    double at_one = 0;
    for (float x : v) at_one += std::exp(static_cast<double>(x) - max);
    EXPECT_NEAR(SumExpShifted(v, max), at_one, 1e-6 * at_one) << n;
  }
}

TEST(LogitsMathTest, ExpShiftedInPlace) {
  std::vector<float> v = {0.0f, -1.0f, -kInf, -2.0f, 0.0f};
  const double sum = ExpShifted(v, 0.0f, 1.0f, v.data());
  EXPECT_NEAR(sum, 2 + std::exp(-1.0) + std::exp(-2.0), 1e-6);
  EXPECT_EQ(v[2], 0.0f);
  EXPECT_EQ(v[0], 1.0f);
}

}  // namespace
}  // namespace llmw::logits_math
