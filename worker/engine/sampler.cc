// Temperature, top-k and nucleus sampling over one logits row.
#include "worker/engine/sampler.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace llmw {

absl::Status ValidateSamplingParams(const SamplingParams& p) {
  if (!std::isfinite(p.temperature) || p.temperature < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("temperature must be a finite number >= 0, got ", p.temperature));
  }
  if (p.top_k < 0) {
    return absl::InvalidArgumentError(absl::StrCat("top_k must be >= 0, got ", p.top_k));
  }
  if (!(p.top_p > 0 && p.top_p <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("top_p must be in (0, 1], got ", p.top_p));
  }
  return absl::OkStatus();
}

int32_t ArgMax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Sampler::Sampler(const SamplingParams& params, int64_t vocab_size)
    : params_(params), rng_(params.seed) {
  candidates_.reserve(vocab_size);
  probs_.reserve(vocab_size);
}

int32_t Sampler::Sample(std::span<const float> logits) {
  if (params_.temperature == 0.0f) return ArgMax(logits);

  candidates_.clear();
  for (size_t i = 0; i < logits.size(); ++i) {
    candidates_.push_back({logits[i] / params_.temperature, static_cast<int32_t>(i)});
  }
  const auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  size_t keep = candidates_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = params_.top_k;
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }

  // Softmax over the kept candidates (sorted, so the first is the maximum).
  probs_.resize(keep);
  double total = 0;
  for (size_t i = 0; i < keep; ++i) {
    probs_[i] = std::exp(candidates_[i].logit - candidates_[0].logit);
    total += probs_[i];
  }
  // Nucleus: the smallest prefix whose probability mass reaches top_p.
  if (params_.top_p < 1.0f) {
    double mass = 0;
    size_t n = 0;
    while (n < keep) {
      mass += probs_[n++] / total;
      if (mass >= params_.top_p) break;
    }
    keep = n;
    total = 0;
    for (size_t i = 0; i < keep; ++i) total += probs_[i];
  }

  const double r = std::uniform_real_distribution<double>(0.0, total)(rng_);
  double cumulative = 0;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += probs_[i];
    if (r < cumulative) return candidates_[i].id;
  }
  return candidates_[keep - 1].id;
}

}  // namespace llmw
