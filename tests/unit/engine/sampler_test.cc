// Sampler: validation messages, the exact effect of bias and penalties
// (probed through greedy choices), suppression, determinism per seed, and the
// distributions temperature / top-k / top-p / min-p / typical-p produce,
// checked against a direct computation with fixed seeds.
#include "worker/engine/sampler.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <numeric>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Counts heap allocations so a test can check that Sample makes none. Not
// under AddressSanitizer or ThreadSanitizer, which have their own global operator new.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LLMW_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LLMW_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef LLMW_COUNT_ALLOCATIONS
#define LLMW_COUNT_ALLOCATIONS 1
#endif

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

#if LLMW_COUNT_ALLOCATIONS
// GCC cannot tell that these replace the global operators it pairs up.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif

namespace llmw {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

SamplingParams Random(float temperature = 1.0f) {
  SamplingParams p;
  p.temperature = temperature;
  return p;
}

SamplingParams Greedy() { return Random(0.0f); }

std::vector<int> Histogram(Sampler& sampler, const std::vector<float>& logits, int draws) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) ++counts[sampler.Sample(logits)];
  return counts;
}

std::vector<int> Histogram(const SamplingParams& p, const std::vector<float>& logits, int draws,
                           uint64_t seed) {
  Sampler sampler(p, static_cast<int64_t>(logits.size()), seed, {});
  return Histogram(sampler, logits, draws);
}

// The distribution Sample should draw from, computed the plain way: full
// sorts, double precision, each step renormalised as the header describes.
std::vector<double> ReferenceProbs(const SamplingParams& p, const std::vector<float>& logits) {
  const size_t n = logits.size();
  std::vector<int> order;
  for (size_t i = 0; i < n; ++i) {
    if (logits[i] > kNegInf) order.push_back(static_cast<int>(i));
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < order.size()) order.resize(p.top_k);
  const double max_logit = logits[order[0]];
  std::vector<double> w(n, 0.0);
  for (int id : order) w[id] = std::exp((logits[id] - max_logit) / p.temperature);
  const auto mass_of = [&](const std::vector<int>& ids) {
    double m = 0;
    for (int id : ids) m += w[id];
    return m;
  };
  if (p.top_p < 1) {
    const double total = mass_of(order);
    double mass = 0;
    size_t keep = 0;
    while (keep < order.size()) {
      mass += w[order[keep++]] / total;
      if (mass >= p.top_p) break;
    }
    order.resize(keep);
  }
  if (p.min_p > 0) {
    const double top = w[order[0]];
    std::vector<int> kept;
    for (int id : order) {
      if (w[id] >= p.min_p * top) kept.push_back(id);
    }
    order = kept;
  }
  if (p.typical_p < 1) {
    const double total = mass_of(order);
    double entropy = 0;
    for (int id : order) entropy -= w[id] / total * std::log(w[id] / total);
    std::vector<std::pair<double, int>> by_distance;
    for (int id : order) by_distance.push_back({std::abs(-std::log(w[id] / total) - entropy), id});
    std::sort(by_distance.begin(), by_distance.end());
    order.clear();
    double mass = 0;
    for (const auto& [distance, id] : by_distance) {
      order.push_back(id);
      mass += w[id] / total;
      if (mass >= p.typical_p) break;
    }
  }
  std::vector<double> probs(n, 0.0);
  const double total = mass_of(order);
  for (int id : order) probs[id] = w[id] / total;
  return probs;
}

size_t SupportSize(const std::vector<double>& probs) {
  return std::count_if(probs.begin(), probs.end(), [](double q) { return q > 0; });
}

// Every token's count within 5 binomial standard deviations (+1 for the
// discreteness) of draws × its reference probability; a token the reference
// excludes is never drawn. With a few hundred checks per run the chance of a
// false failure is below 1e-4, and the seeds are fixed.
void ExpectMatchesReference(const SamplingParams& p, const std::vector<float>& logits, int draws,
                            uint64_t seed) {
  const std::vector<double> expected = ReferenceProbs(p, logits);
  const std::vector<int> counts = Histogram(p, logits, draws, seed);
  for (size_t id = 0; id < logits.size(); ++id) {
    const double mean = draws * expected[id];
    if (expected[id] == 0) {
      EXPECT_EQ(counts[id], 0) << "token " << id << " is outside the kept set";
      continue;
    }
    const double sigma = std::sqrt(mean * (1 - expected[id]));
    EXPECT_NEAR(counts[id], mean, 5 * sigma + 1) << "token " << id;
  }
}

