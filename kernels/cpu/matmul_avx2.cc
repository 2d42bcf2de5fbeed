// Matmul kernels for AVX2 + FMA + F16C: u8 x s8 dot products with maddubs / madd.
#include "kernels/cpu/matmul_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/fp16.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

namespace llmw::cpu::matmul_internal {
namespace {

#include "kernels/cpu/matmul_x86_kernels.inc"

struct Ops : YmmVec {
  static constexpr bool kQ8Unsigned = false;
  static constexpr int kSingleU = 4, kTileU = 1, kTileC = 4;
  // maddubs adds pairs to int16 without saturating: |u| <= 31 here, or |w| <= 128 with the
  // sign trick, and |x| <= 127.
  static __m256i Dot(__m256i acc, __m256i u8, __m256i s8) {
    return _mm256_add_epi32(acc,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u8, s8), _mm256_set1_epi16(1)));
  }
  // Signed weights: |w| * sign(x, w), since maddubs needs its first operand unsigned.
  static __m256i DotSigned(__m256i acc, __m256i w, __m256i x) {
    return Dot(acc, _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  }
};

constexpr KernelTable kTable = MakeTable<Ops>();

}  // namespace

const KernelTable& Avx2Kernels() { return kTable; }

}  // namespace llmw::cpu::matmul_internal

#pragma GCC pop_options
#endif  // __x86_64__
