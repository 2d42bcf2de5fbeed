// Whole-vocabulary passes over a logits row that the sampler and the logprobs
// share: the maximum, the first index of a value, exp of shifted logits and
// sums. A row of 50k–150k logits is scanned for every token of every
// request, so these work on 4 floats at a time (GCC/Clang vector extensions,
// which compile to whatever SIMD the target has) and sum in double, in a
// fixed order, so that results do not depend on anything but the input.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>

namespace llmw::logits_math {

inline constexpr int kLanes = 4;
using F4 = float __attribute__((vector_size(16)));
using I4 = int32_t __attribute__((vector_size(16)));
using D4 = double __attribute__((vector_size(32)));  // a local accumulator only

inline F4 Load4(const float* p) {
  F4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline void Store4(float* p, F4 v) { std::memcpy(p, &v, sizeof(v)); }

inline F4 Splat4(float x) { return F4{x, x, x, x}; }

// e^x for x <= 0, lane by lane, relative error below 1e-6; 0 for x < -80
// (e^-80 ≈ 2e-35, nothing next to the 1 the largest term contributes), for
// -inf and for NaN.
inline F4 ExpNonPositive4(F4 x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;  // ln 2 = kLn2Hi + kLn2Lo; n × kLn2Hi is exact
  constexpr float kLn2Lo = 1.42860682030941723e-6f;
  constexpr float kRound = 12582912.0f;  // 1.5 × 2^23: adding it rounds to an integer
  const I4 in_range = x >= -80.0f;       // false for NaN
  const F4 xc = in_range ? x : Splat4(0.0f);
  // x = n ln 2 + r with |r| <= ln 2 / 2 (a little more after rounding); e^x = 2^n e^r.
  const F4 shifted = xc * kLog2e + kRound;
  const F4 n = shifted - kRound;
  const I4 ni = std::bit_cast<I4>(shifted) - std::bit_cast<int32_t>(kRound);
  const F4 r = (xc - n * kLn2Hi) - n * kLn2Lo;
  // Taylor series to r^7: the remainder is below 0.36^8 / 8! ≈ 7e-9.
  F4 p = Splat4(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const I4 bits = std::bit_cast<I4>(p) + (ni << 23);
  const F4 e = std::bit_cast<F4>(bits);
  return in_range ? e : Splat4(0.0f);
}

// The scalar form, bit for bit the same as a lane of ExpNonPositive4.
inline float ExpNonPositive(float x) { return ExpNonPositive4(Splat4(x))[0]; }

// Loops take kStep floats per iteration into independent accumulators, so
// that they are not bound by the latency of one add or compare chain.
inline constexpr int kStep = 4 * kLanes;

// The largest value; NaN is skipped; -inf when there is none.
inline float MaxValue(std::span<const float> values) {
  const float* v = values.data();
  const size_t n = values.size();
  F4 lane[4];
  for (F4& l : lane) l = Splat4(-std::numeric_limits<float>::infinity());
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) {
    for (int k = 0; k < 4; ++k) {
      const F4 x = Load4(v + i + k * kLanes);
      lane[k] = x > lane[k] ? x : lane[k];
    }
  }
  float m = -std::numeric_limits<float>::infinity();
  for (const F4& l : lane) {
    for (int j = 0; j < kLanes; ++j) m = l[j] > m ? l[j] : m;
  }
  for (; i < n; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// The first index holding `value` (compared with ==), or -1.
inline int64_t FindFirst(std::span<const float> values, float value) {
  const float* v = values.data();
  const size_t n = values.size();
  const F4 target = Splat4(value);
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) {
    I4 eq = Load4(v + i) == target;
    for (int k = 1; k < 4; ++k) eq |= Load4(v + i + k * kLanes) == target;
    int64_t any[2];
    std::memcpy(any, &eq, sizeof(any));
    if ((any[0] | any[1]) != 0) break;
  }
  for (; i < n; ++i) {
    if (v[i] == value) return static_cast<int64_t>(i);
  }
  return -1;
}

// Sums per-iteration double accumulators and the scalar tail in a fixed order.
inline double Total(const D4 (&lane)[2], double tail) {
  double sum = 0;
  for (const D4& l : lane) {
    for (int j = 0; j < kLanes; ++j) sum += l[j];
  }
  return sum + tail;
}

// out[i] = e^((in[i] - max) × inv_temperature) (out may be in.data()),
// returning their sum. `max` must be >= every value; inv_temperature finite.
inline double ExpShifted(std::span<const float> in, float max, float inv_temperature, float* out) {
  const float* src = in.data();
  const size_t n = in.size();
  D4 lane[2] = {};
  size_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    for (int k = 0; k < 2; ++k) {
      const F4 e = ExpNonPositive4((Load4(src + i + k * kLanes) - max) * inv_temperature);
      Store4(out + i + k * kLanes, e);
      lane[k] += __builtin_convertvector(e, D4);
    }
  }
  double tail = 0;
  for (; i < n; ++i) {
    out[i] = ExpNonPositive((src[i] - max) * inv_temperature);
    tail += out[i];
  }
  return Total(lane, tail);
}

// Σ e^(in[i] - max), as ExpShifted at temperature 1 without the output.
inline double SumExpShifted(std::span<const float> in, float max) {
  const float* src = in.data();
  const size_t n = in.size();
  D4 lane[2] = {};
  size_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    for (int k = 0; k < 2; ++k) {
      lane[k] += __builtin_convertvector(ExpNonPositive4(Load4(src + i + k * kLanes) - max), D4);
    }
  }
  double tail = 0;
  for (; i < n; ++i) tail += ExpNonPositive(src[i] - max);
  return Total(lane, tail);
}

// Σ values[0, count) in double.
inline double Sum(const float* values, size_t count) {
  D4 lane[2] = {};
  size_t i = 0;
  for (; i + 2 * kLanes <= count; i += 2 * kLanes) {
    for (int k = 0; k < 2; ++k)
      lane[k] += __builtin_convertvector(Load4(values + i + k * kLanes), D4);
  }
  double tail = 0;
  for (; i < count; ++i) tail += values[i];
  return Total(lane, tail);
}

}  // namespace llmw::logits_math
