// K-quant kernels for AVX2: 8-bit multiply-adds (vpmaddubsw) over 32 codes at a time for one
// (W row, x row) pair per register, reduced per super-block; the activation quantizer.
#include "kernels/cpu/kquant/kquant_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/block_formats.h"
#include "kernels/fp16.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace llmw::cpu::kquant_internal {
namespace {

#define LLMW_KQUANT_AVX2_DECODE 1
#include "kernels/cpu/kquant/kquant_decode.inc"
#undef LLMW_KQUANT_AVX2_DECODE

inline int32_t ReduceAdd(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// R weight rows x C activation rows over all super-blocks: per pair, vectors of partial sums
// reduced to the exact S and M of each super-block.
template <int R, int C>
void Tile(const DecodedBlock* w, const BlockQ8K* x, int64_t nb, bool has_min, float* y,
          int64_t y_stride) {
  // Spreads int16 scales s[2j], s[2j + 1] over the low and high 128-bit halves.
  const __m256i spread = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,  //
                                          2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
  float acc[R][C] = {};
  for (int64_t b = 0; b < nb; ++b) {
    __m256i p[R][C];
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) p[r][c] = _mm256_setzero_si256();
    }
    for (int j = 0; j < 8; ++j) {
      __m256i codes[R], scales[R];
      for (int r = 0; r < R; ++r) {
        const DecodedBlock& wb = w[r * nb + b];
        codes[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(wb.codes + 32 * j));
        int32_t pair;
        std::memcpy(&pair, wb.scales + 2 * j, sizeof(pair));
        scales[r] = _mm256_shuffle_epi8(_mm256_set1_epi32(pair), spread);
      }
      for (int c = 0; c < C; ++c) {
        const __m256i q =
            _mm256_load_si256(reinterpret_cast<const __m256i*>(x[c * nb + b].qs + 32 * j));
        for (int r = 0; r < R; ++r) {
          const __m256i prod = _mm256_madd_epi16(_mm256_maddubs_epi16(codes[r], q), scales[r]);
          p[r][c] = _mm256_add_epi32(p[r][c], prod);
        }
      }
    }
    for (int c = 0; c < C; ++c) {
      const BlockQ8K& xb = x[c * nb + b];
      __m256i sums[2];
      for (int h = 0; h < 2; ++h) {
        sums[h] = _mm256_cvtepi16_epi32(
            _mm_load_si128(reinterpret_cast<const __m128i*>(xb.bsums + 8 * h)));
      }
      for (int r = 0; r < R; ++r) {
        const DecodedBlock& wb = w[r * nb + b];
        const __m256i* offsets = reinterpret_cast<const __m256i*>(wb.offsets);
        const __m256i m =
            _mm256_add_epi32(_mm256_madd_epi16(_mm256_load_si256(offsets), sums[0]),
                             _mm256_madd_epi16(_mm256_load_si256(offsets + 1), sums[1]));
        if (has_min) {
          acc[r][c] = std::fma(static_cast<float>(ReduceAdd(p[r][c])), wb.d * xb.d, acc[r][c]);
          acc[r][c] = std::fma(static_cast<float>(ReduceAdd(m)), wb.dmin * xb.d, acc[r][c]);
        } else {
          const int32_t sum = ReduceAdd(_mm256_add_epi32(p[r][c], m));
          acc[r][c] = std::fma(static_cast<float>(sum), wb.d * xb.d, acc[r][c]);
        }
      }
    }
  }
  for (int c = 0; c < C; ++c) {
    for (int r = 0; r < R; ++r) y[c * y_stride + r] = acc[r][c];
  }
}

// Activation rows in tiles of kC (outer, so a tile stays in L1 while it meets every decoded row),
// weight rows in tiles of kR.
constexpr int kR = 2, kC = 2;

