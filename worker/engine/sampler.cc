// Logit adjustments (bias, penalties, suppression), truncation (top-k, top-p,
// min-p, typical-p) and the seeded draw for one request. Every step is a
// linear pass over the vocabulary (expected linear for top-p and typical-p);
// nothing sorts the vocabulary.
#include "worker/engine/sampler.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "worker/engine/logits_math.h"

namespace llmw {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Enough digits that a value just outside a range does not print as the bound.
std::string Num(double v) { return absl::StrFormat("%.9g", v); }

absl::Status OutOfRange(const char* name, double value, const char* range) {
  return absl::InvalidArgumentError(
      absl::StrCat(name, " must be in ", range, ", got ", Num(value)));
}

// Moves the shortest prefix of [first, last) in `before` order (a strict
// total order) whose summed `p` reaches `target` to the front, in no
// particular order, and returns its length (all of the range when the target
// is never reached). A quickselect that follows the mass: expected O(n), with
// a fallback to sorting should the partitions keep coming out lopsided.
template <typename T, typename Before>
size_t MassPrefix(T* first, T* last, Before before, double target) {
  T* lo = first;  // [first, lo) is kept; its mass is `mass`
  T* hi = last;   // [hi, last) is dropped
  double mass = 0;
  for (int rounds = 64; hi - lo > 32 && rounds > 0; --rounds) {
    // Median of three, moved to the end as the pivot.
    T* mid = lo + (hi - lo) / 2;
    T* end = hi - 1;
    if (before(*mid, *lo)) std::swap(*mid, *lo);
    if (before(*end, *mid)) std::swap(*end, *mid);
    if (before(*mid, *lo)) std::swap(*mid, *lo);
    std::swap(*mid, *end);
    const T pivot = *end;
    T* split = std::partition(lo, end, [&](const T& x) { return before(x, pivot); });
    double better = 0;
    for (T* t = lo; t != split; ++t) better += t->p;
    std::swap(*split, *end);
    if (mass + better >= target) {
      hi = split;
      continue;
    }
    mass += better + split->p;
    lo = split + 1;
    if (mass >= target) return static_cast<size_t>(lo - first);
  }
  std::sort(lo, hi, before);
  for (T* t = lo; t != hi; ++t) {
    mass += t->p;
    if (mass >= target) return static_cast<size_t>(t + 1 - first);
  }
  return static_cast<size_t>(hi - first);
}

}  // namespace

bool Sampler::ByP(const Candidate& a, const Candidate& b) {
  return a.p > b.p || (a.p == b.p && a.id < b.id);
}

absl::Status ValidateSamplingParams(const SamplingParams& p, int64_t vocab_size) {
  if (vocab_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("vocab_size must be > 0, got ", vocab_size));
  }
  if (!(p.temperature >= 0 && p.temperature <= kMaxTemperature)) {
    return OutOfRange("temperature", p.temperature, "[0, 100] (0 = greedy)");
  }
  if (p.top_k < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_k must be >= 0 (0 = no limit), got ", p.top_k));
  }
  if (!(p.top_p > 0 && p.top_p <= 1)) return OutOfRange("top_p", p.top_p, "(0, 1]");
  if (!(p.min_p >= 0 && p.min_p <= 1)) return OutOfRange("min_p", p.min_p, "[0, 1]");
  if (!(p.typical_p > 0 && p.typical_p <= 1)) {
    return OutOfRange("typical_p", p.typical_p, "(0, 1]");
  }
  if (!(p.repetition_penalty > 0 && std::isfinite(p.repetition_penalty))) {
    return absl::InvalidArgumentError(
        absl::StrCat("repetition_penalty must be a finite number > 0 (1 = off), got ",
                     Num(p.repetition_penalty)));
  }
  if (!(std::abs(p.presence_penalty) <= kMaxAbsPresenceFrequencyPenalty)) {
    return OutOfRange("presence_penalty", p.presence_penalty, "[-2, 2]");
  }
  if (!(std::abs(p.frequency_penalty) <= kMaxAbsPresenceFrequencyPenalty)) {
    return OutOfRange("frequency_penalty", p.frequency_penalty, "[-2, 2]");
  }
  if (p.logit_bias.size() > static_cast<size_t>(kMaxLogitBiasEntries)) {
    return absl::InvalidArgumentError(absl::StrCat("logit_bias has ", p.logit_bias.size(),
                                                   " entries; at most ", kMaxLogitBiasEntries,
                                                   " are allowed"));
  }
  for (const auto& [id, bias] : p.logit_bias) {
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "logit_bias token id ", id, " is outside the vocabulary [0, ", vocab_size, ")"));
    }
    if (!(std::abs(bias) <= kMaxAbsLogitBias)) {
      return absl::InvalidArgumentError(
          absl::StrCat("logit_bias for token ", id, " must be in [-100, 100], got ", Num(bias)));
    }
  }
  return absl::OkStatus();
}

