// What the mat-vec kernels for few activation rows share (matvec.cu for block formats, gemv.cu for
// float weights): the weights of one launch, the gated activation, and row alignment.
#pragma once

#include <cstdint>

#include "kernels/cuda/matmul_launch.h"

namespace llmw::cuda_launch::matvec {

constexpr int kWarps = 4;  // weight rows per thread block: one per warp
constexpr int kMaxRows = static_cast<int>(kMatVecMaxRows);
constexpr unsigned kAllLanes = 0xffffffffu;

// The weights of one launch. Thread block i works on weight k when first_block[k] <= i <
// first_block[k + 1]; with a gate, w[0] is the gate and w[1] the up weight, both of out[0] rows.
struct Targets {
  const uint8_t* w[kMaxSharedWeights];
  float* y[kMaxSharedWeights];
  int64_t out[kMaxSharedWeights];
  int64_t first_block[kMaxSharedWeights + 1];
  int count;
};

// The launch's weights with their thread blocks; false when there are none or too many.
inline bool MakeTargets(const MatVecWeight* weights, int count, Targets* targets) {
  if (count < 1 || count > kMaxSharedWeights) return false;
  *targets = {};
  targets->count = count;
  for (int k = 0; k < targets->count; ++k) {
    if (weights[k].w == nullptr || weights[k].y == nullptr || weights[k].out < 1) return false;
    targets->w[k] = static_cast<const uint8_t*>(weights[k].w);
    targets->y[k] = weights[k].y;
    targets->out[k] = weights[k].out;
    targets->first_block[k + 1] = targets->first_block[k] + (weights[k].out + kWarps - 1) / kWarps;
  }
  return true;
}

// A gate and an up weight of `out` rows, as Targets: one weight's thread blocks, both rows per
// warp.
inline Targets GatedTargets(const void* gate, const void* up, int64_t out, float* y) {
  Targets targets{};
  targets.count = 1;
  targets.w[0] = static_cast<const uint8_t*>(gate);
  targets.w[1] = static_cast<const uint8_t*>(up);
  targets.y[0] = y;
  targets.out[0] = out;
  targets.first_block[1] = (out + kWarps - 1) / kWarps;
  return targets;
}

// Whether the weights' rows of row_bytes all start on `alignment` bytes.
inline bool RowsAligned(const Targets& targets, bool gated, int64_t row_bytes, int alignment) {
  if (row_bytes % alignment != 0) return false;
  for (int k = 0; k < (gated ? 2 : targets.count); ++k) {
    if (reinterpret_cast<uintptr_t>(targets.w[k]) % alignment != 0) return false;
  }
  return true;
}

// The weight k of the launch this thread's warp works on (returned) and the row of it (*row).
__device__ inline int WarpRow(const Targets& targets, int64_t* row) {
  int k = 0;
  while (k + 1 < targets.count && blockIdx.x >= targets.first_block[k + 1]) ++k;
  *row = (blockIdx.x - targets.first_block[k]) * kWarps + threadIdx.x / 32;
  return k;
}

// Asks L2 for all `bytes` of a weight row (lines of 128 bytes, one request per lane at a time)
// before the warp reads it step by step, so that the whole row is on its way from memory at once
// rather than a step's loads at a time. Only a hint: the results do not depend on it. The line
// holding the row's first byte starts at or after its allocation's start (256-byte aligned).
__device__ inline void PrefetchRow(const uint8_t* row, int64_t bytes, int lane) {
  const uintptr_t end = reinterpret_cast<uintptr_t>(row) + bytes;
  for (uintptr_t line = (reinterpret_cast<uintptr_t>(row) & ~uintptr_t{127}) + 128 * lane;
       line < end; line += 32 * 128) {
    asm volatile("prefetch.global.L2 [%0];" ::"l"(line));
  }
}

// act(gate) · up with the operations of cuda::SiluMul and cuda::GeluTanhMul (silu_mul.cu,
// activations.cu) spelled out.
__device__ inline float Gated(GatedActivation act, float gate, float up) {
  if (act == GatedActivation::kSilu) {
    return __fmul_rn(__fdiv_rn(gate, __fadd_rn(1.0f, expf(-gate))), up);
  }
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  const float cube = __fmul_rn(__fmul_rn(__fmul_rn(0.044715f, gate), gate), gate);
  const float t = tanhf(__fmul_rn(kSqrt2OverPi, __fadd_rn(gate, cube)));
  return __fmul_rn(__fmul_rn(__fmul_rn(0.5f, gate), __fadd_rn(1.0f, t)), up);
}

}  // namespace llmw::cuda_launch::matvec
