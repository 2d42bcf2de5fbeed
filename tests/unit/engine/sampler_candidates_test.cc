// Sampling from candidates (Sampler::PlanCandidates / SampleCandidates, with the candidates chosen
// by cpu::TopCandidates, as many as planned or more) gives the token that Sample gives for the
// whole row, step after step, with and without a structured output's token mask:
// two samplers with the same seed, one fed whole rows and one fed candidates, must agree on every
// token over random rows (peaked, flat, with ties, with -inf), every sampling parameter that
// allows candidates, and several seeds.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/mask_logits.h"
#include "kernels/cpu/top_candidates.h"
#include "worker/engine/sampler.h"

namespace llmw {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

enum class RowKind { kPeaked, kFlat, kTies, kNegInf };

std::string KindName(RowKind kind) {
  switch (kind) {
    case RowKind::kPeaked:
      return "peaked";
    case RowKind::kFlat:
      return "flat";
    case RowKind::kTies:
      return "ties";
    case RowKind::kNegInf:
      return "neg-inf";
  }
  return "?";
}

// A row of `kind`; rows of one run share it and differ by a step-dependent change of a few
// thousand entries (the likeliest included), so that penalties on repeated tokens matter.
class RowSource {
 public:
  RowSource(int64_t vocab, RowKind kind, uint32_t seed) : kind_(kind), rng_(seed), base_(vocab) {
    std::normal_distribution<float> normal(0.0f, kind == RowKind::kFlat ? 0.05f : 2.0f);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (float& v : base_) {
      v = normal(rng_);
      if (kind == RowKind::kTies) v = std::round(v * 2.0f) / 2.0f;
      if (kind == RowKind::kNegInf && unit(rng_) < 0.5f) v = -kInf;
    }
    if (kind == RowKind::kPeaked) {
      for (int i = 0; i < 30; ++i) base_[rng_() % base_.size()] += 8.0f + unit(rng_) * 4.0f;
    }
    row_ = base_;
  }

  const std::vector<float>& Next() {
    std::normal_distribution<float> step(0.0f, kind_ == RowKind::kFlat ? 0.05f : 1.0f);
    for (int i = 0; i < 2000; ++i) {
      const size_t id = rng_() % row_.size();
      float v = base_[id] + step(rng_);
      if (kind_ == RowKind::kTies) v = std::round(v * 2.0f) / 2.0f;
      row_[id] = base_[id] == -kInf ? -kInf : v;
    }
    return row_;
  }

  const std::vector<float>& base() const { return base_; }

