// Portable matmul kernels: the canonical arithmetic of matmul_internal.h in plain C++, used where
// no SIMD variant runs and as the bit-exact yardstick for the SIMD variants in tests.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/block_formats.h"
#include "kernels/cpu/matmul_internal.h"
#include "kernels/fp16.h"

namespace llmw::cpu::matmul_internal {
namespace {

float LoadHalf(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return Fp16ToFp32(h);
}

float CanonicalSum(const float acc[8]) {
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

// The integer weights of one block (see matmul_internal.h), its scale and its minimum.
template <DType T>
void DecodeBlock(const uint8_t* blk, int8_t w[32], float* d, float* m) {
  auto nibble = [](const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4; };
  *d = LoadHalf(blk);
  *m = 0.0f;
  if constexpr (T == DType::kQ4_0) {
    for (int j = 0; j < 32; ++j) w[j] = static_cast<int8_t>(nibble(blk + 2, j) - 8);
  } else if constexpr (T == DType::kQ4_1) {
    *m = LoadHalf(blk + 2);
    for (int j = 0; j < 32; ++j) w[j] = static_cast<int8_t>(nibble(blk + 4, j));
  } else if constexpr (T == DType::kQ5_0) {
    const uint32_t qh = LoadQh(blk + 2);
    for (int j = 0; j < 32; ++j) {
      w[j] = static_cast<int8_t>((nibble(blk + 6, j) | ((qh >> j) & 1u) << 4) - 16);
    }
  } else if constexpr (T == DType::kQ5_1) {
    *m = LoadHalf(blk + 2);
    const uint32_t qh = LoadQh(blk + 4);
    for (int j = 0; j < 32; ++j) {
      w[j] = static_cast<int8_t>(nibble(blk + 8, j) | ((qh >> j) & 1u) << 4);
    }
  } else {
    static_assert(T == DType::kQ8_0);
    std::memcpy(w, blk + 2, 32);
  }
}

template <DType T>
constexpr int64_t BlockBytes() {
  switch (T) {
    case DType::kQ4_0:
      return sizeof(BlockQ4_0);
    case DType::kQ4_1:
      return sizeof(BlockQ4_1);
    case DType::kQ5_0:
      return sizeof(BlockQ5_0);
    case DType::kQ5_1:
      return sizeof(BlockQ5_1);
    default:
      return sizeof(BlockQ8_0);
  }
}

template <DType T>
float QuantDot(const uint8_t* wrow, const int8_t* xq, const float* xd, const float* xs,
               int64_t nb) {
  constexpr bool kHasMin = T == DType::kQ4_1 || T == DType::kQ5_1;
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int8_t w[32];
    float dw, mw;
    DecodeBlock<T>(wrow + b * BlockBytes<T>(), w, &dw, &mw);
    const int8_t* x = xq + b * 32;
    int32_t dot = 0;
    for (int i = 0; i < 32; ++i) dot += int32_t{w[i]} * int32_t{x[i]};
    acc = std::fma(static_cast<float>(dot), dw * xd[b], acc);
    if constexpr (kHasMin) acc = std::fma(mw, xs[b], acc);
  }
  return acc;
}

template <DType T>
float LoadFloat(const uint8_t* row, int64_t k) {
  if constexpr (T == DType::kF32) {
    float f;
    std::memcpy(&f, row + 4 * k, sizeof(f));
    return f;
  } else {
    uint16_t h;
    std::memcpy(&h, row + 2 * k, sizeof(h));
    return T == DType::kF16 ? Fp16ToFp32(h) : Bf16ToFp32(h);
  }
}

template <DType T>
float FloatDot(const uint8_t* wrow, const float* x, int64_t in) {
  float acc[8] = {};
  const int64_t in8 = in / 8 * 8;
  for (int64_t k = 0; k < in8; k += 8) {
    for (int l = 0; l < 8; ++l) acc[l] = std::fma(LoadFloat<T>(wrow, k + l), x[k + l], acc[l]);
  }
  float tail = 0.0f;
  for (int64_t k = in8; k < in; ++k) tail = std::fma(LoadFloat<T>(wrow, k), x[k], tail);
  return CanonicalSum(acc) + tail;
}

template <DType T>
void RangeKernel(const Args& a, int64_t o0, int64_t o1, int64_t c0, int64_t c1) {
  constexpr bool kFloat = T == DType::kF32 || T == DType::kF16 || T == DType::kBF16;
  const int64_t nb = a.in / 32;
  for (int64_t o = o0; o < o1; ++o) {
    const uint8_t* wrow = a.w + o * a.w_stride;
    for (int64_t c = c0; c < c1; ++c) {
      float v;
      if constexpr (kFloat) {
        v = FloatDot<T>(wrow, a.x + c * a.in, a.in);
      } else {
        v = QuantDot<T>(wrow, a.xq + c * a.in, a.xd + c * a.x_blocks, a.xs + c * a.x_blocks, nb);
      }
      a.y[c * a.out + o] = v;
    }
  }
}

void QuantizeRow(const float* x, int64_t in, int bias_offset, int8_t* q, float* d, float* s,
                 int32_t* bias) {
  const int64_t nb = in / 32;
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + b * 32;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float db = amax / 127.0f;
    const float id = db != 0.0f ? 1.0f / db : 0.0f;
    int32_t sum = 0;
    for (int j = 0; j < 32; ++j) {
      // fmax/fmin order matches the SIMD max/min, so NaN maps to -127 in every variant.
      const float v = std::fmin(std::fmax(xb[j] * id, -127.0f), 127.0f);
      const int32_t qj = static_cast<int32_t>(std::nearbyint(v));
      q[b * 32 + j] = static_cast<int8_t>(qj);
      sum += qj;
    }
    if (bias_offset != 0) bias[b] = -bias_offset * sum;
    d[b] = db;
    s[b] = db * static_cast<float>(sum);
  }
}

constexpr KernelTable kTable = {
    QuantizeRow,
    RangeKernel<DType::kF32>,
    RangeKernel<DType::kF16>,
    RangeKernel<DType::kBF16>,
    RangeKernel<DType::kQ4_0>,
    RangeKernel<DType::kQ4_1>,
    RangeKernel<DType::kQ5_0>,
    RangeKernel<DType::kQ5_1>,
    RangeKernel<DType::kQ8_0>,
    /*packed=*/false,
    /*q8_unsigned=*/false,
};

}  // namespace

const KernelTable& ScalarKernels() { return kTable; }

}  // namespace llmw::cpu::matmul_internal