void DotRange(const DecodedBlock* w, int64_t rows, const BlockQ8K* x, int64_t n, int64_t nb,
              DType type, float* y, int64_t y_stride, void* /*workspace*/) {
  static_assert(kC == 2);
  const bool has_min = HasMin(type);
  for (int64_t c = 0; c < n; c += kC) {
    const bool pair = n - c >= 2;
    const BlockQ8K* xc = x + c * nb;
    float* yc = y + c * y_stride;
    int64_t r = 0;
    for (; r + kR <= rows; r += kR) {
      if (pair) {
        Tile<kR, 2>(w + r * nb, xc, nb, has_min, yc + r, y_stride);
      } else {
        Tile<kR, 1>(w + r * nb, xc, nb, has_min, yc + r, y_stride);
      }
    }
    for (; r < rows; ++r) {
      if (pair) {
        Tile<1, 2>(w + r * nb, xc, nb, has_min, yc + r, y_stride);
      } else {
        Tile<1, 1>(w + r * nb, xc, nb, has_min, yc + r, y_stride);
      }
    }
  }
}

constexpr Kernels kKernels = {QuantizeRowQ8KAvx2, DecodeRow, DotRange};

}  // namespace

void QuantizeRowQ8KAvx2(const float* x, int64_t in, BlockQ8K* out) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b < in / kQ8KElems; ++b) {
    const float* xb = x + b * kQ8KElems;
    BlockQ8K& o = out[b];
    __m256 amax8 = _mm256_setzero_ps();
    for (int i = 0; i < kQ8KElems; i += 8) {
      // Operand order keeps amax when |x| is NaN, as the scalar comparison does.
      amax8 = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(xb + i)), amax8);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax8), _mm256_extractf128_ps(amax8, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    if (amax == 0.0f) {
      std::memset(&o, 0, sizeof(o));
      continue;
    }
    // The signed value of the first element of largest magnitude.
    const __m256 target = _mm256_set1_ps(amax);
    float max = 0.0f;
    for (int i = 0; i < kQ8KElems; i += 8) {
      const __m256 v = _mm256_andnot_ps(sign, _mm256_loadu_ps(xb + i));
      const int mask = _mm256_movemask_ps(_mm256_cmp_ps(v, target, _CMP_EQ_OQ));
      if (mask != 0) {
        max = xb[i + __builtin_ctz(static_cast<unsigned>(mask))];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 id = _mm256_set1_ps(iscale);
    for (int i = 0; i < kQ8KElems; i += 32) {
      __m256i q[4];
      for (int k = 0; k < 4; ++k) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(xb + i + 8 * k), id);
        q[k] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi));  // half to even
      }
      // The packs work within 128-bit lanes; the permute restores element order.
      const __m256i q16a = _mm256_packs_epi32(q[0], q[1]), q16b = _mm256_packs_epi32(q[2], q[3]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(o.qs + i),
                         _mm256_permutevar8x32_epi32(_mm256_packs_epi16(q16a, q16b), order));
    }
    // Group sums: pairs of int8 to int16 (vpmaddubsw with ones), then pairs of those to int32.
    const __m256i ones8 = _mm256_set1_epi8(1);
    const __m256i ones16 = _mm256_set1_epi16(1);
    for (int g = 0; g < 16; g += 4) {
      __m256i s[2];
      for (int k = 0; k < 2; ++k) {
        const __m256i q =
            _mm256_load_si256(reinterpret_cast<const __m256i*>(o.qs + 16 * g + 32 * k));
        s[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);  // 4-element sums
      }
      // s[k] holds groups g + 2k (low half) and g + 2k + 1 (high half); two hadds leave group
      // totals [g, g + 2, ..] in the low half and [g + 1, g + 3, ..] in the high half.
      const __m256i h = _mm256_hadd_epi32(s[0], s[1]);
      const __m256i h2 = _mm256_hadd_epi32(h, h);
      const __m128i sums =
          _mm_unpacklo_epi32(_mm256_castsi256_si128(h2), _mm256_extracti128_si256(h2, 1));
      alignas(16) int32_t g4[4];
      _mm_store_si128(reinterpret_cast<__m128i*>(g4), sums);
      for (int k = 0; k < 4; ++k) o.bsums[g + k] = static_cast<int16_t>(g4[k]);
    }
    o.d = 1.0f / iscale;
  }
}

const Kernels& Avx2Kernels() { return kKernels; }

}  // namespace llmw::cpu::kquant_internal

#pragma GCC pop_options
#endif  // __x86_64__