 private:
  RowKind kind_;
  std::mt19937 rng_;
  std::vector<float> base_;
  std::vector<float> row_;
};

struct Case {
  std::string name;
  SamplingParams params;
};

std::vector<Case> Cases(const std::vector<float>& base) {
  // Ids the bias and the prompt touch: some of the likeliest (so that adjustments change the
  // ranking), some at -inf, some anywhere.
  std::vector<int32_t> order(base.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::partial_sort(order.begin(), order.begin() + 20, order.end(),
                    [&](int32_t a, int32_t b) { return base[a] > base[b]; });
  const auto greedy = [] {
    SamplingParams p;
    p.temperature = 0.0f;
    return p;
  };
  const auto top_k = [](int k, float temperature) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = k;
    return p;
  };
  std::vector<Case> cases;
  cases.push_back({"greedy", greedy()});
  for (const int k : {1, 2, 5, 40, 300}) cases.push_back({"top_k", top_k(k, 1.0f)});
  cases.push_back({"top_k hot", top_k(50, 2.5f)});
  cases.push_back({"top_k cold", top_k(50, 0.3f)});
  {
    Case c{"top_k top_p", top_k(40, 0.9f)};
    c.params.top_p = 0.8f;
    cases.push_back(c);
  }
  {
    Case c{"top_k min_p", top_k(40, 1.0f)};
    c.params.min_p = 0.05f;
    cases.push_back(c);
  }
  {
    Case c{"top_k typical_p", top_k(60, 1.0f)};
    c.params.typical_p = 0.7f;
    cases.push_back(c);
  }
  {
    Case c{"top_k all truncations", top_k(100, 1.2f)};
    c.params.top_p = 0.9f;
    c.params.min_p = 0.01f;
    c.params.typical_p = 0.9f;
    cases.push_back(c);
  }
  for (const float r : {1.3f, 0.7f}) {
    Case g{"greedy repetition", greedy()};
    g.params.repetition_penalty = r;
    cases.push_back(g);
    Case s{"top_k repetition", top_k(20, 1.0f)};
    s.params.repetition_penalty = r;
    cases.push_back(s);
  }
  for (const float f : {0.5f, -0.5f}) {
    Case g{"greedy presence frequency", greedy()};
    g.params.presence_penalty = f;
    g.params.frequency_penalty = 0.3f;
    cases.push_back(g);
    Case s{"top_k presence frequency", top_k(10, 0.8f)};
    s.params.presence_penalty = 0.4f;
    s.params.frequency_penalty = f;
    cases.push_back(s);
  }
  {
    Case c{"greedy bias", greedy()};
    c.params.logit_bias = {{order[0], -100.0f}, {order[1], -3.0f}, {order[19], 2.5f}};
    cases.push_back(c);
  }
  {
    Case c{"top_k bias", top_k(8, 1.0f)};
    c.params.logit_bias = {{order[0], -100.0f},
                           {order[5], 1.0f},
                           {order[5], 0.5f},
                           {static_cast<int32_t>(base.size() - 1), 100.0f}};
    cases.push_back(c);
  }
  {
    Case c{"everything", top_k(30, 1.1f)};
    c.params.top_p = 0.95f;
    c.params.min_p = 0.02f;
    c.params.repetition_penalty = 1.2f;
    c.params.presence_penalty = 0.3f;
    c.params.frequency_penalty = 0.2f;
    c.params.logit_bias = {{order[2], -2.0f}, {order[7], 3.0f}, {0, 1.0f}};
    cases.push_back(c);
  }
  return cases;
}

// A structured output's token mask over `vocab` ids: about a third allowed, changing each step,
// with the row's likeliest token forbidden on odd steps.
// Every third step only a few hundred tokens are allowed (the sampler then samples from them
// alone).
std::vector<uint64_t> RandomMask(int64_t vocab, const std::vector<float>& row, int step) {
  std::mt19937_64 rng(static_cast<uint64_t>(step) * 977 + 3);
  std::vector<uint64_t> mask(static_cast<size_t>((vocab + 63) / 64));
  for (uint64_t& w : mask) w = rng() & rng();  // ~1/4 of the bits
  for (uint64_t& w : mask) w |= rng() & rng() & rng();
  if (step % 3 == 2) {
    for (uint64_t& w : mask) w &= rng() & rng() & rng() & rng() & rng();  // ~1/100
    for (int i = 0; i < 40; ++i) {                                        // some of the likeliest
      const int32_t id =
          static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin() + i) %
          static_cast<int32_t>(vocab);
      mask[id / 64] |= uint64_t{1} << (id % 64);
    }
  }
  if (step % 2 == 1) {
    const int32_t best = ArgMax(row);
    mask[best / 64] &= ~(uint64_t{1} << (best % 64));
  }
  return mask;
}

