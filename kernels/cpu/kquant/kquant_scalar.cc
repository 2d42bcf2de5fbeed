// Portable K-quant kernels: the canonical arithmetic of kquant_internal.h in plain C++, used where
// no SIMD variant runs and as the bit-exact yardstick for the SIMD variants in tests.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/block_formats.h"
#include "kernels/cpu/kquant/kquant_internal.h"
#include "kernels/fp16.h"

namespace llmw::cpu::kquant_internal {
namespace {

#include "kernels/cpu/kquant/kquant_decode.inc"

void QuantizeRow(const float* x, int64_t in, BlockQ8K* out) {
  for (int64_t b = 0; b < in / kQ8KElems; ++b) {
    const float* xb = x + b * kQ8KElems;
    BlockQ8K& o = out[b];
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < kQ8KElems; ++i) {
      const float ax = std::fabs(xb[i]);
      if (ax > amax) {
        amax = ax;
        max = xb[i];
      }
    }
    if (amax == 0.0f) {
      std::memset(&o, 0, sizeof(o));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int i = 0; i < kQ8KElems; ++i) {
      // fmax/fmin in this order match the SIMD max/min, so NaN maps to -127 in every variant.
      const float v = std::fmin(std::fmax(xb[i] * iscale, -127.0f), 127.0f);
      o.qs[i] = static_cast<int8_t>(std::nearbyint(v));
    }
    for (int g = 0; g < kQ8KElems / 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += o.qs[16 * g + i];
      o.bsums[g] = static_cast<int16_t>(sum);
    }
    o.d = 1.0f / iscale;
  }
}

float Dot(const DecodedBlock* w, const BlockQ8K* x, int64_t nb, bool has_min) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const DecodedBlock& wb = w[b];
    const BlockQ8K& xb = x[b];
    int32_t sum = 0, min_sum = 0;
    for (int i = 0; i < kQ8KElems; ++i) sum += int32_t{wb.scales[i / 16]} * wb.codes[i] * xb.qs[i];
    for (int g = 0; g < 16; ++g) min_sum += int32_t{wb.offsets[2 * g]} * xb.bsums[g];
    if (has_min) {
      acc = std::fma(static_cast<float>(sum), wb.d * xb.d, acc);
      acc = std::fma(static_cast<float>(min_sum), wb.dmin * xb.d, acc);
    } else {
      acc = std::fma(static_cast<float>(sum + min_sum), wb.d * xb.d, acc);
    }
  }
  return acc;
}

void DotRange(const DecodedBlock* w, int64_t rows, const BlockQ8K* x, int64_t n, int64_t nb,
              DType type, float* y, int64_t y_stride, void* /*workspace*/) {
  const bool has_min = HasMin(type);
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t r = 0; r < rows; ++r)
      y[c * y_stride + r] = Dot(w + r * nb, x + c * nb, nb, has_min);
  }
}

constexpr Kernels kKernels = {QuantizeRow, DecodeRow, DotRange};

}  // namespace

const Kernels& ScalarKernels() { return kKernels; }

}  // namespace llmw::cpu::kquant_internal
