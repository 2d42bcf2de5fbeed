// K-quant kernels for AVX-512 (BW + VNNI). Few activation rows: one (W row, x row) pair per
// register, 8-bit multiply-adds (vpmaddubsw) over 64 codes scaled with vpdpwssd. Batches: 16
// decoded W rows transposed to one row per lane, vpdpbusd against broadcast activations.
#include "kernels/cpu/kquant/kquant_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/block_formats.h"
#include "kernels/fp16.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")
// GCC 12's AVX-512 intrinsics fill unused operands with self-initialized "undefined" vectors,
// which -Wall reports as uninitialized once inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace llmw::cpu::kquant_internal {
namespace {

#define LLMW_KQUANT_AVX2_DECODE 1
#include "kernels/cpu/kquant/kquant_decode.inc"
#undef LLMW_KQUANT_AVX2_DECODE

// ---- Pair kernel (few activation rows): one (W row, x row) pair per register.

// R weight rows x C activation rows over all super-blocks: 16 partial sums per pair, reduced to
// the exact S and M of each super-block.
template <int R, int C>
void PairTile(const DecodedBlock* w, const BlockQ8K* x, int64_t nb, bool has_min, float* y,
              int64_t y_stride) {
  // Spreads the int16 scales s[4j .. 4j + 3] over the four 128-bit quarters.
  const __m512i spread = _mm512_set_epi64(0x0706070607060706, 0x0706070607060706,  //
                                          0x0504050405040504, 0x0504050405040504,  //
                                          0x0302030203020302, 0x0302030203020302,  //
                                          0x0100010001000100, 0x0100010001000100);
  float acc[R][C] = {};
  for (int64_t b = 0; b < nb; ++b) {
    __m512i p[R][C];
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) p[r][c] = _mm512_setzero_si512();
    }
    for (int j = 0; j < 4; ++j) {
      __m512i codes[R], scales[R];
      for (int r = 0; r < R; ++r) {
        const DecodedBlock& wb = w[r * nb + b];
        codes[r] = _mm512_load_si512(wb.codes + 64 * j);
        int64_t four;
        std::memcpy(&four, wb.scales + 4 * j, sizeof(four));
        scales[r] = _mm512_shuffle_epi8(_mm512_set1_epi64(four), spread);
      }
      for (int c = 0; c < C; ++c) {
        const __m512i q = _mm512_load_si512(x[c * nb + b].qs + 64 * j);
        for (int r = 0; r < R; ++r) {
          p[r][c] = _mm512_dpwssd_epi32(p[r][c], _mm512_maddubs_epi16(codes[r], q), scales[r]);
        }
      }
    }
    for (int c = 0; c < C; ++c) {
      const BlockQ8K& xb = x[c * nb + b];
      const __m512i sums =
          _mm512_cvtepi16_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(xb.bsums)));
      for (int r = 0; r < R; ++r) {
        const DecodedBlock& wb = w[r * nb + b];
        const __m512i offsets = _mm512_load_si512(wb.offsets);
        if (has_min) {
          const int32_t sum = _mm512_reduce_add_epi32(p[r][c]);
          const int32_t min_sum = _mm512_reduce_add_epi32(_mm512_madd_epi16(offsets, sums));
          acc[r][c] = std::fma(static_cast<float>(sum), wb.d * xb.d, acc[r][c]);
          acc[r][c] = std::fma(static_cast<float>(min_sum), wb.dmin * xb.d, acc[r][c]);
        } else {
          const int32_t sum = _mm512_reduce_add_epi32(_mm512_dpwssd_epi32(p[r][c], offsets, sums));
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
// weight rows in tiles of kR; a single activation row takes kR1 weight rows at a time.
constexpr int kR = 2, kC = 2, kR1 = 4;

void PairRange(const DecodedBlock* w, int64_t rows, const BlockQ8K* x, int64_t n, int64_t nb,
               bool has_min, float* y, int64_t y_stride) {
  static_assert(kC == 2);
  if (n == 1) {
    int64_t r = 0;
    for (; r + kR1 <= rows; r += kR1) PairTile<kR1, 1>(w + r * nb, x, nb, has_min, y + r, y_stride);
    for (; r < rows; ++r) PairTile<1, 1>(w + r * nb, x, nb, has_min, y + r, y_stride);
    return;
  }
  for (int64_t c = 0; c < n; c += kC) {
    const bool two = n - c >= 2;
    const BlockQ8K* xc = x + c * nb;
    float* yc = y + c * y_stride;
    int64_t r = 0;
    for (; r + kR <= rows; r += kR) {
      if (two) {
        PairTile<kR, 2>(w + r * nb, xc, nb, has_min, yc + r, y_stride);
      } else {
        PairTile<kR, 1>(w + r * nb, xc, nb, has_min, yc + r, y_stride);
      }
    }
    for (; r < rows; ++r) {
      if (two) {
        PairTile<1, 2>(w + r * nb, xc, nb, has_min, yc + r, y_stride);
      } else {
        PairTile<1, 1>(w + r * nb, xc, nb, has_min, yc + r, y_stride);
      }
    }
  }
}

// ---- Batch kernel: the 16 decoded rows transposed so that each 32-bit lane is one W row.

// out[j] lane i = in[i] lane j.
inline void Transpose16(const __m512i in[16], __m512i out[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(in[2 * i], in[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(in[2 * i], in[2 * i + 1]);
  }
  // u[4i + j], 128-bit quarter q: column 4q + j of rows 4i .. 4i + 3.
  for (int i = 0; i < 4; ++i) {
    u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int j = 0; j < 4; ++j) {
    const __m512i even_lo = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88);  // quarters 0, 2
    const __m512i odd_lo = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xdd);   // quarters 1, 3
    const __m512i even_hi = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
    const __m512i odd_hi = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xdd);
    out[j] = _mm512_shuffle_i32x4(even_lo, even_hi, 0x88);
    out[4 + j] = _mm512_shuffle_i32x4(odd_lo, odd_hi, 0x88);
    out[8 + j] = _mm512_shuffle_i32x4(even_lo, even_hi, 0xdd);
    out[12 + j] = _mm512_shuffle_i32x4(odd_lo, odd_hi, 0xdd);
  }
}

// Rows past `rows` are packed as zeros.
void Pack(const DecodedBlock* w, int64_t rows, int64_t nb, PackedBlock* out) {
  static const DecodedBlock kZero{};
  for (int64_t b = 0; b < nb; ++b) {
    const DecodedBlock* row[kGroupRows];
    for (int64_t r = 0; r < kGroupRows; ++r) row[r] = r < rows ? &w[r * nb + b] : &kZero;
    PackedBlock& p = out[b];
    __m512i in[16], t[16];
    for (int q = 0; q < 4; ++q) {
      for (int r = 0; r < 16; ++r) in[r] = _mm512_load_si512(row[r]->codes + 64 * q);
      Transpose16(in, t);
      for (int k = 0; k < 16; ++k) _mm512_store_si512(p.codes[16 * q + k], t[k]);
    }
    for (int r = 0; r < 16; ++r) {
      in[r] = _mm512_cvtepi16_epi32(
          _mm256_load_si256(reinterpret_cast<const __m256i*>(row[r]->scales)));
    }
    Transpose16(in, t);
    for (int g = 0; g < 16; ++g) _mm512_store_si512(p.scales[g], t[g]);
    // t_g sits in the low half of int32 g of `offsets`; narrowing gives the pairs (t_2k, t_2k+1).
    for (int r = 0; r < 16; ++r) {
      in[r] = _mm512_zextsi256_si512(_mm512_cvtepi32_epi16(_mm512_load_si512(row[r]->offsets)));
    }
    Transpose16(in, t);
    for (int k = 0; k < 8; ++k) _mm512_store_si512(p.offsets[k], t[k]);
    for (int r = 0; r < 16; ++r) {
      p.d[r] = row[r]->d;
      p.dmin[r] = row[r]->dmin;
    }
  }
}

inline __m512i Broadcast4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

// One super-block of the 16 packed rows against C activation rows (their blocks at x + c * nb);
// acc[16 c + r] is the canonical accumulator of (x row c, W row r). kGroup: elements per scale
// (32 when pairs of groups share one, as in Q4_K / Q5_K).
template <int C, int kGroup, bool kHasMin>
void PackedTile(const PackedBlock& p, const BlockQ8K* x, int64_t nb, float* acc) {
  constexpr int kQuads = kGroup / 4;
  __m512i sum[C];
  for (int c = 0; c < C; ++c) sum[c] = _mm512_setzero_si512();
  for (int g = 0; g < kQ8KElems / kGroup; ++g) {
    __m512i dot[C];
    for (int c = 0; c < C; ++c) dot[c] = _mm512_setzero_si512();
    for (int k = 0; k < kQuads; ++k) {
      const int quad = g * kQuads + k;
      const __m512i codes = _mm512_load_si512(p.codes[quad]);
      for (int c = 0; c < C; ++c) {
        dot[c] = _mm512_dpbusd_epi32(dot[c], codes, Broadcast4(x[c * nb].qs + 4 * quad));
      }
    }
    const __m512i scale = _mm512_load_si512(p.scales[g * kGroup / 16]);
    for (int c = 0; c < C; ++c)
      sum[c] = _mm512_add_epi32(sum[c], _mm512_mullo_epi32(dot[c], scale));
  }
  const __m512 d = _mm512_load_ps(p.d);
  for (int c = 0; c < C; ++c) {
    const BlockQ8K& xb = x[c * nb];
    __m512i offset_sum = kHasMin ? _mm512_setzero_si512() : sum[c];
    for (int k = 0; k < 8; ++k) {
      offset_sum = _mm512_dpwssd_epi32(offset_sum, _mm512_load_si512(p.offsets[k]),
                                       Broadcast4(xb.bsums + 2 * k));
    }
    const __m512 dx = _mm512_set1_ps(xb.d);
    __m512 a = _mm512_load_ps(acc + 16 * c);
    if constexpr (kHasMin) {
      a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[c]), _mm512_mul_ps(d, dx), a);
      a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(offset_sum), _mm512_mul_ps(_mm512_load_ps(p.dmin), dx),
                          a);
    } else {
      a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(offset_sum), _mm512_mul_ps(d, dx), a);
    }
    _mm512_store_ps(acc + 16 * c, a);
  }
}