// Runs `steps` steps of both samplers and expects the same token each time. Every other step
// suppresses a few ids (the likeliest included), as min_tokens does. With `masked`, each step
// also has a token mask: the whole-row sampler applies it, the candidates come from the row with
// cpu::MaskLogits applied first (as a runner does), and the token must be allowed.
void ExpectSameTokens(const Case& c, RowSource& rows, uint64_t seed, int steps,
                      const std::string& what, bool masked = false) {
  const int64_t vocab = static_cast<int64_t>(rows.base().size());
  std::vector<int32_t> prompt;
  for (int32_t id = 0; id < 64; ++id) prompt.push_back(static_cast<int32_t>((id * 7919) % vocab));
  Sampler whole(c.params, vocab, seed, prompt, masked);
  Sampler from_candidates(c.params, vocab, seed, prompt, masked);
  std::vector<int32_t> ids;
  std::vector<float> values, extra_values;
  std::vector<int32_t> last_tokens;
  std::vector<float> masked_row;
  for (int step = 0; step < steps; ++step) {
    const std::vector<float>& row = rows.Next();
    std::vector<uint64_t> mask;
    const std::vector<float>* candidate_row = &row;
    if (masked) {
      mask = RandomMask(vocab, row, step);
      whole.SetAllowed(mask.data());
      from_candidates.SetAllowed(mask.data());
      masked_row = row;
      const int32_t no_offset = 0;
      cpu::MaskLogits(masked_row.data(), 1, vocab, reinterpret_cast<const uint32_t*>(mask.data()),
                      &no_offset);
      candidate_row = &masked_row;
    }
    std::vector<int32_t> suppressed;
    if (step % 2 == 1) {
      suppressed = {static_cast<int32_t>(ArgMax(row)), 3, static_cast<int32_t>(vocab - 2)};
      if (!last_tokens.empty()) suppressed.push_back(last_tokens.back());
    }
    whole.SetSuppressed(suppressed);
    from_candidates.SetSuppressed(suppressed);
    const Sampler::CandidatePlan plan = from_candidates.PlanCandidates();
    ASSERT_GT(plan.top_n, 0) << what << ": this case should sample from candidates";
    // A batch reads every row's candidates at the largest top_n of its rows: more is fine.
    const int64_t top_n = std::min(vocab, plan.top_n + (step % 3) * 17);
    ids.assign(top_n, -1);
    values.assign(top_n, 0.0f);
    extra_values.assign(plan.extra_ids.size(), 0.0f);
    const int32_t offsets[2] = {0, static_cast<int32_t>(plan.extra_ids.size())};
    cpu::TopCandidates(ids.data(), values.data(), extra_values.data(), candidate_row->data(), 1,
                       vocab, top_n, plan.extra_ids.data(), offsets);
    const int32_t want = whole.Sample(row);
    const int32_t got = from_candidates.SampleCandidates(ids, values, extra_values);
    ASSERT_EQ(got, want) << what << " step " << step;
    if (masked) ASSERT_TRUE((mask[want / 64] >> (want % 64)) & 1) << what << " step " << step;
    whole.Accept(want);
    from_candidates.Accept(got);
    last_tokens.push_back(want);
  }
}

