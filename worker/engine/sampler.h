// Picks each next token of one request from a row of logits, following the
// request's SamplingParams, with a per-request generator so that the same
// seed and the same logits give the same tokens.
//
// Sample() applies, in this order (vLLM / OpenAI semantics):
//   1. logit_bias: logit[id] += bias (entries for the same id add up).
//   2. repetition_penalty r, for every distinct token of the prompt and of the
//      accepted output: logit > 0 → logit / r, otherwise logit × r.
//   3. presence p and frequency f, for every distinct accepted output token
//      seen c times: logit -= p + f × c.
//   4. suppression: the ids given to SetSuppressed() get logit -inf, and so do
//      the ids outside the mask given to SetAllowed() (a structured output's).
//   5. temperature == 0: greedy, the largest adjusted logit (lowest id on a
//      tie); steps 6–10 are skipped and no random number is drawn.
//   6. temperature T: probabilities ∝ exp(logit / T). Tokens at -inf are out.
//   7. top_k > 0: keep the k largest logits (lowest ids on a tie).
//   8. top_p < 1: keep the smallest most-likely-first prefix of what is left
//      whose renormalised mass is >= top_p.
//   9. min_p > 0: keep tokens with p >= min_p × p(most likely).
//  10. typical_p < 1 (Meister et al., locally typical sampling): over what is
//      left, renormalised, with entropy H = -Σ p log p, order tokens by
//      |-log p - H| (lowest id on a tie) and keep the smallest prefix whose
//      mass is >= typical_p.
//   Then one uniform draw from the generator picks a kept token with
//   probability proportional to its p. Each sampled (non-greedy) step draws
//   exactly one 64-bit number, so the token stream depends only on the seed
//   and the logits.
// A token whose p is below e^-80 of the most likely one's counts as 0.
// If every token ends up at -inf (all suppressed), Sample returns the largest
// raw logit instead, among the allowed tokens when a mask is set; a +inf logit
// is taken as certain.
//
// Greedy and top-k steps can also be sampled from candidates instead of the
// whole row (PlanCandidates, SampleCandidates): the largest raw logits and the
// raw logits at the few ids the adjustments touch, which is all that a logit
// row on a GPU then needs to send to the host. The token is the one Sample
// would return for the whole row (see SampleCandidates for why).
//
// Cost per Sample, for 49k tokens on one core: a few vectorised passes over
// the vocabulary, about 8 µs greedy and 15–180 µs sampled (typical_p, which
// needs a log per token, up to ~0.7 ms on flat distributions); nothing sorts
// the vocabulary. Memory: 16 bytes per vocabulary entry, allocated in the
// constructor. Samplers share nothing, so they may run on several threads.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "worker/engine/sampling_params.h"

namespace llmw {

inline constexpr float kMaxTemperature = 100.0f;
inline constexpr float kMaxAbsPresenceFrequencyPenalty = 2.0f;
inline constexpr float kMaxAbsLogitBias = 100.0f;
inline constexpr int kMaxLogitBiasEntries = 1024;
// The most candidates (top-n plus adjusted ids) a step samples from; beyond
// that it takes the whole row.
inline constexpr int64_t kMaxSamplingCandidates = 1024;

// OK, or INVALID_ARGUMENT naming the first out-of-range parameter, its value
// and the allowed range. NaN is out of every range.
absl::Status ValidateSamplingParams(const SamplingParams& params, int64_t vocab_size);

class Sampler {
 public:
  // `params` must have passed ValidateSamplingParams for `vocab_size` (bias
  // entries with ids outside the vocabulary are ignored). `prompt` feeds the
  // repetition penalty; ids outside [0, vocab_size) are ignored. All buffers
  // are sized here: Sample allocates nothing.
  // `masked`: SetAllowed will be used (sizes the buffers of sampling from few allowed tokens).
  Sampler(const SamplingParams& params, int64_t vocab_size, uint64_t seed,
          std::span<const int32_t> prompt, bool masked = false);

  // `logits` holds vocab_size values (finite or -inf).
  int32_t Sample(std::span<const float> logits);

  // Records a generated token for the penalties (ids outside the vocabulary
  // are ignored). The engine calls it once per token it keeps.
  void Accept(int32_t token);

  // Tokens that Sample may not return until the next SetSuppressed call (the
  // engine's min_tokens: end-of-generation and stop tokens). Empty = none.
  void SetSuppressed(std::span<const int32_t> ids);

  // Tokens that Sample may return until the next SetAllowed call: id when bit
  // id % 64 of allowed[id / 64] is set (vocab_size bits). Null: every token.
  // The words must stay valid until then; the sampler must have been made
  // `masked`. Candidates (SampleCandidates) are taken to come from a row where
  // the disallowed tokens are already -inf. When at most a quarter of the
  // vocabulary is allowed, Sample works on the allowed tokens alone (the same
  // distribution; top-k and greedy steps give the same token as on the whole
  // row, full draws may differ by float rounding).
  void SetAllowed(const uint64_t* allowed) { allowed_ = allowed; }

