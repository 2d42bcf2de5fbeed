// Row-wise ops against direct double-precision formulas.
#include "kernels/cpu/ops.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace llmw::cpu {
namespace {

TEST(OpsTest, RmsNormMatchesFormula) {
  const std::vector<float> x = {1, -2, 3, 0.5f, 4, -1, 0, 2};
  const std::vector<float> w = {0.5f, 1, 2, -1};
  std::vector<float> out(8);
  RmsNorm(out.data(), x.data(), w.data(), 2, 4, 1e-5f, 0.0f);
  for (int r = 0; r < 2; ++r) {
    double ms = 0;
    for (int i = 0; i < 4; ++i) ms += x[r * 4 + i] * x[r * 4 + i] / 4.0;
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(out[r * 4 + i], x[r * 4 + i] / std::sqrt(ms + 1e-5) * w[i], 1e-6);
    }
  }
}

TEST(OpsTest, LayerNormMatchesFormula) {
  const std::vector<float> x = {1, 2, 3, 6};
  const std::vector<float> w = {1, 1, 2, 1}, b = {0, 1, 0, 0};
  std::vector<float> out(4);
  LayerNorm(out.data(), x.data(), w.data(), b.data(), 1, 4, 0.0f);
  // mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5
  const double sd = std::sqrt(3.5);
  EXPECT_NEAR(out[0], -2 / sd, 1e-6);
  EXPECT_NEAR(out[1], -1 / sd + 1, 1e-6);
  EXPECT_NEAR(out[2], 0, 1e-6);
  EXPECT_NEAR(out[3], 3 / sd, 1e-6);
}

TEST(OpsTest, RopePairsAdjacentOrHalves) {
  // One head of 4 dims, both dims rotated by 90° (cos 0, sin 1) for pair 0 only.
  const std::vector<float> cos = {0, 1}, sin = {1, 0};
  std::vector<float> adjacent = {1, 2, 3, 4};
  Rope(adjacent.data(), cos.data(), sin.data(), 1, 1, 4, 4, RopePairing::kAdjacent);
  EXPECT_EQ(adjacent, (std::vector<float>{-2, 1, 3, 4}));
  std::vector<float> half = {1, 2, 3, 4};
  Rope(half.data(), cos.data(), sin.data(), 1, 1, 4, 4, RopePairing::kRotateHalf);
  EXPECT_EQ(half, (std::vector<float>{-3, 2, 1, 4}));
}

TEST(OpsTest, RopeLeavesDimsPastRotDimAlone) {
  const std::vector<float> cos = {0}, sin = {1};
  std::vector<float> x = {1, 2, 3, 4};
  Rope(x.data(), cos.data(), sin.data(), 1, 1, 4, 2, RopePairing::kRotateHalf);
  EXPECT_EQ(x, (std::vector<float>{-2, 1, 3, 4}));
}

TEST(OpsTest, RopeAnglesArePositionTimesFrequency) {
  const int32_t pos[] = {0, 3};
  const float inv_freq[] = {1.0f, 0.01f};
  std::vector<float> c(4), s(4);
  RopeAngles(c.data(), s.data(), pos, 2, inv_freq, 2);
  EXPECT_FLOAT_EQ(c[0], 1);
  EXPECT_FLOAT_EQ(s[1], 0);
  EXPECT_NEAR(c[2], std::cos(3.0), 1e-6);
  EXPECT_NEAR(s[3], std::sin(0.03), 1e-6);
}

TEST(OpsTest, RmsNormAddsWeightOffset) {
  // Gemma's (1 + w) form equals a plain norm with the offset added to the weight.
  const std::vector<float> x = {1, -2, 3, 0.5f};
  const std::vector<float> w = {0.5f, 0, -1, 2}, w_plus_one = {1.5f, 1, 0, 3};
  std::vector<float> with_offset(4), plain(4);
  RmsNorm(with_offset.data(), x.data(), w.data(), 1, 4, 1e-6f, 1.0f);
  RmsNorm(plain.data(), x.data(), w_plus_one.data(), 1, 4, 1e-6f, 0.0f);
  EXPECT_EQ(with_offset, plain);
}

TEST(OpsTest, SiluMul) {
  std::vector<float> g = {0, 1, -2}, up = {5, 2, 3};
  SiluMul(g.data(), g.data(), up.data(), 3);
  EXPECT_FLOAT_EQ(g[0], 0);
  EXPECT_NEAR(g[1], 2 / (1 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(g[2], 3 * -2 / (1 + std::exp(2.0)), 1e-6);
}

TEST(OpsTest, GeluTanhMulAndScale) {
  std::vector<float> g = {0, 1, -3}, up = {2, 2, 1};
  GeluTanhMul(g.data(), g.data(), up.data(), 3);
  auto gelu = [](double x) {
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  };
  EXPECT_FLOAT_EQ(g[0], 0);
  EXPECT_NEAR(g[1], 2 * gelu(1), 1e-6);
  EXPECT_NEAR(g[2], gelu(-3), 1e-6);
  std::vector<float> x = {1, -2};
  Scale(x.data(), x.data(), 0.5f, 2);
  EXPECT_EQ(x, (std::vector<float>{0.5f, -1}));
}

}  // namespace
}  // namespace llmw::cpu