// Ten tokens with distinct, unevenly spaced logits.
const std::vector<float> kTen = {2.0f, 1.7f, 1.65f, 1.1f, 0.9f, 0.3f, 0.25f, -0.4f, -1.0f, -2.2f};

// ---------------------------------------------------------------- validation

TEST(ValidateSamplingParamsTest, DefaultsAndTypicalValuesAreValid) {
  EXPECT_TRUE(ValidateSamplingParams(SamplingParams{}, 100).ok());
  SamplingParams p;
  p.temperature = 0.7f;
  p.top_k = 40;
  p.top_p = 0.9f;
  p.min_p = 0.05f;
  p.typical_p = 0.95f;
  p.repetition_penalty = 1.1f;
  p.presence_penalty = -2.0f;
  p.frequency_penalty = 2.0f;
  p.logit_bias = {{0, -100.0f}, {99, 100.0f}};
  EXPECT_TRUE(ValidateSamplingParams(p, 100).ok());
  p.temperature = 0;
  p.top_k = 1000000;  // larger than the vocabulary: everything
  p.min_p = 1;
  p.top_p = 1;
  EXPECT_TRUE(ValidateSamplingParams(p, 100).ok());
}

struct BadCase {
  const char* name;
  void (*set)(SamplingParams&);
  std::vector<std::string> fragments;  // all in the message
};

