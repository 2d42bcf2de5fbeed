// Logprobs: against a direct double-precision log-softmax, with large
// offsets, ties, -inf entries and every top_n edge.
#include "worker/engine/logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "worker/engine/sampling_params.h"

namespace llmw {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<double> DirectLogSoftmax(const std::vector<float>& logits) {
  double max = -std::numeric_limits<double>::infinity();
  for (float v : logits) max = std::max<double>(max, v);
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - max);
  std::vector<double> out;
  for (float v : logits) out.push_back(v - max - std::log(sum));
  return out;
}

// The top n ids by logit, lower id first on a tie, by a full sort.
std::vector<int32_t> DirectTop(const std::vector<float>& logits, size_t n) {
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  ids.resize(std::min(n, ids.size()));
  return ids;
}

void ExpectMatchesDirect(const std::vector<float>& logits, int32_t chosen, int top_n) {
  TokenLogprobs out;
  ComputeLogprobs(logits, chosen, top_n, &out);
  const std::vector<double> expected = DirectLogSoftmax(logits);
  EXPECT_EQ(out.chosen.id, chosen);
  // Relative error of the exp terms is below 1e-6, so logZ is within ~1e-6;
  // the float result adds its own rounding (|logprob| up to ~30 here).
  const auto tolerance = [](double v) { return 2e-6 + 1e-6 * std::abs(v); };
  EXPECT_NEAR(out.chosen.logprob, expected[chosen], tolerance(expected[chosen]));
  const std::vector<int32_t> top =
      DirectTop(logits, std::min<size_t>(std::max(top_n, 0), kMaxLogprobs));
  ASSERT_EQ(out.top.size(), top.size());
  for (size_t i = 0; i < top.size(); ++i) {
    EXPECT_EQ(out.top[i].id, top[i]) << i;
    EXPECT_NEAR(out.top[i].logprob, expected[top[i]], tolerance(expected[top[i]])) << i;
  }
}

std::vector<float> RandomLogits(int n, float scale, float offset, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, scale);
  std::vector<float> logits(n);
  for (float& v : logits) v = normal(rng) + offset;
  return logits;
}

TEST(LogprobsTest, MatchesDirectComputation) {
  ExpectMatchesDirect(RandomLogits(1000, 3, 0, 1), 17, 5);
  ExpectMatchesDirect(RandomLogits(49152, 2.5f, 0, 2), 49151, kMaxLogprobs);
  ExpectMatchesDirect(RandomLogits(37, 1, 0, 3), 0, 1);  // a size that is no multiple of 4
}

TEST(LogprobsTest, StableForLargeLogits) {
  ExpectMatchesDirect(RandomLogits(5000, 3, 1e4f, 4), 10, 3);
  ExpectMatchesDirect(RandomLogits(5000, 3, -1e4f, 5), 10, 3);
  // One token far ahead: its logprob is ~0, the others very negative.
  std::vector<float> logits(100, 0.0f);
  logits[42] = 200;
  TokenLogprobs out;
  ComputeLogprobs(logits, 42, 2, &out);
  EXPECT_NEAR(out.chosen.logprob, 0.0f, 1e-6);
  EXPECT_EQ(out.top[0].id, 42);
  EXPECT_NEAR(out.top[1].logprob, -200.0f, 1e-3);
  EXPECT_EQ(out.top[1].id, 0);  // all tied at 0: lowest id
}

TEST(LogprobsTest, ProbabilitiesSumToOne) {
  const std::vector<float> logits = RandomLogits(20, 2, 0, 6);
  TokenLogprobs out;
  ComputeLogprobs(logits, 0, kMaxLogprobs, &out);
  double sum = 0;
  for (const TokenLogprob& t : out.top) sum += std::exp(static_cast<double>(t.logprob));
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(LogprobsTest, TiesGoToTheLowerId) {
  const std::vector<float> logits = {1, 3, 2, 3, 3, 0, 2};
  ExpectMatchesDirect(logits, 4, 4);
  TokenLogprobs out;
  ComputeLogprobs(logits, 4, 4, &out);
  ASSERT_EQ(out.top.size(), 4u);
  EXPECT_EQ(out.top[0].id, 1);
  EXPECT_EQ(out.top[1].id, 3);
  EXPECT_EQ(out.top[2].id, 4);
  EXPECT_EQ(out.top[3].id, 2);
  EXPECT_EQ(out.top[0].logprob, out.top[2].logprob);
}

TEST(LogprobsTest, TopNEdges) {
  const std::vector<float> logits = RandomLogits(50, 2, 0, 7);
  TokenLogprobs out;
  ComputeLogprobs(logits, 3, 0, &out);
  EXPECT_TRUE(out.top.empty());
  ComputeLogprobs(logits, 3, -5, &out);
  EXPECT_TRUE(out.top.empty());
  ComputeLogprobs(logits, 3, 1000, &out);
  EXPECT_EQ(out.top.size(), static_cast<size_t>(kMaxLogprobs));
  ExpectMatchesDirect(RandomLogits(5, 2, 0, 8), 2, kMaxLogprobs);  // more asked than exist
  ComputeLogprobs(RandomLogits(5, 2, 0, 8), 2, kMaxLogprobs, &out);
  EXPECT_EQ(out.top.size(), 5u);
}

TEST(LogprobsTest, NegInfLogitsAreImpossibleAndNotListed) {
  std::vector<float> logits = {kNegInf, 1.0f, kNegInf, 0.5f, kNegInf};
  TokenLogprobs out;
  ComputeLogprobs(logits, 0, 5, &out);
  EXPECT_EQ(out.chosen.logprob, kNegInf);
  ASSERT_EQ(out.top.size(), 2u);
  EXPECT_EQ(out.top[0].id, 1);
  EXPECT_EQ(out.top[1].id, 3);
  EXPECT_NEAR(out.top[0].logprob, -std::log1p(std::exp(-0.5)), 1e-6);
}

TEST(LogprobsTest, ReusedOutputIsOverwritten) {
  TokenLogprobs out;
  ComputeLogprobs(RandomLogits(100, 2, 0, 9), 5, 10, &out);
  ComputeLogprobs(RandomLogits(100, 2, 0, 10), 6, 3, &out);
  EXPECT_EQ(out.chosen.id, 6);
  EXPECT_EQ(out.top.size(), 3u);
}

}  // namespace
}  // namespace llmw
