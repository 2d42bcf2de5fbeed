// Log-softmax of one logits row, restricted to the tokens that get reported.
#include "worker/engine/logprobs.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "worker/engine/logits_math.h"
#include "worker/engine/sampling_params.h"

namespace llmw {
namespace {

bool Before(const TokenLogprob& a, const TokenLogprob& b) {
  return a.logprob > b.logprob || (a.logprob == b.logprob && a.id < b.id);
}

// The n largest logits (lower id first on a tie) into `top`, best first:
// an insertion-sorted list whose last entry is the bar a logit must beat.
// Ids arrive in increasing order, so a logit equal to the bar loses. Most of
// the row is below the bar and is skipped four values at a time.
void TopLogits(std::span<const float> logits, size_t n, std::vector<TokenLogprob>& top) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  top.clear();
  if (n == 0) return;
  float bar = -kInf;  // NaN and -inf never get in
  const auto offer = [&](size_t i) {
    const TokenLogprob candidate{static_cast<int32_t>(i), logits[i]};
    if (!(candidate.logprob > bar) && top.size() == n) return;
    if (!(candidate.logprob > -kInf)) return;
    if (top.size() == n) top.pop_back();
    top.insert(std::upper_bound(top.begin(), top.end(), candidate, Before), candidate);
    if (top.size() == n) bar = top.back().logprob;
  };
  size_t i = 0;
  for (; i + logits_math::kLanes <= logits.size(); i += logits_math::kLanes) {
    const logits_math::I4 above = logits_math::Load4(logits.data() + i) > logits_math::Splat4(bar);
    int64_t any[2];
    std::memcpy(any, &above, sizeof(any));
    if ((any[0] | any[1]) == 0) continue;
    for (int j = 0; j < logits_math::kLanes; ++j) offer(i + j);
  }
  for (; i < logits.size(); ++i) offer(i);
}

}  // namespace

void ComputeLogprobs(std::span<const float> logits, int32_t chosen, int top_n, TokenLogprobs* out) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const float max = logits_math::MaxValue(logits);
  // log Σ e^l = max + log Σ e^(l - max); every term is <= 1 and the sum >= 1.
  const double log_z = max > -kInf ? max + std::log(logits_math::SumExpShifted(logits, max)) : kInf;
  const auto logprob = [log_z](float v) { return static_cast<float>(v - log_z); };

  const bool valid = chosen >= 0 && static_cast<size_t>(chosen) < logits.size();
  out->chosen = TokenLogprob{chosen, valid ? logprob(logits[chosen]) : -kInf};

  const size_t n = std::min<size_t>(std::clamp(top_n, 0, kMaxLogprobs), logits.size());
  out->top.reserve(n);
  TopLogits(logits, n, out->top);
  for (TokenLogprob& t : out->top) t.logprob = logprob(t.logprob);
}

}  // namespace llmw