void RunAll(int64_t vocab, int steps, std::initializer_list<uint64_t> seeds, bool masked = false) {
  for (const RowKind kind : {RowKind::kPeaked, RowKind::kFlat, RowKind::kTies, RowKind::kNegInf}) {
    const RowSource proto(vocab, kind, 11);
    for (const Case& c : Cases(proto.base())) {
      for (const uint64_t seed : seeds) {
        RowSource rows(vocab, kind, 11);
        ExpectSameTokens(c, rows, seed, steps,
                         c.name + " on " + KindName(kind) + " rows, seed " + std::to_string(seed),
                         masked);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

TEST(SamplerCandidatesTest, SameTokensAsWholeRowsVocab49152) { RunAll(49152, 24, {1, 2, 3}); }

TEST(SamplerCandidatesTest, SameTokensAsWholeRowsVocab262144) { RunAll(262144, 6, {5}); }

TEST(SamplerCandidatesTest, SameAllowedTokensAsWholeRowsUnderATokenMask) {
  RunAll(49152, 12, {1, 2}, /*masked=*/true);
}

TEST(SamplerCandidatesTest, DrawsFromFewAllowedTokensFollowTheirSoftmax) {
  // 40 of 4,000 tokens allowed: the sampler works on those alone; over 40,000 draws each token's
  // frequency must match its probability under the softmax of the allowed logits.
  const int64_t vocab = 4000;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<float> row(vocab);
  for (float& v : row) v = normal(rng);
  std::vector<uint64_t> mask((vocab + 63) / 64, 0);
  std::vector<int32_t> allowed;
  for (int32_t id = 7; id < vocab; id += 100) {
    allowed.push_back(id);
    mask[id / 64] |= uint64_t{1} << (id % 64);
  }
  double total = 0;
  for (int32_t id : allowed) total += std::exp(static_cast<double>(row[id]));
  SamplingParams p;
  p.temperature = 1.0f;
  p.repetition_penalty = 1.0f;
  Sampler sampler(p, vocab, 17, {}, /*masked=*/true);
  sampler.SetAllowed(mask.data());
  std::vector<int> counts(vocab, 0);
  const int draws = 40'000;
  for (int i = 0; i < draws; ++i) ++counts[sampler.Sample(row)];
  int seen = 0;
  for (int32_t id : allowed) {
    const double want = std::exp(static_cast<double>(row[id])) / total;
    const double sigma = std::sqrt(want * (1 - want) / draws);
    EXPECT_NEAR(static_cast<double>(counts[id]) / draws, want, 5 * sigma + 1e-4) << "token " << id;
    seen += counts[id];
  }
  EXPECT_EQ(seen, draws);  // nothing outside the mask
}

TEST(SamplerCandidatesTest, AMaskedRowWithEverythingAllowedSuppressedFallsBackToTheBestAllowed) {
  for (const float temperature : {0.0f, 1.0f}) {
    SamplingParams p;
    p.temperature = temperature;
    const std::vector<float> row = {0.5f, 3.0f, 1.0f, 2.0f, 4.0f};
    const uint64_t mask = 0b01101;  // 0, 2, 3 allowed; all suppressed
    Sampler sampler(p, 5, 9, {}, /*masked=*/true);
    sampler.SetAllowed(&mask);
    const std::vector<int32_t> suppressed = {0, 2, 3};
    sampler.SetSuppressed(suppressed);
    EXPECT_EQ(sampler.Sample(row), 3);  // the best allowed raw logit, not 4 or 1
  }
}

TEST(SamplerCandidatesTest, EverythingSuppressedFallsBackToTheRawArgMax) {
  for (const float temperature : {0.0f, 1.0f}) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = 1;  // top_n = 1 + 3 suppressed ids: the whole row of 4
    const std::vector<float> row = {0.5f, 3.0f, -kInf, 3.0f};
    Sampler whole(p, 4, 9, {});
    Sampler from_candidates(p, 4, 9, {});
    const std::vector<int32_t> all = {0, 1, 3};
    whole.SetSuppressed(all);
    from_candidates.SetSuppressed(all);
    const Sampler::CandidatePlan plan = from_candidates.PlanCandidates();
    ASSERT_GT(plan.top_n, 0);
    std::vector<int32_t> ids(plan.top_n);
    std::vector<float> values(plan.top_n), extra(plan.extra_ids.size());
    const int32_t offsets[2] = {0, static_cast<int32_t>(plan.extra_ids.size())};
    cpu::TopCandidates(ids.data(), values.data(), extra.data(), row.data(), 1, 4, plan.top_n,
                       plan.extra_ids.data(), offsets);
    EXPECT_EQ(whole.Sample(row), 1);
    EXPECT_EQ(from_candidates.SampleCandidates(ids, values, extra), 1);
  }
}

TEST(SamplerCandidatesTest, PlansTheWholeRowWhenCandidatesCannotDecide) {
  const auto plan_top_n = [](const SamplingParams& p, std::vector<int32_t> prompt) {
    Sampler s(p, 5000, 1, prompt);
    return s.PlanCandidates().top_n;
  };
  SamplingParams p;
  p.temperature = 1.0f;
  EXPECT_EQ(plan_top_n(p, {}), 0);  // a draw over the whole distribution
  p.top_p = 0.9f;
  EXPECT_EQ(plan_top_n(p, {}), 0);
  p.top_k = 5000;  // no smaller than the vocabulary: no top-k at all
  EXPECT_EQ(plan_top_n(p, {}), 0);
  p.top_k = 40;
  EXPECT_EQ(plan_top_n(p, {}), 40);
  p.repetition_penalty = 1.1f;
  EXPECT_EQ(plan_top_n(p, {7, 8, 7}), 42);  // 40 + the 2 distinct prompt ids
  std::vector<int32_t> long_prompt(2000);
  for (int32_t i = 0; i < 2000; ++i) long_prompt[i] = i;
  EXPECT_EQ(plan_top_n(p, long_prompt), 0);  // more than kMaxSamplingCandidates
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  greedy.logit_bias = {{4, 1.0f}, {4, 2.0f}, {9, -1.0f}};
  EXPECT_EQ(plan_top_n(greedy, {}), 3);  // 1 + the 2 distinct biased ids
}

}  // namespace
}  // namespace llmw
