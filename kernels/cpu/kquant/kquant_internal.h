// K-quant matmul internals shared by the per-ISA files, the dispatcher and the tests.
//
// Every weight super-block is first decoded (exactly, in integers) into a DecodedBlock: 256
// unsigned codes u_i in element order, a signed integer scale s_g and an offset multiplier t_g for
// each group g of 16 elements, and the f32 factors d and dmin:
//
//   format  u_i                        s_g                       t_g                d, dmin
//   Q2_K    2-bit code                 scales[g] & 15            -(scales[g] >> 4)  d, dmin
//   Q3_K    low bits | hmask bit << 2  Q3KScale(g) (-32..31)     -4 s_g             d, -
//   Q4_K    4-bit code                 scale of sub-block g / 2  -min of g / 2      d, dmin
//   Q5_K    5-bit code                 scale of sub-block g / 2  -min of g / 2      d, dmin
//   Q6_K    6-bit code                 scales[g] (int8)          -32 s_g            d, -
//
// so that weight i of the super-block is d * s_g * u_i + dmin * t_g (Q2_K, Q4_K, Q5_K: the
// minimum) or d * (s_g * u_i + t_g) (Q3_K: q = u - 4, Q6_K: q = u - 32).
//
// The canonical arithmetic every variant reproduces bit for bit, for one (x row, W row) pair, with
// x in Q8_K blocks (q_i, d_x, bsum_g):
//
//   acc = +0
//   for each super-block, in order:
//     S = sum_i s_g(i) * u_i * q_i, plus sum_g t_g * bsum_g for Q3_K / Q6_K     (exact int32)
//     acc = fma(float(S), d * d_x, acc)
//     Q2_K, Q4_K, Q5_K: M = sum_g t_g * bsum_g                                 (exact int32)
//                       acc = fma(float(M), dmin * d_x, acc)
//   y = acc
//
// with d * d_x and dmin * d_x rounded f32 products. S and M are exact, so a variant may add their
// terms in any order and grouping: the portable kernel goes element by element, the pair kernels
// reduce a vector of partial sums per super-block, the AVX-512 batch kernel keeps one W row per
// lane. Exactness: u <= 63, |q| <= 127, |s_g| <= 128, |t_g| <= 4096, |bsum| <= 2032, so an
// 8-bit multiply-add pair is under 2^15 (no saturation) and |S| < 256 * 63 * 127 * 128 +
// 16 * 4096 * 2032 < 2^29.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/kquant/kquant_matmul.h"
#include "kernels/cpu/matmul_internal.h"
#include "kernels/dtype.h"

namespace llmw::cpu::kquant_internal {

// Laid out so that the codes and the offsets fill whole (aligned) vectors.
struct alignas(64) DecodedBlock {
  uint8_t codes[256];
  int16_t offsets[32];  // offsets[2g] = t_g, offsets[2g + 1] = 0 (one int32 lane per group)
  int16_t scales[16];
  float d;
  float dmin;
};
static_assert(sizeof(DecodedBlock) == 384);

// Formats whose weights carry a separately scaled minimum (the M term above).
inline bool HasMin(DType t) { return t == DType::kQ2_K || t == DType::kQ4_K || t == DType::kQ5_K; }

// Decodes the `nb` super-blocks of one weight row of type `type`.
using DecodeFn = void (*)(DType type, const uint8_t* row, int64_t nb, DecodedBlock* out);

// Weight rows decoded and computed together (one AVX-512 lane each in the batch kernel).
inline constexpr int64_t kGroupRows = 16;

// One super-block of kGroupRows decoded rows with one row per 32-bit lane (the AVX-512 batch
// kernel): codes[k][r] holds codes 4k .. 4k + 3 of row r, scales[g][r] = s_g and
// offsets[k][r] = t_2k | t_2k+1 << 16 (int16 halves) of row r.
struct alignas(64) PackedBlock {
  int32_t codes[64][kGroupRows];
  int32_t scales[16][kGroupRows];
  int32_t offsets[8][kGroupRows];
  float d[kGroupRows];
  float dmin[kGroupRows];
};

// Scratch a DotFn needs for n activation rows of nb super-blocks (the same for every variant).
inline int64_t DotWorkspaceBytes(int64_t n, int64_t nb) {
  return nb * static_cast<int64_t>(sizeof(PackedBlock)) + n * kGroupRows * 4;
}

// y[c * y_stride + r] for the `rows` (<= kGroupRows) decoded weight rows of `type` (row r at
// w + r * nb) and the `n` activation rows (row c at x + c * nb). `workspace` is 64-byte aligned
// and DotWorkspaceBytes(n, nb) long.
using DotFn = void (*)(const DecodedBlock* w, int64_t rows, const BlockQ8K* x, int64_t n,
                       int64_t nb, DType type, float* y, int64_t y_stride, void* workspace);

using QuantizeFn = void (*)(const float* x, int64_t in, BlockQ8K* out);

struct Kernels {
  QuantizeFn quantize;
  DecodeFn decode;
  DotFn dot;
};

// The variants are the matmul's (the same CPU probe and choice); a CPU with AVX-VNNI but no
// AVX-512 runs the AVX2 K-quant kernels.
using matmul_internal::AvailableIsas;
using matmul_internal::BestIsa;
using matmul_internal::Isa;
using matmul_internal::IsaAvailable;
using matmul_internal::IsaName;

// The variant's kernels; only valid when IsaAvailable(isa).
const Kernels& KernelsFor(Isa isa);
const Kernels& ScalarKernels();
const Kernels& Avx2Kernels();
const Kernels& Avx512Kernels();

// The AVX2 activation quantizer (the AVX-512 variant uses it too).
void QuantizeRowQ8KAvx2(const float* x, int64_t in, BlockQ8K* out);

// KQuantMatmul with a forced variant (tests, benchmarks).
void KQuantMatmulWithIsa(Isa isa, const Tensor& w, const float* x, int64_t n, float* y,
                         ThreadPool& pool, KQuantScratch& scratch);

}  // namespace llmw::cpu::kquant_internal