// All activation rows against one packed super-block, in tiles of 8 rows (then 4, 2, 1).
template <int kGroup, bool kHasMin>
void PackedBlockAllRows(const PackedBlock& p, const BlockQ8K* x, int64_t n, int64_t nb,
                        float* acc) {
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) PackedTile<8, kGroup, kHasMin>(p, x + c * nb, nb, acc + 16 * c);
  if (c + 4 <= n) {
    PackedTile<4, kGroup, kHasMin>(p, x + c * nb, nb, acc + 16 * c);
    c += 4;
  }
  if (c + 2 <= n) {
    PackedTile<2, kGroup, kHasMin>(p, x + c * nb, nb, acc + 16 * c);
    c += 2;
  }
  if (c < n) PackedTile<1, kGroup, kHasMin>(p, x + c * nb, nb, acc + 16 * c);
}

// Activation counts from which packing the rows pays off.
constexpr int64_t kPackedMinRows = 4;

void DotRange(const DecodedBlock* w, int64_t rows, const BlockQ8K* x, int64_t n, int64_t nb,
              DType type, float* y, int64_t y_stride, void* workspace) {
  if (n < kPackedMinRows) return PairRange(w, rows, x, n, nb, HasMin(type), y, y_stride);
  auto* packed = static_cast<PackedBlock*>(workspace);
  float* acc = reinterpret_cast<float*>(packed + nb);
  Pack(w, rows, nb, packed);
  std::memset(acc, 0, static_cast<size_t>(n * kGroupRows) * sizeof(float));
  for (int64_t b = 0; b < nb; ++b) {
    switch (type) {
      case DType::kQ4_K:
      case DType::kQ5_K:
        PackedBlockAllRows<32, true>(packed[b], x + b, n, nb, acc);
        break;
      case DType::kQ2_K:
        PackedBlockAllRows<16, true>(packed[b], x + b, n, nb, acc);
        break;
      default:
        PackedBlockAllRows<16, false>(packed[b], x + b, n, nb, acc);
        break;
    }
  }
  const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1);
  for (int64_t c = 0; c < n; ++c) {
    _mm512_mask_storeu_ps(y + c * y_stride, mask, _mm512_load_ps(acc + 16 * c));
  }
}

constexpr Kernels kKernels = {QuantizeRowQ8KAvx2, DecodeRow, DotRange};

}  // namespace

const Kernels& Avx512Kernels() { return kKernels; }

}  // namespace llmw::cpu::kquant_internal

#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif  // __x86_64__
