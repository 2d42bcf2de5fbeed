// Sampling: greedy, determinism per seed, and the distributions top-k/top-p
// and temperature produce (statistical checks with fixed seeds).
#include "worker/engine/sampler.h"

#include <cmath>
#include <map>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace llmw {
namespace {

std::map<int32_t, int> Histogram(const SamplingParams& p, const std::vector<float>& logits,
                                 int draws) {
  Sampler sampler(p, static_cast<int64_t>(logits.size()));
  std::map<int32_t, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[sampler.Sample(logits)];
  return counts;
}

TEST(SamplerTest, GreedyPicksLargestAndLowestIdOnTie) {
  Sampler s(SamplingParams{}, 4);
  EXPECT_EQ(s.Sample(std::vector<float>{0.1f, 3, -1, 2}), 1);
  EXPECT_EQ(s.Sample(std::vector<float>{5, 1, 5, 0}), 0);
}

TEST(SamplerTest, SameSeedSameSequence) {
  const std::vector<float> logits = {1, 1.5f, 0.2f, 0.9f, 1.4f};
  SamplingParams p{1.0f, 0, 1.0f, 1234};
  Sampler a(p, 5), b(p, 5);
  std::vector<int32_t> sa, sb;
  for (int i = 0; i < 200; ++i) {
    sa.push_back(a.Sample(logits));
    sb.push_back(b.Sample(logits));
  }
  EXPECT_EQ(sa, sb);
  p.seed = 99;
  Sampler c(p, 5);
  std::vector<int32_t> sc;
  for (int i = 0; i < 200; ++i) sc.push_back(c.Sample(logits));
  EXPECT_NE(sa, sc);
}

TEST(SamplerTest, TemperatureOneFollowsSoftmax) {
  const std::vector<float> logits = {0, std::log(2.0f), std::log(7.0f)};  // p = 0.1, 0.2, 0.7
  const int draws = 20000;
  auto counts = Histogram({1.0f, 0, 1.0f, 5}, logits, draws);
  // 5 standard deviations of a binomial at these sizes is under 0.015.
  EXPECT_NEAR(counts[0] / double(draws), 0.1, 0.015);
  EXPECT_NEAR(counts[1] / double(draws), 0.2, 0.015);
  EXPECT_NEAR(counts[2] / double(draws), 0.7, 0.015);
}

TEST(SamplerTest, TopKKeepsOnlyKBest) {
  const std::vector<float> logits = {3, 0, 2.9f, 1, 2.8f};
  auto counts = Histogram({1.0f, 2, 1.0f, 7}, logits, 2000);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[2], 0);
}

TEST(SamplerTest, TopPKeepsSmallestNucleus) {
  // p = 0.5, 0.3, 0.15, 0.05: top_p 0.75 keeps the first two (0.8 >= 0.75).
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                                     std::log(0.05f)};
  const int draws = 20000;
  auto counts = Histogram({1.0f, 0, 0.75f, 11}, logits, draws);
  EXPECT_EQ(counts.count(2) + counts.count(3), 0u);
  EXPECT_NEAR(counts[0] / double(draws), 0.5 / 0.8, 0.015);
}

TEST(SamplerTest, LowTemperatureSharpens) {
  const std::vector<float> logits = {1.0f, 1.5f};
  auto counts = Histogram({0.1f, 0, 1.0f, 3}, logits, 5000);
  // p(1) = 1 / (1 + e^-5) ≈ 0.9933
  EXPECT_GT(counts[1], 4900);
}

TEST(SamplerTest, ValidationNamesTheParameter) {
  using ::testing::HasSubstr;
  EXPECT_THAT(ValidateSamplingParams({-0.5f, 0, 1.0f, 0}).message(), HasSubstr("temperature"));
  EXPECT_THAT(ValidateSamplingParams({NAN, 0, 1.0f, 0}).message(), HasSubstr("temperature"));
  EXPECT_THAT(ValidateSamplingParams({1.0f, -1, 1.0f, 0}).message(), HasSubstr("top_k"));
  EXPECT_THAT(ValidateSamplingParams({1.0f, 0, 0.0f, 0}).message(), HasSubstr("top_p"));
  EXPECT_THAT(ValidateSamplingParams({1.0f, 0, 1.5f, 0}).message(), HasSubstr("top_p"));
  EXPECT_TRUE(ValidateSamplingParams({0.7f, 40, 0.9f, 0}).ok());
}

}  // namespace
}  // namespace llmw