int32_t ArgMax(std::span<const float> logits) {
  if (logits.empty()) return -1;
  const int64_t first = logits_math::FindFirst(logits, logits_math::MaxValue(logits));
  return first >= 0 ? static_cast<int32_t>(first) : 0;  // not found: all NaN
}

Sampler::Sampler(const SamplingParams& params, int64_t vocab_size, uint64_t seed,
                 std::span<const int32_t> prompt, bool masked)
    : params_(params),
      vocab_size_(vocab_size),
      rng_(seed),
      use_repetition_(params.repetition_penalty != 1.0f),
      use_presence_frequency_(params.presence_penalty != 0.0f || params.frequency_penalty != 0.0f) {
  for (const auto& [id, bias] : params.logit_bias) {
    if (id >= 0 && id < vocab_size) bias_.emplace_back(id, bias);
  }
  if (use_repetition_) {
    seen_.assign(vocab_size, false);
    for (const int32_t id : prompt) {
      if (id >= 0 && id < vocab_size && !seen_[id]) {
        seen_[id] = true;
        seen_ids_.push_back(id);
      }
    }
  }
  scratch_.resize(vocab_size);
  candidates_.resize(vocab_size);
  plan_slot_.assign(vocab_size, -1);
  plan_ids_.reserve(kMaxSamplingCandidates);
  plan_values_.reserve(kMaxSamplingCandidates);
  if (masked) {
    allowed_ids_.resize(vocab_size);
    allowed_raw_.resize(vocab_size);
  }
}

void Sampler::Accept(int32_t token) {
  if (token < 0 || token >= vocab_size_) return;
  if (use_repetition_ && !seen_[token]) {
    seen_[token] = true;
    seen_ids_.push_back(token);
  }
  if (use_presence_frequency_) {
    const auto [it, inserted] =
        output_slot_.try_emplace(token, static_cast<int32_t>(output_counts_.size()));
    if (inserted) {
      output_counts_.emplace_back(token, 1);
    } else {
      ++output_counts_[it->second].second;
    }
  }
}

void Sampler::SetSuppressed(std::span<const int32_t> ids) {
  suppressed_.assign(ids.begin(), ids.end());
}

template <typename At>
void Sampler::ApplyAdjustments(At at) const {
  for (const auto& [id, bias] : bias_) {
    if (float* v = at(id)) *v += bias;
  }
  const float r = params_.repetition_penalty;
  for (const int32_t id : seen_ids_) {
    if (float* v = at(id)) *v = *v > 0 ? *v / r : *v * r;
  }
  for (const auto& [id, count] : output_counts_) {
    float* v = at(id);
    if (v == nullptr) continue;
    *v -= params_.frequency_penalty * static_cast<float>(count);
    *v -= params_.presence_penalty;
  }
  for (const int32_t id : suppressed_) {
    if (float* v = at(id)) *v = -kInf;
  }
}