TEST(ValidateSamplingParamsTest, EveryOutOfRangeValueIsNamedWithItsRange) {
  const std::vector<BadCase> cases = {
      {"negative temperature",
       [](SamplingParams& p) { p.temperature = -0.5f; },
       {"temperature", "-0.5", "[0, 100]"}},
      {"huge temperature",
       [](SamplingParams& p) { p.temperature = 100.5f; },
       {"temperature", "100.5", "[0, 100]"}},
      {"nan temperature",
       [](SamplingParams& p) { p.temperature = std::numeric_limits<float>::quiet_NaN(); },
       {"temperature", "nan"}},
      {"inf temperature",
       [](SamplingParams& p) { p.temperature = std::numeric_limits<float>::infinity(); },
       {"temperature", "inf"}},
      {"negative top_k", [](SamplingParams& p) { p.top_k = -1; }, {"top_k", "-1", ">= 0"}},
      {"zero top_p", [](SamplingParams& p) { p.top_p = 0; }, {"top_p", "got 0", "(0, 1]"}},
      {"top_p above 1", [](SamplingParams& p) { p.top_p = 1.5f; }, {"top_p", "1.5", "(0, 1]"}},
      {"top_p just above 1",
       [](SamplingParams& p) { p.top_p = 1.0000001f; },
       {"top_p", "1.00000012"}},
      {"nan top_p",
       [](SamplingParams& p) { p.top_p = std::numeric_limits<float>::quiet_NaN(); },
       {"top_p", "nan"}},
      {"negative min_p", [](SamplingParams& p) { p.min_p = -0.1f; }, {"min_p", "-0.1", "[0, 1]"}},
      {"min_p above 1", [](SamplingParams& p) { p.min_p = 2; }, {"min_p", "2", "[0, 1]"}},
      {"nan min_p",
       [](SamplingParams& p) { p.min_p = std::numeric_limits<float>::quiet_NaN(); },
       {"min_p", "nan"}},
      {"zero typical_p", [](SamplingParams& p) { p.typical_p = 0; }, {"typical_p", "0", "(0, 1]"}},
      {"typical_p above 1",
       [](SamplingParams& p) { p.typical_p = 1.25f; },
       {"typical_p", "1.25", "(0, 1]"}},
      {"zero repetition_penalty",
       [](SamplingParams& p) { p.repetition_penalty = 0; },
       {"repetition_penalty", "0", "> 0"}},
      {"negative repetition_penalty",
       [](SamplingParams& p) { p.repetition_penalty = -1; },
       {"repetition_penalty", "-1", "> 0"}},
      {"inf repetition_penalty",
       [](SamplingParams& p) { p.repetition_penalty = std::numeric_limits<float>::infinity(); },
       {"repetition_penalty", "inf", "finite"}},
      {"nan repetition_penalty",
       [](SamplingParams& p) { p.repetition_penalty = std::numeric_limits<float>::quiet_NaN(); },
       {"repetition_penalty", "nan"}},
      {"presence_penalty above 2",
       [](SamplingParams& p) { p.presence_penalty = 2.5f; },
       {"presence_penalty", "2.5", "[-2, 2]"}},
      {"presence_penalty below -2",
       [](SamplingParams& p) { p.presence_penalty = -3; },
       {"presence_penalty", "-3", "[-2, 2]"}},
      {"nan presence_penalty",
       [](SamplingParams& p) { p.presence_penalty = std::numeric_limits<float>::quiet_NaN(); },
       {"presence_penalty", "nan"}},
      {"frequency_penalty above 2",
       [](SamplingParams& p) { p.frequency_penalty = 2.01f; },
       {"frequency_penalty", "2.00999999", "[-2, 2]"}},
      {"nan frequency_penalty",
       [](SamplingParams& p) { p.frequency_penalty = std::numeric_limits<float>::quiet_NaN(); },
       {"frequency_penalty", "nan"}},
      {"bias id negative",
       [](SamplingParams& p) {
         p.logit_bias = {{-1, 1.0f}};
       },
       {"logit_bias", "-1", "[0, 100)"}},
      {"bias id past vocabulary",
       [](SamplingParams& p) {
         p.logit_bias = {{100, 1.0f}};
       },
       {"logit_bias", "100", "[0, 100)"}},
      {"bias too large",
       [](SamplingParams& p) {
         p.logit_bias = {{3, 100.5f}};
       },
       {"logit_bias", "token 3", "100.5", "[-100, 100]"}},
      {"bias nan",
       [](SamplingParams& p) {
         p.logit_bias = {{3, std::numeric_limits<float>::quiet_NaN()}};
       },
       {"logit_bias", "token 3", "nan"}},
      {"bias -inf",
       [](SamplingParams& p) {
         p.logit_bias = {{3, -std::numeric_limits<float>::infinity()}};
       },
       {"logit_bias", "token 3", "-inf"}},
      {"too many bias entries",
       [](SamplingParams& p) {
         p.logit_bias.assign(1025, {1, 0.5f});
       },
       {"logit_bias", "1025", "1024"}},
  };
  for (const BadCase& c : cases) {
    SamplingParams p;
    c.set(p);
    const absl::Status status = ValidateSamplingParams(p, 100);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    for (const std::string& fragment : c.fragments) {
      EXPECT_THAT(std::string(status.message()), HasSubstr(fragment)) << c.name;
    }
  }
}

TEST(ValidateSamplingParamsTest, RejectsEmptyVocabulary) {
  EXPECT_THAT(std::string(ValidateSamplingParams(SamplingParams{}, 0).message()),
              AllOf(HasSubstr("vocab_size"), HasSubstr("0")));
}

// -------------------------------------------------------------------- greedy

TEST(SamplerTest, GreedyPicksLargestAndLowestIdOnTie) {
  Sampler s(Greedy(), 4, 1, {});
  EXPECT_EQ(s.Sample(std::vector<float>{0.1f, 3, -1, 2}), 1);
  EXPECT_EQ(s.Sample(std::vector<float>{5, 1, 5, 0}), 0);
  EXPECT_EQ(s.Sample(std::vector<float>{kNegInf, 1, 7, 7}), 2);
}

TEST(SamplerTest, GreedyIgnoresTruncationParameters) {
  SamplingParams p = Greedy();
  p.top_k = 1;
  p.top_p = 0.01f;
  p.min_p = 1;
  p.typical_p = 0.01f;
  Sampler s(p, 4, 1, {});
  EXPECT_EQ(s.Sample(std::vector<float>{0.1f, 3, -1, 2}), 1);
}

