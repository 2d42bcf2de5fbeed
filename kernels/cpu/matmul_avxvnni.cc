// Matmul kernels for AVX-VNNI (VEX-encoded vpdpbusd on 256-bit registers).
#include "kernels/cpu/matmul_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/fp16.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avxvnni")

namespace llmw::cpu::matmul_internal {
namespace {

#include "kernels/cpu/matmul_x86_kernels.inc"

struct Ops {
  static constexpr bool kQ8Unsigned = true;
  static constexpr int kSingleR = 4, kTileR = 2, kTileC = 4;
  using Acc = YmmAcc;
  static Acc Zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static float Reduce(const Acc& acc) { return HorizontalSum(_mm256_add_ps(acc.even, acc.odd)); }
  static __m256i DotAcc(__m256i acc, __m256i u8, __m256i s8) {
    return _mm256_dpbusd_avx_epi32(acc, u8, s8);
  }
  template <DType T, int R, int C>
  static void Blocks(const uint8_t* const* w, const int8_t* const* xq, const int32_t* const* xb,
                     int64_t g, int cnt, const float (*scale)[C][8], Acc (*acc)[C]) {
    YmmBlocks<Ops, T, R, C>(w, xq, xb, g, cnt, scale, acc);
  }
};

constexpr KernelTable kTable = MakeTable<Ops>();

}  // namespace

const KernelTable& AvxVnniKernels() { return kTable; }

}  // namespace llmw::cpu::matmul_internal

#pragma GCC pop_options
#endif  // __x86_64__
