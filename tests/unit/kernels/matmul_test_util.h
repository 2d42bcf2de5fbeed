// Helpers for the matmul tests: random weights in any format, and the error bounds.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/block_formats.h"
#include "kernels/cpu/matmul_internal.h"
#include "kernels/fp16.h"
#include "kernels/tensor.h"

namespace llmw::cpu::testing_util {

inline const std::vector<DType>& MatmulTypes() {
  static const std::vector<DType> kTypes = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0,
                                            DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0};
  return kTypes;
}

inline bool IsQuantized(DType t) { return Traits(t).block_elems == 32; }
inline bool HasMin(DType t) { return t == DType::kQ4_1 || t == DType::kQ5_1; }

// A weight matrix [out, in] made from N(mean, 1) values with the reference quantizer.
struct Weights {
  Weights(DType type, int64_t out, int64_t in, uint32_t seed, float mean = 0.0f)
      : bytes(static_cast<size_t>(out * RowBytes(type, in))),
        tensor(type, {out, in}, bytes.data()) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(mean, 1.0f);
    std::vector<float> row(static_cast<size_t>(in));
    for (int64_t o = 0; o < out; ++o) {
      for (float& v : row) v = dist(rng);
      QuantizeRowReference(type, row.data(), bytes.data() + o * RowBytes(type, in), in);
    }
  }
  // The dequantized row o.
  std::vector<float> Row(int64_t o) const {
    std::vector<float> row(static_cast<size_t>(tensor.row_elems()));
    DequantizeRow(tensor.dtype(), tensor.row(o), row.data(), tensor.row_elems());
    return row;
  }
  // The block minimum of block b of row o (0 for formats without one).
  float Min(int64_t o, int64_t b) const {
    if (!HasMin(tensor.dtype())) return 0.0f;
    const uint8_t* blk = tensor.row(o) + b * Traits(tensor.dtype()).block_bytes;
    uint16_t m;
    std::memcpy(&m, blk + 2, 2);
    return Fp16ToFp32(m);
  }

  std::vector<uint8_t> bytes;
  Tensor tensor;
};

inline std::vector<float> RandomActivations(int64_t n, int64_t in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * in));
  for (float& v : x) v = dist(rng);
  // Real activations have outlier channels; give every row one.
  for (int64_t c = 0; c < n; ++c) x[c * in + (7 * c + 3) % in] *= 8.0f;
  return x;
}

// The activation rows after the 8-bit quantization the fast path applies (q * d per element).
inline std::vector<float> QuantizedActivations(const std::vector<float>& x, int64_t n, int64_t in) {
  std::vector<float> out(x.size());
  std::vector<int8_t> q(static_cast<size_t>(in));
  std::vector<float> d(static_cast<size_t>(MatmulScratch::BlocksPerRow(in))), s(d.size());
  for (int64_t c = 0; c < n; ++c) {
    matmul_internal::ScalarKernels().quantize(x.data() + c * in, in, /*bias_offset=*/0, q.data(),
                                              d.data(), s.data(), nullptr);
    for (int64_t i = 0; i < in; ++i) out[c * in + i] = static_cast<float>(q[i]) * d[i / 32];
  }
  return out;
}

// Tolerance of the fast path against MatmulReference on the unquantized activations, for one
// (row, output) pair.
//
// The fast path computes sum_i w_i * x̂_i where x̂ is x rounded to a grid of step d_b =
// amax_b / 127 per block of 32. The rounding errors e_i = x̂_i - x_i are spread uniformly on
// [-d_b/2, d_b/2] and independent of the weights, so the error sum_i w_i e_i has standard
// deviation sigma = sqrt(sum_b d_b^2 / 12 * sum_{i in b} w_i^2): the "||w|| * ||x|| / 127" scale,
// computed with the actual data. We allow kQuantSigmas standard deviations plus the float
// accumulation bound of the float formats (which skip activation quantization) and of the
// integer path's scaled f32 sums: (chain length + 16) ulps of sum_i (|w_i| + 2|m_b|) |x_i|.
// At 6 sigma a correct kernel essentially never fails (a Gaussian 6-sigma event has probability
// 2e-9), while a wrong kernel errs by the order of |y| itself, which is ~100-200 sigma
// (|y| / sigma ~ rms(x) * sqrt(12) / d); MatmulTest.ToleranceRejectsWrongKernels checks that
// realistic bugs, and activations quantized to 4 bits instead of 8, fail it.
inline constexpr double kQuantSigmas = 6.0;

inline double FloatSlack(DType t, int64_t in, double magnitude) {
  const int64_t chain = IsQuantized(t) ? in / 32 : in / 8 + in % 8;
  return static_cast<double>(chain + 16) * std::ldexp(1.0, -23) * magnitude;
}

inline double Tolerance(const Weights& w, int64_t o, const float* x, int64_t in) {
  const DType t = w.tensor.dtype();
  const std::vector<float> row = w.Row(o);
  const int64_t block = IsQuantized(t) ? 32 : in;  // float formats: one span, no quantization
  double variance = 0.0, magnitude = 0.0;
  for (int64_t lo = 0; lo < in; lo += block) {
    double amax = 0.0, w2 = 0.0;
    const double m = w.Min(o, lo / 32);
    for (int64_t i = lo; i < lo + block; ++i) {
      amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
      w2 += static_cast<double>(row[i]) * row[i];
      magnitude += (std::fabs(row[i]) + 2 * std::fabs(m)) * std::fabs(x[i]);
    }
    if (IsQuantized(t)) {
      const double d = amax / 127.0;
      variance += d * d / 12.0 * w2;
    }
  }
  return kQuantSigmas * std::sqrt(variance) + FloatSlack(t, in, magnitude);
}

}  // namespace llmw::cpu::testing_util
