// Log-probabilities reported to clients: the chosen token's and the most
// likely alternatives', from the raw model logits (before bias, penalties and
// temperature, as vLLM reports them by default).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace llmw {

struct TokenLogprob {
  int32_t id;
  float logprob;
};

struct TokenLogprobs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;  // most likely first; lower id first on a tie
};

// Log-softmax of `logits` (one vocabulary row; finite or -inf values) for
// `chosen` and the `top_n` most likely tokens (clamped to [0, kMaxLogprobs]
// and to the vocabulary). O(vocab × top_n) at worst, O(vocab) typically; sums
// in double. `out->top` keeps its capacity across calls.
void ComputeLogprobs(std::span<const float> logits, int32_t chosen, int top_n, TokenLogprobs* out);

}  // namespace llmw