std::span<const float> Sampler::Adjust(std::span<const float> logits) {
  const int64_t n = static_cast<int64_t>(logits.size());
  float* v = scratch_.data();
  std::copy(logits.begin(), logits.end(), v);
  ApplyAdjustments([v, n](int32_t id) { return id >= 0 && id < n ? v + id : nullptr; });
  if (allowed_ != nullptr) MaskDisallowed(v, logits.size());
  return std::span<const float>(v, logits.size());
}

void Sampler::MaskDisallowed(float* values, size_t n) const {
  for (size_t word = 0; word * 64 < n; ++word) {
    const uint64_t bits = allowed_[word];
    if (bits == ~uint64_t{0}) continue;
    const size_t end = std::min(n, word * 64 + 64);
    for (size_t i = word * 64; i < end; ++i) {
      if (!((bits >> (i & 63)) & 1)) values[i] = -kInf;
    }
  }
}

int32_t Sampler::Fallback(std::span<const float> raw) const {
  if (allowed_ == nullptr) return ArgMax(raw);
  int32_t best = -1;
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto id = static_cast<int32_t>(i);
    if (Allowed(id) && raw[i] == raw[i] && (best < 0 || raw[i] > raw[best])) best = id;
  }
  return best >= 0 ? best : ArgMax(raw);
}

int32_t Sampler::SampleAllowed(std::span<const float> logits) {
  const size_t n_words = (logits.size() + 63) / 64;
  size_t count = 0;
  for (size_t w = 0; w < n_words; ++w) count += std::popcount(allowed_[w]);
  if (allowed_ids_.empty() || count == 0 || count > logits.size() / 4) return -1;
  int32_t* const ids = allowed_ids_.data();
  float* const raw = allowed_raw_.data();
  size_t n = 0;
  for (size_t w = 0; w < n_words; ++w) {
    for (uint64_t bits = allowed_[w]; bits != 0; bits &= bits - 1) {
      const size_t id = w * 64 + static_cast<size_t>(std::countr_zero(bits));
      if (id >= logits.size()) break;
      ids[n] = static_cast<int32_t>(id);
      raw[n++] = logits[id];
    }
  }
  // The allowed tokens in id order stand for the row: positions order like ids, so every tie
  // and every float sum of a top-k or greedy step comes out as on the whole row.
  float* const values = scratch_.data();
  std::copy(raw, raw + n, values);
  ApplyAdjustments([&](int32_t id) -> float* {
    const int32_t* at = std::lower_bound(ids, ids + n, id);
    return at != ids + n && *at == id ? values + (at - ids) : nullptr;
  });
  const std::span<const float> adjusted(values, n);
  const std::span<const float> allowed_raw(raw, n);
  int32_t position;
  if (params_.temperature == 0.0f) {
    const int32_t best = ArgMax(adjusted);
    position = best >= 0 && adjusted[best] > -kInf ? best : ArgMax(allowed_raw);
  } else {
    const uint64_t* const mask = allowed_;
    allowed_ = nullptr;  // every position is allowed
    position = SampleFrom(adjusted, allowed_raw);
    allowed_ = mask;
  }
  return ids[position];
}

int32_t Sampler::Sample(std::span<const float> logits) {
  if (static_cast<int64_t>(logits.size()) > vocab_size_) logits = logits.first(vocab_size_);
  if (allowed_ != nullptr) {
    if (const int32_t token = SampleAllowed(logits); token >= 0) return token;
  }
  const bool adjusted = !bias_.empty() || !seen_ids_.empty() || !output_counts_.empty() ||
                        !suppressed_.empty() || allowed_ != nullptr;
  const std::span<const float> values = adjusted ? Adjust(logits) : logits;
  if (params_.temperature == 0.0f) {
    const int32_t best = ArgMax(values);
    return best >= 0 && values[best] > -kInf ? best : Fallback(logits);
  }
  return SampleFrom(values, logits);
}

double Sampler::NextUniform() {
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // 53 random bits → [0, 1)
}

