// Matmul kernels for AVX-512 VNNI: the packed block formats on 512-bit vectors (vpdpbusd over a
// whole row group of 16 rows), 256-bit code for float weights.
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
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
// GCC 12's AVX-512 intrinsics fill unused operands with self-initialized "undefined" vectors,
// which -Wall reports as uninitialized once inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace llmw::cpu::matmul_internal {
namespace {

#include "kernels/cpu/matmul_x86_kernels.inc"

// 16 lanes: a whole packed row group per vector.
struct Ops {
  static constexpr bool kQ8Unsigned = true;
  static constexpr int kLanes = 16, kSingleU = 4, kTileU = 1, kTileC = 8;
  using VI = __m512i;
  using VF = __m512;
  static VI Load(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static VI Broadcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof(v));
    return _mm512_set1_epi32(v);
  }
  static VI BroadcastI(const int32_t* p) { return _mm512_set1_epi32(*p); }
  static VI ZeroI() { return _mm512_setzero_si512(); }
  static VI Low4(VI v) { return _mm512_and_si512(v, _mm512_set1_epi8(0x0f)); }
  static VI High4(VI v) { return Low4(_mm512_srli_epi16(v, 4)); }
  // 0x10 in byte i of a lane where bit 8i + s of the packed high bits is set.
  static VI HighBits(VI h, int s) {
    const VI at0 = _mm512_srl_epi32(h, _mm_cvtsi32_si128(s));
    return _mm512_and_si512(_mm512_slli_epi32(at0, 4), _mm512_set1_epi8(0x10));
  }
  static VI Or(VI a, VI b) { return _mm512_or_si512(a, b); }
  static VI Dot(VI acc, VI u8, VI s8) { return _mm512_dpbusd_epi32(acc, u8, s8); }
  static VF ZeroF() { return _mm512_setzero_ps(); }
  static VF ToFloat(VI v) { return _mm512_cvtepi32_ps(v); }
  static VF LoadHalves(const uint8_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static VF BroadcastF(const float* p) { return _mm512_set1_ps(*p); }
  static VF Mul(VF a, VF b) { return _mm512_mul_ps(a, b); }
  static VF Fma(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
  static void Store(float* y, VF v, int64_t valid) {
    const __mmask16 mask = valid >= kLanes ? static_cast<__mmask16>(0xffff)
                                           : static_cast<__mmask16>((1u << valid) - 1);
    _mm512_mask_storeu_ps(y, mask, v);
  }
};

constexpr KernelTable kTable = MakeTable<Ops>();

}  // namespace

const KernelTable& Avx512VnniKernels() { return kTable; }

}  // namespace llmw::cpu::matmul_internal

#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif  // __x86_64__
