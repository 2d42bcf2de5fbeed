// Matmul kernels for AVX-512 VNNI: two blocks per 512-bit vpdpbusd (even blocks in the low half,
// odd blocks in the high half, as the canonical order has them), 256-bit code elsewhere.
#include "kernels/cpu/matmul_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/fp16.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
// GCC 12's AVX-512 intrinsics fill unused operands with self-initialized "undefined" vectors,
// which -Wall reports as uninitialized once inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace llmw::cpu::matmul_internal {
namespace {

#include "kernels/cpu/matmul_x86_kernels.inc"

inline __m256i Broadcast128(const uint8_t* p) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The codes of blocks b and b + 1 (at blk and blk + kBytes) in the two 256-bit halves.
template <DType T>
inline __m512i LoadCodePair(const uint8_t* blk) {
  using F = QFormat<T>;
  const uint8_t* next = blk + F::kBytes;
  if constexpr (T == DType::kQ8_0) {
    const __m512i w = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(next + 2)), 1);
    return _mm512_xor_si512(w, _mm512_set1_epi8(static_cast<char>(0x80)));
  } else {
    const __m512i packed = _mm512_inserti64x4(_mm512_castsi256_si512(Broadcast128(blk + F::kQs)),
                                              Broadcast128(next + F::kQs), 1);
    const __m512i shifts = _mm512_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4, 0, 0, 0, 0, 4, 4, 4, 4);
    __m512i codes = _mm512_and_si512(_mm512_srlv_epi32(packed, shifts), _mm512_set1_epi8(0x0f));
    if constexpr (F::kQh >= 0) {
      uint32_t h0, h1;
      std::memcpy(&h0, blk + F::kQh, 4);
      std::memcpy(&h1, next + F::kQh, 4);
      const __mmask64 high = static_cast<__mmask64>(h0) | static_cast<__mmask64>(h1) << 32;
      codes = _mm512_or_si512(codes, _mm512_maskz_mov_epi8(high, _mm512_set1_epi8(0x10)));
    }
    return codes;
  }
}

struct Ops {
  static constexpr bool kQ8Unsigned = true;
  static constexpr int kSingleR = 4, kTileR = 2, kTileC = 4;
  using Acc = __m512;
  static Acc Zero() { return _mm512_setzero_ps(); }
  static float Reduce(Acc acc) {
    const __m256 odd = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1));
    return HorizontalSum(_mm256_add_ps(_mm512_castps512_ps256(acc), odd));
  }

  template <DType T, int R, int C>
  static void Blocks(const uint8_t* const* w, const int8_t* const* xq, const int32_t* const* xb,
                     int64_t g, int cnt, const float (*scale)[C][8], Acc (*acc)[C]) {
    using F = QFormat<T>;
    constexpr bool kBias = F::kOffset != 0;
    const __m512i halves = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    for (int k = 0; k < cnt; k += 2) {
      const int64_t b = g + k;
      // A lone last block pairs with zeros: codes, activations and bias 0, and scale[k + 1] is
      // the zero padding, so the odd half gets fma(0, 0, acc).
      const bool pair = k + 1 < cnt;
      __m512i u[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = w[r] + b * F::kBytes;
        u[r] = pair ? LoadCodePair<T>(blk) : _mm512_zextsi256_si512(LoadCodes<T, true>(blk));
      }
      const __m512i index = _mm512_add_epi32(_mm512_set1_epi32(k), halves);
      for (int j = 0; j < C; ++j) {
        const int8_t* xp = xq[j] + b * 32;
        const __m512i xv =
            pair ? _mm512_loadu_si512(xp) : _mm512_maskz_loadu_epi8(0xffffffffULL, xp);
        __m512i bias = _mm512_setzero_si512();
        if constexpr (kBias) {
          const int32_t* bp = xb[j] + b * 8;
          bias = pair ? _mm512_loadu_si512(bp) : _mm512_maskz_loadu_epi32(0x00ff, bp);
        }
        for (int r = 0; r < R; ++r) {
          const __m512 sc =
              _mm512_permutexvar_ps(index, _mm512_castps256_ps512(_mm256_load_ps(scale[r][j])));
          const __m512i lanes = _mm512_dpbusd_epi32(bias, u[r], xv);
          acc[r][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(lanes), sc, acc[r][j]);
        }
      }
    }
  }
};

constexpr KernelTable kTable = MakeTable<Ops>();

}  // namespace

const KernelTable& Avx512VnniKernels() { return kTable; }

}  // namespace llmw::cpu::matmul_internal

#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif  // __x86_64__