TEST(ArgMaxTest, LowestIndexOnTieAndNanNeverWins) {
  EXPECT_EQ(ArgMax(std::vector<float>{1, 4, 4, 2}), 1);
  EXPECT_EQ(ArgMax(std::vector<float>{std::nanf(""), 1, 0}), 1);
  EXPECT_EQ(ArgMax(std::vector<float>{kNegInf, kNegInf}), 0);
  EXPECT_EQ(ArgMax(std::vector<float>{}), -1);
}

// ------------------------------------------------------------ bias, penalties

// The adjusted logit of token `id` given raw logit `raw`, found by bisecting
// on the logit of the last token, which no adjustment touches: greedy picks
// `id` exactly when its adjusted logit beats the competitor's. Every other
// token sits far below the bisection range.
float ProbeAdjusted(Sampler& sampler, int32_t id, float raw) {
  std::vector<float> logits(sampler.vocab_size(), -5000.0f);
  logits[id] = raw;
  const size_t competitor = logits.size() - 1;
  double lo = -1000, hi = 1000;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    logits[competitor] = static_cast<float>(mid);
    if (sampler.Sample(logits) == id) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return static_cast<float>((lo + hi) / 2);
}

TEST(SamplerPenaltyTest, RepetitionPenaltyCoversPromptAndOutput) {
  SamplingParams p = Greedy();
  p.repetition_penalty = 1.3f;
  const std::vector<int32_t> prompt = {1, 2, 1};
  Sampler s(p, 10, 0, prompt);
  s.Accept(3);
  EXPECT_NEAR(ProbeAdjusted(s, 1, 2.0f), 2.0f / 1.3f, 1e-4);    // prompt, positive
  EXPECT_NEAR(ProbeAdjusted(s, 2, -1.5f), -1.5f * 1.3f, 1e-4);  // prompt, negative
  EXPECT_NEAR(ProbeAdjusted(s, 3, 0.8f), 0.8f / 1.3f, 1e-4);    // output
  EXPECT_NEAR(ProbeAdjusted(s, 4, 3.0f), 3.0f, 1e-4);           // never seen
  s.Accept(5);
  EXPECT_NEAR(ProbeAdjusted(s, 5, 0.0f), 0.0f, 1e-4);  // 0 stays 0
  EXPECT_NEAR(ProbeAdjusted(s, 5, -0.5f), -0.65f, 1e-4);
}

TEST(SamplerPenaltyTest, RepetitionPenaltyBelowOneEncourages) {
  SamplingParams p = Greedy();
  p.repetition_penalty = 0.5f;
  const std::vector<int32_t> prompt = {1, 2};
  Sampler s(p, 10, 0, prompt);
  EXPECT_NEAR(ProbeAdjusted(s, 1, 2.0f), 4.0f, 1e-4);
  EXPECT_NEAR(ProbeAdjusted(s, 2, -1.0f), -0.5f, 1e-4);
}

TEST(SamplerPenaltyTest, PresenceAndFrequencyCoverOutputOnly) {
  SamplingParams p = Greedy();
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  const std::vector<int32_t> prompt = {7};
  Sampler s(p, 10, 0, prompt);
  for (int32_t t : {5, 5, 6, 5}) s.Accept(t);
  EXPECT_NEAR(ProbeAdjusted(s, 5, 1.0f), 1.0f - 0.5f - 3 * 0.25f, 1e-4);
  EXPECT_NEAR(ProbeAdjusted(s, 6, 1.0f), 1.0f - 0.5f - 0.25f, 1e-4);
  EXPECT_NEAR(ProbeAdjusted(s, 7, 1.0f), 1.0f, 1e-4);  // prompt only: untouched
  s.Accept(6);                                         // counts grow incrementally
  EXPECT_NEAR(ProbeAdjusted(s, 6, 1.0f), 1.0f - 0.5f - 2 * 0.25f, 1e-4);
}

TEST(SamplerPenaltyTest, NegativePresenceAndFrequencyEncourage) {
  SamplingParams p = Greedy();
  p.presence_penalty = -1.0f;
  p.frequency_penalty = -2.0f;
  Sampler s(p, 10, 0, {});
  s.Accept(3);
  s.Accept(3);
  EXPECT_NEAR(ProbeAdjusted(s, 3, -0.5f), -0.5f + 1 + 4, 1e-4);
}

