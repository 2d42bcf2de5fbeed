// Picks the next token from a row of logits: greedy at temperature 0,
// otherwise temperature → top-k → top-p, drawn from a per-request generator
// so the same seed and prompt give the same output.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace llmw {

struct SamplingParams {
  float temperature = 0.0f;  // 0 = greedy
  int32_t top_k = 0;         // 0 = whole vocabulary
  float top_p = 1.0f;        // (0, 1]
  uint64_t seed = 0;
};

// INVALID_ARGUMENT naming the first parameter out of range.
absl::Status ValidateSamplingParams(const SamplingParams& params);

class Sampler {
 public:
  // `params` must be valid.
  Sampler(const SamplingParams& params, int64_t vocab_size);

  int32_t Sample(std::span<const float> logits);

 private:
  struct Candidate {
    float logit;
    int32_t id;
  };

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;  // reused across calls
  std::vector<float> probs_;
};

// Index of the largest logit; the lowest index wins a tie.
int32_t ArgMax(std::span<const float> logits);

}  // namespace llmw
