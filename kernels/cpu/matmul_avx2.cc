// Matmul kernels for AVX2 + FMA + F16C: u8 x s8 dot products with maddubs / madd.
#include "kernels/cpu/matmul_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/fp16.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

namespace llmw::cpu::matmul_internal {
namespace {

#include "kernels/cpu/matmul_x86_kernels.inc"

struct Ops {
  static constexpr bool kQ8Unsigned = false;
  static constexpr int kSingleR = 4, kTileR = 2, kTileC = 4;
  using Acc = YmmAcc;
  static Acc Zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static float Reduce(const Acc& acc) { return HorizontalSum(_mm256_add_ps(acc.even, acc.odd)); }
  // maddubs adds pairs to int16 without saturating: |u| <= 31 here, or |w| <= 128 with the
  // sign trick, and |x| <= 127.
  static __m256i DotAcc(__m256i acc, __m256i u8, __m256i s8) {
    return _mm256_add_epi32(acc,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u8, s8), _mm256_set1_epi16(1)));
  }
  template <DType T, int R, int C>
  static void Blocks(const uint8_t* const* w, const int8_t* const* xq, const int32_t* const* xb,
                     int64_t g, int cnt, const float (*scale)[C][8], Acc (*acc)[C]) {
    YmmBlocks<Ops, T, R, C>(w, xq, xb, g, cnt, scale, acc);
  }
};

constexpr KernelTable kTable = MakeTable<Ops>();

}  // namespace

const KernelTable& Avx2Kernels() { return kTable; }

}  // namespace llmw::cpu::matmul_internal

#pragma GCC pop_options
#endif  // __x86_64__