TEST(SamplerPenaltyTest, OrderIsBiasThenRepetitionThenPresenceFrequency) {
  SamplingParams p = Greedy();
  p.logit_bias = {{4, 2.0f}};
  p.repetition_penalty = 2.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  const std::vector<int32_t> prompt = {4};
  Sampler s(p, 10, 0, prompt);
  for (int i = 0; i < 3; ++i) s.Accept(5);
  s.Accept(4);
  // Token 4: (-1 + 2) / 2 - 0.5 - 0.25 = -0.25; with the bias after the
  // repetition penalty it would be -2 + 2 - 0.75.
  EXPECT_NEAR(ProbeAdjusted(s, 4, -1.0f), -0.25f, 1e-4);
  // Token 5: 2 / 2 - 0.5 - 0.75 = -0.25; with presence/frequency first it
  // would be (2 - 1.25) / 2 = 0.375.
  EXPECT_NEAR(ProbeAdjusted(s, 5, 2.0f), -0.25f, 1e-4);
}

TEST(SamplerPenaltyTest, LogitBiasEntriesAddUp) {
  SamplingParams p = Greedy();
  p.logit_bias = {{2, 1.5f}, {3, -0.75f}, {2, 0.25f}};
  Sampler s(p, 10, 0, {});
  EXPECT_NEAR(ProbeAdjusted(s, 2, 0.0f), 1.75f, 1e-4);
  EXPECT_NEAR(ProbeAdjusted(s, 3, 0.0f), -0.75f, 1e-4);
}

TEST(SamplerPenaltyTest, LogitBiasForcesAndBansTokensWhenSampling) {
  SamplingParams p = Random();
  p.logit_bias = {{9, 100.0f}};
  std::vector<int> counts = Histogram(p, kTen, 2000, 3);
  EXPECT_EQ(counts[9], 2000);  // logit -2.2 + 100 vs at most 2: p(other) < e^-95

  p.logit_bias = {{0, -100.0f}, {1, -100.0f}};
  counts = Histogram(p, kTen, 2000, 3);
  EXPECT_EQ(counts[0] + counts[1], 0);  // each p < e^-97
}

TEST(SamplerPenaltyTest, PenaltiesShiftTheSampledDistribution) {
  // Frequency penalty through the sampling path: token 0, generated twice,
  // loses 2 × 0.5 from its logit; compare against the reference computed on
  // the adjusted logits.
  SamplingParams p = Random();
  p.frequency_penalty = 0.5f;
  std::vector<float> logits = {1.0f, 0.5f, 0.0f};
  Sampler s(p, 3, 21, {});
  s.Accept(0);
  s.Accept(0);
  const int draws = 20000;
  const std::vector<int> counts = Histogram(s, logits, draws);
  const std::vector<double> expected = ReferenceProbs(Random(), {0.0f, 0.5f, 0.0f});
  for (int id = 0; id < 3; ++id) {
    const double sigma = std::sqrt(draws * expected[id] * (1 - expected[id]));
    EXPECT_NEAR(counts[id], draws * expected[id], 5 * sigma + 1) << id;
  }
}

// --------------------------------------------------------------- suppression

TEST(SamplerSuppressionTest, GreedySkipsSuppressedUntilLifted) {
  Sampler s(Greedy(), 5, 0, {});
  const std::vector<float> logits = {0, 4, 3, 2, 1};
  const std::vector<int32_t> banned = {1, 2};
  s.SetSuppressed(banned);
  EXPECT_EQ(s.Sample(logits), 3);
  s.SetSuppressed({});
  EXPECT_EQ(s.Sample(logits), 1);
}

TEST(SamplerSuppressionTest, SampledTokensNeverIncludeSuppressed) {
  Sampler s(Random(1.5f), 10, 8, {});
  const std::vector<int32_t> banned = {0, 3, 9};
  s.SetSuppressed(banned);
  const std::vector<int> counts = Histogram(s, kTen, 5000);
  for (int32_t id : banned) EXPECT_EQ(counts[id], 0) << id;
  for (int32_t id : {1, 2, 4, 5, 6, 7, 8}) EXPECT_GT(counts[id], 0) << id;
}