size_t Sampler::SelectTopK(std::span<const float> values, size_t k) {
  // One pass with a rising bar: candidates above the current k-th best are
  // collected, and when the buffer fills it is cut back to its best k. Later
  // ids lose ties, so a value equal to the bar never gets in. Most of the
  // vocabulary is below the bar, so it is tested four values at a time.
  using logits_math::I4;
  Candidate* const out = candidates_.data();
  const size_t n = values.size();
  const size_t cap = std::min(n, 2 * k + 512);
  float bar = -kInf;
  size_t count = 0;
  const auto offer = [&](size_t i) {
    const float v = values[i];
    if (!(v > bar)) return;
    out[count++] = Candidate{v, static_cast<int32_t>(i)};
    if (count == cap) {
      std::nth_element(out, out + (k - 1), out + count, ByP);
      count = k;
      bar = out[k - 1].p;
    }
  };
  size_t i = 0;
  for (; i + logits_math::kLanes <= n; i += logits_math::kLanes) {
    const I4 above = logits_math::Load4(values.data() + i) > logits_math::Splat4(bar);
    int64_t any[2];
    std::memcpy(any, &above, sizeof(any));
    if ((any[0] | any[1]) == 0) continue;
    for (int j = 0; j < logits_math::kLanes; ++j) offer(i + j);
  }
  for (; i < n; ++i) offer(i);
  if (count > k) {
    std::nth_element(out, out + (k - 1), out + count, ByP);
    count = k;
  }
  return count;
}

int32_t Sampler::SampleFrom(std::span<const float> values, std::span<const float> raw) {
  const float max = logits_math::MaxValue(values);
  if (!(max > -kInf)) return Fallback(raw);  // nothing can be sampled
  if (max == kInf) return static_cast<int32_t>(logits_math::FindFirst(values, kInf));
  // Far below any temperature that differs from greedy; keeps 1/T finite.
  const float inv_temperature = 1.0f / std::max(params_.temperature, 1e-30f);
  const size_t n = values.size();
  Candidate* const first = candidates_.data();
  float* const probs = scratch_.data();  // may be where `values` live: same index, fine
  size_t count = 0;
  // Top-k as on the whole row (a compact row of allowed tokens has fewer than vocab_size).
  if (params_.top_k > 0 && params_.top_k < vocab_size_) {
    count = SelectTopK(values, std::min<size_t>(params_.top_k, n));
    // The draw and the float sums below follow the candidates' order: one
    // canonical order makes them independent of how they were selected (here
    // or by SampleCandidates).
    std::sort(first, first + count, ByP);
    return SampleTopK(count, max);
  }
  if (params_.top_p < 1) {
    const double mass = logits_math::ExpShifted(values, max, inv_temperature, probs);
    count = Nucleus(n, params_.top_p * mass);
  } else if (params_.min_p > 0) {
    count = MinPSet(values, max, inv_temperature);
  } else {
    const double mass = logits_math::ExpShifted(values, max, inv_temperature, probs);
    if (params_.typical_p == 1) return DrawFromAll(n, mass);
    count = Gather(probs, n, 0.0f, first);
  }
  return TypicalAndDraw(count);
}

int32_t Sampler::SampleTopK(size_t count, float max) {
  const float inv_temperature = 1.0f / std::max(params_.temperature, 1e-30f);
  Candidate* const first = candidates_.data();
  double mass = 0;
  for (size_t i = 0; i < count; ++i) {
    first[i].p = logits_math::ExpNonPositive((first[i].p - max) * inv_temperature);
    mass += first[i].p;
  }
  // min_p keeps a most-likely-first prefix that does not depend on the
  // normalisation, so filtering it before top_p (still measured against the
  // top-k mass) equals top_p followed by min_p.
  if (params_.min_p > 0) {
    size_t kept = 0;
    for (size_t i = 0; i < count; ++i) {
      if (first[i].p >= params_.min_p) first[kept++] = first[i];
    }
    count = kept;
  }
  if (params_.top_p < 1) {
    count = MassPrefix(first, first + count, ByP, params_.top_p * mass);
  }
  return TypicalAndDraw(count);
}

