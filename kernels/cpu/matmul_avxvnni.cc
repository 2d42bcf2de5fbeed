// Matmul kernels for AVX-VNNI (VEX-encoded vpdpbusd on 256-bit registers).
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
#pragma GCC target("avx2,fma,f16c,avxvnni")

namespace llmw::cpu::matmul_internal {
namespace {

#include "kernels/cpu/matmul_x86_kernels.inc"

struct Ops : YmmVec {
  static constexpr bool kQ8Unsigned = true;
  static constexpr int kSingleU = 4, kTileU = 1, kTileC = 4;
  static __m256i Dot(__m256i acc, __m256i u8, __m256i s8) {
    return _mm256_dpbusd_avx_epi32(acc, u8, s8);
  }
};

constexpr KernelTable kTable = MakeTable<Ops>();

}  // namespace

const KernelTable& AvxVnniKernels() { return kTable; }

}  // namespace llmw::cpu::matmul_internal

#pragma GCC pop_options
#endif  // __x86_64__
