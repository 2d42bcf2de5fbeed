// Matmul internals shared by the per-ISA kernel files, the dispatcher and the tests.
//
// The canonical arithmetic every variant reproduces bit for bit, for one (x row, W row) pair:
//
// Activations (quantized formats): per block of 32, d = amax / 127, id = d ? 1 / d : 0,
//   q = round_half_even(clamp(x * id, -127, 127)), s = d * float(sum q).
// Quantized weights: per block b, the exact integer dot product S_b = sum_i w_q[i] * x_q[i] with
//   w_q the integer weight (q - 8, q - 16 or q for Q4_0/Q5_0/Q8_0; q for Q4_1/Q5_1); |S_b| < 2^24,
//   so float(S_b) is exact, and any summation order gives the same S_b. Then one f32 chain in
//   block order: acc = fma(float(S_b), dw * dx, acc), followed for Q4_1/Q5_1 by
//   acc = fma(m_w, s_x, acc). The result is acc.
// Float weights: a[k] = fma(w[8j + k], x[8j + k], a[k]) for whole groups of eight, then
//   tail = fma(w[i], x[i], tail) for the remaining elements in order; the result is
//   ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)) + tail.
// K-quant weights (Q2_K .. Q6_K): the row dequantized with DequantizeRow, then as F32 weights.
//
// The scalar kernels read the GGUF layout; the SIMD kernels read weights packed into row groups
// (packed_weights.h), where one vector lane holds one W row and the pairs of a tile are separate
// lanes and registers, so no lane ever mixes two pairs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/packed_weights.h"
#include "kernels/dtype.h"

namespace llmw::cpu::matmul_internal {

enum class Isa { kScalar, kAvx2, kAvxVnni, kAvx512Vnni };

const char* IsaName(Isa isa);

// Whether this build has the variant and this CPU can run it.
bool IsaAvailable(Isa isa);

// All available variants, best last.
std::vector<Isa> AvailableIsas();

// What Matmul uses: the best available variant.
Isa BestIsa();

// One Matmul call's operands as the kernels see them.
struct Args {
  // Float weights and the scalar kernels: row o at w + o * w_stride (the tensor's layout).
  // Packed weights: row group g at w + g * w_stride, its parts at the offsets of `layout`.
  const uint8_t* w;
  int64_t w_stride;
  PackLayout layout;
  int64_t in;
  const float* x;     // float weights: x row c at x + c * in
  const int8_t* xq;   // quantized weights: x row c quants at xq + c * in,
  const int32_t* xb;  //   block biases (below) at xb + c * x_blocks,
  const float* xd;    //   block scales at xd + c * x_blocks,
  const float* xs;    //   block sums (s above) at xs + c * x_blocks
  int64_t x_blocks;   // in / 32
  float* y;           // y[c * out + o]
  int64_t out;
};

// Computes y for output rows [o_begin, o_end) and x rows [c_begin, c_end). With packed weights
// o_begin is a multiple of kPackRows.
using RangeKernel = void (*)(const Args& args, int64_t o_begin, int64_t o_end, int64_t c_begin,
                             int64_t c_end);

// Quantizes one activation row of `in` elements (a multiple of 32): q[in], d[in / 32],
// s[in / 32] and, when bias_offset is not 0, bias[b] = -bias_offset * (sum of block b's q), so
// that a kernel multiplying unsigned codes u = w_q + bias_offset gets S_b = bias + sum u * q.
using QuantizeKernel = void (*)(const float* x, int64_t in, int bias_offset, int8_t* q, float* d,
                                float* s, int32_t* bias);

struct KernelTable {
  QuantizeKernel quantize;
  RangeKernel f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0;
  // Whether the block-format kernels read packed weights (else the tensor's own layout).
  bool packed;
  // Whether the Q8_0 kernel takes weights as unsigned codes w + 128 (bias offset 128).
  bool q8_unsigned;
};

// The bias offset the variant's kernel for `type` expects from the activation quantizer.
int BiasOffset(const KernelTable& table, DType type);

// The variant's kernels; only valid when IsaAvailable(isa).
const KernelTable& Kernels(Isa isa);

// Each ISA's table, defined in its own file (matmul_scalar.cc, matmul_avx2.cc, ...).
const KernelTable& ScalarKernels();
const KernelTable& Avx2Kernels();
const KernelTable& AvxVnniKernels();
const KernelTable& Avx512VnniKernels();

// Matmul with a forced variant (tests, benchmarks).
void MatmulWithIsa(Isa isa, const Tensor& w, const float* x, int64_t n, float* y, ThreadPool& pool,
                   MatmulScratch& scratch);
void MatmulWithIsa(Isa isa, const PackedWeights& w, const float* x, int64_t n, float* y,
                   ThreadPool& pool, MatmulScratch& scratch);
void MatmulSharedWithIsa(Isa isa, std::span<const MatmulTarget> targets, const float* x, int64_t n,
                         ThreadPool& pool, MatmulScratch& scratch);

// The most weights one MatmulShared call runs together (more run one at a time).
inline constexpr size_t kMaxSharedTargets = 4;

}  // namespace llmw::cpu::matmul_internal