int32_t Sampler::TypicalAndDraw(size_t count) {
  if (params_.typical_p < 1) count = TypicalPrefix(count);
  return DrawFromCandidates(count);
}

Sampler::CandidatePlan Sampler::PlanCandidates() {
  for (const int32_t id : plan_ids_) plan_slot_[id] = -1;
  plan_ids_.clear();
  const bool greedy = params_.temperature == 0.0f;
  if (!greedy && !(params_.top_k > 0 && params_.top_k < vocab_size_)) return {};
  const auto add = [this](int32_t id) {  // stops at the capacity: too many for a plan anyway
    if (id < 0 || id >= vocab_size_ || plan_slot_[id] >= 0 ||
        static_cast<int64_t>(plan_ids_.size()) == kMaxSamplingCandidates) {
      return;
    }
    plan_slot_[id] = static_cast<int32_t>(plan_ids_.size());
    plan_ids_.push_back(id);
  };
  for (const auto& [id, bias] : bias_) add(id);
  for (const int32_t id : seen_ids_) add(id);
  for (const auto& [id, count] : output_counts_) add(id);
  for (const int32_t id : suppressed_) add(id);
  const int64_t top_n = (greedy ? 1 : params_.top_k) + static_cast<int64_t>(plan_ids_.size());
  if (top_n > kMaxSamplingCandidates || top_n > vocab_size_) {
    for (const int32_t id : plan_ids_) plan_slot_[id] = -1;
    plan_ids_.clear();
    return {};
  }
  return CandidatePlan{top_n, plan_ids_};
}

// Why this is the token of the whole row. Let A be the plan's ids: every id
// whose logit the adjustments change. The adjusted logits of A are computed
// here from their raw values by the same float operations as on the whole
// row (ApplyAdjustments); every other id keeps its raw logit. Take any id t
// among the k best adjusted logits (in ByP order), t not in A: the ids ahead
// of it in raw order that are not in A are ahead of it in adjusted order too,
// so there are fewer than k of them, and at most |A| others: t is among the
// k + |A| best raw logits, i.e. among top_ids. So the k best of
// {top candidates not in A} ∪ A, ordered by ByP, are the k best of the whole
// adjusted row in the same order, and everything after selection (the
// maximum, exp, mass sums, truncation, the draw) sees the same floats in the
// same order. Greedy is k = 1; the raw arg max (the fallback when everything
// is at -inf) is the best raw top candidate.
int32_t Sampler::SampleCandidates(std::span<const int32_t> top_ids,
                                  std::span<const float> top_values,
                                  std::span<const float> extra_values) {
  plan_values_.assign(extra_values.begin(), extra_values.end());
  ApplyAdjustments([this](int32_t id) {
    const int32_t slot = id >= 0 && id < vocab_size_ ? plan_slot_[id] : -1;
    return slot >= 0 ? plan_values_.data() + slot : nullptr;
  });
  Candidate* const first = candidates_.data();
  size_t count = 0;
  const auto offer = [&](float v, int32_t id) {
    if (v > -kInf) first[count++] = Candidate{v, id};  // as SelectTopK: no -inf, no NaN
  };
  for (size_t i = 0; i < top_ids.size(); ++i) {
    if (plan_slot_[top_ids[i]] < 0 && Allowed(top_ids[i])) offer(top_values[i], top_ids[i]);
  }
  for (size_t i = 0; i < plan_ids_.size(); ++i) {
    if (Allowed(plan_ids_[i])) offer(plan_values_[i], plan_ids_[i]);
  }
  if (count == 0) {  // everything adjusted to -inf: the raw row's best allowed, as Sample
    int32_t best = -1;
    for (size_t i = 0; i < top_ids.size(); ++i) {
      const Candidate c{top_values[i], top_ids[i]};
      if (!Allowed(c.id)) continue;
      if (c.p == c.p && (best < 0 || ByP(c, Candidate{top_values[best], top_ids[best]}))) {
        best = static_cast<int32_t>(i);
      }
    }
    return best >= 0 ? top_ids[best] : 0;  // 0: all NaN, as ArgMax
  }
  const size_t k = params_.temperature == 0.0f ? 1 : std::max<size_t>(params_.top_k, 1);
  if (count > k) {
    std::nth_element(first, first + (k - 1), first + count, ByP);
    count = k;
  }
  std::sort(first, first + count, ByP);
  if (params_.temperature == 0.0f || first[0].p == kInf) return first[0].id;
  return SampleTopK(count, first[0].p);
}