  // What the next step needs of its logit row to be sampled from candidates:
  // the `top_n` largest raw logits (with their ids) and the raw logits at
  // `extra_ids` (distinct ids, in no particular order). top_n == 0: the step
  // needs the whole row (Sample): a draw over the whole distribution (no
  // top_k), or more than kMaxSamplingCandidates candidates. Valid until the
  // next call of a non-const method; call it after SetSuppressed.
  struct CandidatePlan {
    int64_t top_n = 0;
    std::span<const int32_t> extra_ids;
  };
  CandidatePlan PlanCandidates();

  // The token Sample would return for the whole row (the same draw from the
  // generator included), from the candidates that the last PlanCandidates
  // asked for, which must have returned top_n > 0: `top_ids`/`top_values` the
  // m >= top_n largest raw logits (in any order; a tie goes to the lower id,
  // NaN ranks below every number), `extra_values[i]` the raw logit of
  // extra_ids[i].
  int32_t SampleCandidates(std::span<const int32_t> top_ids, std::span<const float> top_values,
                           std::span<const float> extra_values);

  int64_t vocab_size() const { return vocab_size_; }

 private:
  struct Candidate {
    float p;  // a logit during top-k selection, then an unnormalised probability
    int32_t id;
  };

  // Steps 1–4 on the logits that `at(id)` points to (nullptr: an id without
  // one); Adjust and SampleCandidates share it, so that an adjusted logit is
  // the same float on both paths.
  template <typename At>
  void ApplyAdjustments(At at) const;
  // Steps 1–4: copies `logits` into scratch_ and adjusts it there.
  std::span<const float> Adjust(std::span<const float> logits);
  // Sets the tokens outside allowed_ to -inf in values[0, n).
  void MaskDisallowed(float* values, size_t n) const;
  bool Allowed(int32_t id) const {
    return allowed_ == nullptr || (allowed_[id >> 6] >> (id & 63)) & 1;
  }
  // What Sample returns when every token is at -inf: the largest raw logit
  // among the allowed tokens.
  int32_t Fallback(std::span<const float> raw) const;
  // Sample over the allowed tokens alone, when they are few; -1 when they are not.
  int32_t SampleAllowed(std::span<const float> logits);
  // Steps 6–10 and the draw. `values` are the adjusted logits.
  int32_t SampleFrom(std::span<const float> values, std::span<const float> raw);
  // The k best values (lowest ids on a tie) into candidates_, in no order.
  size_t SelectTopK(std::span<const float> values, size_t k);
  // Steps 6–10 and the draw once top-k has chosen candidates_[0, count),
  // sorted by ByP; `max` is the largest adjusted logit (finite).
  int32_t SampleTopK(size_t count, float max);
  // Step 10 (when asked for) and the draw from candidates_[0, count).
  int32_t TypicalAndDraw(size_t count);
  // Steps 8–9 on the probabilities in scratch_[0, n): the nucleus of mass
  // `target` intersected with min_p, into candidates_; returns its size.
  size_t Nucleus(size_t n, double target);
  // Step 9 alone: the tokens with p >= min_p into candidates_, computing p
  // only for them.
  size_t MinPSet(std::span<const float> values, float max, float inv_temperature);
  // Candidates {p, id} for every p in probs[0, n) with p >= bar and p > 0,
  // written to `out` in id order; returns how many.
  static size_t Gather(const float* probs, size_t n, float bar, Candidate* out);
  // Step 10 on candidates_[0, count); returns how many stay.
  size_t TypicalPrefix(size_t count);
  // Draws from scratch_[0, n) holding the probabilities, summing to `total`.
  int32_t DrawFromAll(size_t n, double total);
  // Draws from candidates_[0, count).
  int32_t DrawFromCandidates(size_t count);
  double NextUniform();
  static bool ByP(const Candidate& a, const Candidate& b);  // likelier first, then lower id

  SamplingParams params_;
  int64_t vocab_size_;
  std::mt19937_64 rng_;
  bool use_repetition_;
  bool use_presence_frequency_;

  std::vector<std::pair<int32_t, float>> bias_;  // valid ids only
  std::vector<bool> seen_;                       // prompt ∪ output, for repetition
  std::vector<int32_t> seen_ids_;
  absl::flat_hash_map<int32_t, int32_t> output_slot_;       // id → index in output_counts_
  std::vector<std::pair<int32_t, int32_t>> output_counts_;  // (id, times generated)
  std::vector<int32_t> suppressed_;
  const uint64_t* allowed_ = nullptr;

  // The ids of the last PlanCandidates and each one's index in it (-1 for
  // ids not in the plan; by id), and their adjusted logits.
  std::vector<int32_t> plan_ids_;
  std::vector<int32_t> plan_slot_;
  std::vector<float> plan_values_;

  // Per-step buffers, sized once: adjusted logits, then probabilities, then
  // typical-sampling distances (all indexed by id); and the tokens still in
  // the running after truncation.
  std::vector<float> scratch_;
  std::vector<Candidate> candidates_;
  // With a mask: the allowed ids of a step and their raw logits (SampleAllowed).
  std::vector<int32_t> allowed_ids_;
  std::vector<float> allowed_raw_;
};

// Index of the largest logit; the lowest index wins a tie, NaN never wins.
// -1 for an empty row.
int32_t ArgMax(std::span<const float> logits);

}  // namespace llmw