TEST(SamplerSuppressionTest, EverythingSuppressedFallsBackToRawArgMax) {
  const std::vector<float> logits = {0, 4, 3};
  const std::vector<int32_t> all = {0, 1, 2};
  Sampler greedy(Greedy(), 3, 0, {});
  greedy.SetSuppressed(all);
  EXPECT_EQ(greedy.Sample(logits), 1);
  Sampler random(Random(), 3, 0, {});
  random.SetSuppressed(all);
  EXPECT_EQ(random.Sample(logits), 1);
}

// ---------------------------------------------------------------- determinism

std::vector<int32_t> Generate(const SamplingParams& p, uint64_t seed, int steps) {
  // A deterministic stream of varying logits, with the output fed back.
  Sampler s(p, 50, seed, std::vector<int32_t>{1, 2, 3});
  std::vector<int32_t> out;
  std::vector<float> logits(50);
  for (int step = 0; step < steps; ++step) {
    for (int i = 0; i < 50; ++i) logits[i] = std::sin(0.37f * i + 0.11f * step) * 3;
    const int32_t t = s.Sample(logits);
    s.Accept(t);
    out.push_back(t);
  }
  return out;
}

TEST(SamplerTest, SameSeedSameTokensAndDifferentSeedsDiffer) {
  SamplingParams p = Random(0.9f);
  p.top_k = 20;
  p.top_p = 0.95f;
  p.min_p = 0.01f;
  p.typical_p = 0.99f;
  p.repetition_penalty = 1.1f;
  p.frequency_penalty = 0.3f;
  const std::vector<int32_t> a = Generate(p, 1234, 300);
  EXPECT_EQ(a, Generate(p, 1234, 300));
  EXPECT_NE(a, Generate(p, 1235, 300));
  EXPECT_NE(a, Generate(p, 99, 300));
}

TEST(SamplerTest, InterleavedSamplersDoNotAffectEachOther) {
  const SamplingParams p = Random();
  Sampler alone(p, 10, 77, {});
  std::vector<int32_t> expected;
  for (int i = 0; i < 100; ++i) expected.push_back(alone.Sample(kTen));
  Sampler a(p, 10, 77, {}), other(p, 10, 78, {});
  std::vector<int32_t> got;
  for (int i = 0; i < 100; ++i) {
    other.Sample(kTen);
    got.push_back(a.Sample(kTen));
  }
  EXPECT_EQ(got, expected);
}

// ------------------------------------------------------------- distributions

TEST(SamplerDistributionTest, TemperatureOneFollowsSoftmax) {
  // p = 0.1, 0.2, 0.7
  ExpectMatchesReference(Random(), {0, std::log(2.0f), std::log(7.0f)}, 20000, 5);
}

TEST(SamplerDistributionTest, TemperatureScalesLogits) {
  ExpectMatchesReference(Random(0.5f), kTen, 20000, 6);
  ExpectMatchesReference(Random(2.0f), kTen, 20000, 7);
  // Reference check on the formula itself: T = 0.5 squares the odds.
  const std::vector<double> q = ReferenceProbs(Random(0.5f), {0, std::log(2.0f)});
  EXPECT_NEAR(q[1] / q[0], 4.0, 1e-6);
}

TEST(SamplerDistributionTest, TinyTemperatureIsNearlyGreedyAndFinite) {
  const std::vector<int> counts = Histogram(Random(1e-30f), kTen, 500, 9);
  EXPECT_EQ(counts[0], 500);
}

TEST(SamplerDistributionTest, TopK) {
  SamplingParams p = Random();
  p.top_k = 3;
  ASSERT_EQ(SupportSize(ReferenceProbs(p, kTen)), 3u);
  ExpectMatchesReference(p, kTen, 20000, 10);
  p.top_k = 1;
  ExpectMatchesReference(p, kTen, 1000, 11);
  p.top_k = 100;  // more than the vocabulary
  ExpectMatchesReference(p, kTen, 20000, 12);
}

TEST(SamplerDistributionTest, TopKBreaksTiesByLowerId) {
  SamplingParams p = Random();
  p.top_k = 2;
  const std::vector<int> counts = Histogram(p, {1, 2, 1, 2, 2}, 2000, 13);
  EXPECT_EQ(counts[0] + counts[2] + counts[4], 0);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts[3], 0);
}