size_t Sampler::Gather(const float* probs, size_t n, float bar, Candidate* out) {
  // Usually few tokens pass, so four are tested at a time.
  const logits_math::F4 bar4 = logits_math::Splat4(bar);
  const logits_math::F4 zero4 = logits_math::Splat4(0.0f);
  size_t count = 0;
  size_t i = 0;
  for (; i + logits_math::kLanes <= n; i += logits_math::kLanes) {
    const logits_math::F4 p4 = logits_math::Load4(probs + i);
    const logits_math::I4 pass = (p4 >= bar4) & (p4 > zero4);
    int64_t any[2];
    std::memcpy(any, &pass, sizeof(any));
    if ((any[0] | any[1]) == 0) continue;
    for (int j = 0; j < logits_math::kLanes; ++j) {
      out[count] = Candidate{probs[i + j], static_cast<int32_t>(i + j)};
      count += pass[j] != 0 ? 1 : 0;
    }
  }
  for (; i < n; ++i) {
    out[count] = Candidate{probs[i], static_cast<int32_t>(i)};
    count += (probs[i] >= bar && probs[i] > 0) ? 1 : 0;
  }
  return count;
}

size_t Sampler::Nucleus(size_t n, double target) {
  // A positive float's bit pattern orders like its value, so its top bits
  // (exponent and 3 mantissa bits: buckets 9% wide) bucket the tokens by
  // probability. Summing the buckets from the top finds the one where the
  // nucleus ends: everything above it is in, and only that bucket's tokens
  // need ordering. No sort of the vocabulary, however large the nucleus.
  constexpr int kShift = 20;
  constexpr size_t kBuckets = (std::bit_cast<uint32_t>(1.0f) >> kShift) + 1;  // p <= 1
  const float* const probs = scratch_.data();
  double buckets[2][kBuckets] = {};  // two interleaved histograms: shorter add chains
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    for (int j = 0; j < 2; ++j) {
      buckets[j][std::bit_cast<uint32_t>(probs[i + j]) >> kShift] += probs[i + j];
    }
  }
  for (; i < n; ++i) buckets[0][std::bit_cast<uint32_t>(probs[i]) >> kShift] += probs[i];
  double above = 0;  // mass of the buckets above `edge`
  size_t edge = kBuckets;
  while (edge > 0) {
    const double mass = buckets[0][edge - 1] + buckets[1][edge - 1];
    if (above + mass >= target) break;
    above += mass;
    --edge;
  }
  if (edge == 0) return Gather(probs, n, params_.min_p, candidates_.data());  // rounding: all
  --edge;  // the bucket where the nucleus ends
  const float lower = std::bit_cast<float>(static_cast<uint32_t>(edge << kShift));
  const float upper = std::bit_cast<float>(static_cast<uint32_t>((edge + 1) << kShift));
  Candidate* const first = candidates_.data();
  const size_t count = Gather(probs, n, std::max(lower, params_.min_p), first);
  // Tokens above the edge bucket are in; order only the edge bucket's.
  Candidate* const edge_begin =
      std::partition(first, first + count, [upper](const Candidate& c) { return c.p >= upper; });
  const size_t in_edge = MassPrefix(edge_begin, first + count, ByP, target - above);
  return static_cast<size_t>(edge_begin - first) + in_edge;
}