TEST(SamplerDistributionTest, TopP) {
  SamplingParams p = Random();
  p.top_p = 0.6f;
  const size_t kept = SupportSize(ReferenceProbs(p, kTen));
  ASSERT_GT(kept, 1u);
  ASSERT_LT(kept, 10u);
  ExpectMatchesReference(p, kTen, 20000, 14);
  p.top_p = 0.01f;  // just the most likely
  ASSERT_EQ(SupportSize(ReferenceProbs(p, kTen)), 1u);
  ExpectMatchesReference(p, kTen, 1000, 15);
}

TEST(SamplerDistributionTest, MinP) {
  SamplingParams p = Random();
  p.min_p = 0.3f;  // keeps logits >= 2 + ln 0.3 ≈ 0.796
  ASSERT_EQ(SupportSize(ReferenceProbs(p, kTen)), 5u);
  ExpectMatchesReference(p, kTen, 20000, 16);
  p.min_p = 1;  // only the maximum
  ExpectMatchesReference(p, kTen, 1000, 17);
}

TEST(SamplerDistributionTest, TypicalP) {
  SamplingParams p = Random();
  p.typical_p = 0.5f;
  const std::vector<double> q = ReferenceProbs(p, kTen);
  ASSERT_GT(SupportSize(q), 1u);
  ASSERT_LT(SupportSize(q), 10u);
  ExpectMatchesReference(p, kTen, 20000, 18);
  // One token with p ≈ 0.38 and 29 near 0.02: the entropy (≈ 2.7) is close
  // to -log 0.02 but far from -log 0.38, so the most likely token is the
  // least typical and typical_p 0.2 drops it.
  std::vector<float> peaked(30);
  peaked[0] = 3.0f;
  for (int i = 1; i < 30; ++i) peaked[i] = 0.01f * i;
  p.typical_p = 0.2f;
  ASSERT_EQ(ReferenceProbs(p, peaked)[0], 0.0);
  ASSERT_GT(SupportSize(ReferenceProbs(p, peaked)), 5u);
  ExpectMatchesReference(p, peaked, 20000, 19);
}

TEST(SamplerDistributionTest, AllTruncationsCombined) {
  SamplingParams p = Random(0.7f);
  p.top_k = 8;
  p.top_p = 0.9f;
  p.min_p = 0.05f;
  ExpectMatchesReference(p, kTen, 20000, 20);
  p = Random(1.3f);
  p.top_k = 9;
  p.top_p = 0.97f;
  p.min_p = 0.02f;
  p.typical_p = 0.8f;
  ExpectMatchesReference(p, kTen, 20000, 21);
  // Without top_k, each of the other paths: top_p with min_p, min_p with
  // typical_p, top_p with typical_p.
  p = Random(1.2f);
  p.top_p = 0.8f;
  p.min_p = 0.3f;
  ExpectMatchesReference(p, kTen, 20000, 29);
  p.top_p = 1;
  p.typical_p = 0.7f;
  ExpectMatchesReference(p, kTen, 20000, 30);
  p.min_p = 0;
  p.top_p = 0.9f;
  ExpectMatchesReference(p, kTen, 20000, 31);
}

TEST(SamplerDistributionTest, MinPAfterTopPUsesTheTopKMassForTopP) {
  // top_k 4 → top_p 0.8 measured on the top-4 mass → min_p. A min_p that
  // removes tokens top_p kept must not change which tokens top_p keeps.
  SamplingParams p = Random();
  p.top_k = 4;
  p.top_p = 0.8f;
  p.min_p = 0.6f;
  ExpectMatchesReference(p, kTen, 20000, 22);
}

// A larger vocabulary, so that the nucleus and typical set span several of
// the sampler's partial-sort blocks; checks the kept set exactly (every
// kept token is drawn, no other ever is) and the frequencies.
std::vector<float> WideLogits(int n) {
  std::vector<float> logits(n);
  for (int i = 0; i < n; ++i) logits[i] = 1.5f * std::sin(i * 2.39996f) - 0.002f * i;
  return logits;
}