size_t Sampler::MinPSet(std::span<const float> values, float max, float inv_temperature) {
  // p >= min_p  ⇔  (v - max) / T >= ln min_p; the logit test (with a margin
  // for rounding) skips computing p for nearly all of the vocabulary, and p
  // itself decides.
  const float log_bar = std::log(params_.min_p) - 0.01f;
  const logits_math::F4 max4 = logits_math::Splat4(max);
  const logits_math::F4 inv4 = logits_math::Splat4(inv_temperature);
  const logits_math::F4 log_bar4 = logits_math::Splat4(log_bar);
  Candidate* const out = candidates_.data();
  size_t count = 0;
  const auto offer = [&](size_t i) {
    const float p = logits_math::ExpNonPositive((values[i] - max) * inv_temperature);
    out[count] = Candidate{p, static_cast<int32_t>(i)};
    count += (p >= params_.min_p && p > 0) ? 1 : 0;
  };
  const size_t n = values.size();
  size_t i = 0;
  for (; i + logits_math::kLanes <= n; i += logits_math::kLanes) {
    const logits_math::I4 pass = (logits_math::Load4(values.data() + i) - max4) * inv4 >= log_bar4;
    int64_t any[2];
    std::memcpy(any, &pass, sizeof(any));
    if ((any[0] | any[1]) == 0) continue;
    for (int j = 0; j < logits_math::kLanes; ++j) offer(i + j);
  }
  for (; i < n; ++i) offer(i);
  return count;
}

size_t Sampler::TypicalPrefix(size_t count) {
  Candidate* const first = candidates_.data();
  float* const distance = scratch_.data();  // by id; the probabilities are in candidates_ now
  double total = 0;
  for (size_t i = 0; i < count; ++i) total += first[i].p;
  const double log_total = std::log(total);
  double entropy = 0;
  for (size_t i = 0; i < count; ++i) {
    const double p = first[i].p;
    const double log_p = p > 0 ? std::log(p) - log_total : 0;
    distance[first[i].id] = static_cast<float>(log_p);
    entropy -= p / total * log_p;
  }
  for (size_t i = 0; i < count; ++i) {
    float& d = distance[first[i].id];
    d = first[i].p > 0 ? static_cast<float>(std::abs(-d - entropy)) : kInf;
  }
  const auto more_typical = [distance](const Candidate& a, const Candidate& b) {
    const float da = distance[a.id], db = distance[b.id];
    return da < db || (da == db && a.id < b.id);
  };
  return MassPrefix(first, first + count, more_typical, params_.typical_p * total);
}

int32_t Sampler::DrawFromCandidates(size_t count) {
  const Candidate* const first = candidates_.data();
  if (count == 0) return 0;  // not reached: the most likely token always stays
  double total = 0;
  for (size_t i = 0; i < count; ++i) total += first[i].p;
  const double target = NextUniform() * total;
  double cumulative = 0;
  int32_t last_possible = first[0].id;
  for (size_t i = 0; i < count; ++i) {
    if (!(first[i].p > 0)) continue;
    cumulative += first[i].p;
    last_possible = first[i].id;
    if (target < cumulative) return first[i].id;
  }
  return last_possible;  // rounding put the target at the very end
}

int32_t Sampler::DrawFromAll(size_t n, double total) {
  // Whole blocks are skipped by their (vectorised) sums; the block holding
  // the target is walked token by token.
  constexpr size_t kBlock = 256;
  const float* const probs = scratch_.data();
  const double target = NextUniform() * total;
  double cumulative = 0;
  size_t i = 0;
  for (; i < n; i += kBlock) {
    const double block = logits_math::Sum(probs + i, std::min(kBlock, n - i));
    if (target < cumulative + block) break;
    cumulative += block;
  }
  int32_t last_possible = -1;
  for (; i < n; ++i) {
    if (!(probs[i] > 0)) continue;
    cumulative += probs[i];
    last_possible = static_cast<int32_t>(i);
    if (target < cumulative) return last_possible;
  }
  if (last_possible >= 0) return last_possible;
  for (size_t j = n; j-- > 0;) {  // rounding put the target past the last block
    if (probs[j] > 0) return static_cast<int32_t>(j);
  }
  return 0;
}

}  // namespace llmw