TEST(SamplerDistributionTest, WideVocabularyTopPAndTypicalP) {
  const std::vector<float> logits = WideLogits(1000);
  SamplingParams p = Random();
  p.top_p = 0.7f;
  size_t kept = SupportSize(ReferenceProbs(p, logits));
  ASSERT_GT(kept, 200u);  // several blocks of 64
  ExpectMatchesReference(p, logits, 100000, 23);

  p = Random(1.5f);
  p.typical_p = 0.6f;
  kept = SupportSize(ReferenceProbs(p, logits));
  ASSERT_GT(kept, 200u);
  ExpectMatchesReference(p, logits, 100000, 24);
}

TEST(SamplerDistributionTest, LargeTopKKeepsExactlyTheBruteForceSet) {
  // k above the selection buffer's first cut-back (2k + 512 < vocab), with
  // many tied logits around the k-th place; a high temperature makes the
  // kept tokens nearly equally likely, so each is drawn ~100 times.
  std::vector<float> logits(5000);
  for (int i = 0; i < 5000; ++i) logits[i] = static_cast<float>((i * 7919) % 50);
  SamplingParams p = Random(100.0f);
  p.top_k = 600;
  const std::vector<double> expected = ReferenceProbs(p, logits);
  ASSERT_EQ(SupportSize(expected), 600u);
  const std::vector<int> counts = Histogram(p, logits, 60000, 26);
  for (int id = 0; id < 5000; ++id) {
    EXPECT_EQ(counts[id] > 0, expected[id] > 0) << id;
  }
}

TEST(SamplerDistributionTest, TopPOverTiesKeepsTheLowestIds) {
  // 300 equal logits: the nucleus of 0.5 is exactly the 150 lowest ids.
  const std::vector<float> logits(300, 1.0f);
  SamplingParams p = Random();
  p.top_p = 0.5f;
  const std::vector<int> counts = Histogram(p, logits, 30000, 27);
  for (int id = 0; id < 300; ++id) EXPECT_EQ(counts[id] > 0, id < 150) << id;
}

TEST(SamplerDistributionTest, PositiveInfinityIsTakenAsCertain) {
  const std::vector<float> logits = {0, std::numeric_limits<float>::infinity(), 1};
  EXPECT_EQ(Histogram(Random(), logits, 100, 28)[1], 100);
}

TEST(SamplerDistributionTest, NegInfLogitsAreNeverDrawn) {
  std::vector<float> logits = kTen;
  logits[0] = logits[4] = kNegInf;
  SamplingParams p = Random();
  ExpectMatchesReference(p, logits, 20000, 25);
}

// ------------------------------------------------------------- allocations

TEST(SamplerTest, SampleDoesNotAllocate) {
  if (!LLMW_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocations are not counted under ASan or TSan";
  // Every path: greedy, plain, top-k, top-p, min-p, typical-p, with all the
  // adjustments on.
  SamplingParams base = Random(0.8f);
  base.repetition_penalty = 1.2f;
  base.presence_penalty = 0.1f;
  base.frequency_penalty = 0.1f;
  base.logit_bias = {{3, 1.0f}};
  std::vector<SamplingParams> variants(7, base);
  variants[0].temperature = 0;
  variants[2].top_k = 500;
  variants[2].top_p = 0.9f;
  variants[3].top_p = 0.9f;
  variants[4].min_p = 0.01f;
  variants[5].typical_p = 0.9f;
  variants[6].top_k = 50;
  variants[6].min_p = 0.01f;
  variants[6].typical_p = 0.9f;
  const std::vector<float> logits = WideLogits(1000);
  const std::vector<int32_t> prompt = {1, 2, 3};
  const std::vector<int32_t> banned = {0};
  std::vector<Sampler> samplers;
  for (const SamplingParams& p : variants) {
    samplers.emplace_back(p, 1000, 5, prompt);
    for (int32_t t : {7, 8, 7}) samplers.back().Accept(t);
    samplers.back().SetSuppressed(banned);
  }
  const long before = g_allocations.load();
  for (int i = 0; i < 20; ++i) {
    for (Sampler& s : samplers) s.Sample(logits);
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
}

}  // namespace
}  // namespace llmw
