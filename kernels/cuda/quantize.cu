// The activation quantizers of the weight kernels: the CPU matmul's two rules, bit for bit (Q8
// per 32 of kernels/cpu/matmul_internal.h, Q8_K per 256 of kernels/cpu/kquant/kquant_matmul.h).
// One warp per block; the block's maximum and sums are warp reductions, exact in any order.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/block_formats.cuh"
#include "kernels/cuda/matmul_launch.h"

namespace llmw::cuda_launch {
namespace {

using cuda_blocks::MulRn;

constexpr int kWarps = 8;
constexpr unsigned kAllLanes = 0xffffffffu;
// Enough blocks to fill any current GPU several times over; more work loops in the kernel.
constexpr int64_t kMaxGrid = 4096;

unsigned Grid(int64_t warp_tasks) {
  return static_cast<unsigned>(std::min<int64_t>((warp_tasks + kWarps - 1) / kWarps, kMaxGrid));
}

// The 8-bit code of x under `scale`. fmaxf before fminf, as on the CPU: a NaN maps to -127.
// __float2int_rn rounds half to even.
__device__ int QuantizeCode(float x, float scale) {
  return __float2int_rn(fminf(fmaxf(MulRn(x, scale), -127.0f), 127.0f));
}

__device__ int WarpSum(int v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kAllLanes, v, offset);
  return v;
}

// Block `blk` of 32 (all rows' blocks numbered consecutively) takes warp-strided turns.
__global__ void QuantizeQ8Kernel(const float* x, int64_t blocks, int8_t* q, float* d, float* s) {
  const int lane = threadIdx.x % 32;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kWarps;
  for (int64_t blk = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32; blk < blocks;
       blk += stride) {
    const float v = x[blk * 32 + lane];
    // fmaxf drops NaN, as std::max(amax, NaN) keeps amax on the CPU.
    float amax = fmaxf(0.0f, fabsf(v));
    for (int offset = 16; offset > 0; offset /= 2) {
      amax = fmaxf(amax, __shfl_xor_sync(kAllLanes, amax, offset));
    }
    const float db = __fdiv_rn(amax, 127.0f);
    const float id = db != 0.0f ? __fdiv_rn(1.0f, db) : 0.0f;
    const int code = QuantizeCode(v, id);
    q[blk * 32 + lane] = static_cast<int8_t>(code);
    const int sum = WarpSum(code);
    if (lane == 0) {
      d[blk] = db;
      s[blk] = MulRn(db, static_cast<float>(sum));
    }
  }
}

// Super-block `blk` of 256; lane l holds elements 8 l .. 8 l + 7.
__global__ void QuantizeQ8KKernel(const float* x, int64_t blocks, int8_t* q, int16_t* bsums,
                                  float* d) {
  const int lane = threadIdx.x % 32;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kWarps;
  for (int64_t blk = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32; blk < blocks;
       blk += stride) {
    const float* xb = x + blk * 256 + 8 * lane;
    float v[8];
    for (int i = 0; i < 8; ++i) v[i] = xb[i];
    // The first element of largest magnitude: each lane's first, then the larger magnitude or,
    // on a tie, the lower index. NaN never compares greater, as on the CPU; index 256 is "none".
    float amax = 0.0f, max = 0.0f;
    int index = 256;
    for (int i = 0; i < 8; ++i) {
      if (fabsf(v[i]) > amax) {
        amax = fabsf(v[i]);
        max = v[i];
        index = 8 * lane + i;
      }
    }
    for (int offset = 16; offset > 0; offset /= 2) {
      const float other_amax = __shfl_xor_sync(kAllLanes, amax, offset);
      const float other_max = __shfl_xor_sync(kAllLanes, max, offset);
      const int other_index = __shfl_xor_sync(kAllLanes, index, offset);
      if (other_amax > amax || (other_amax == amax && other_index < index)) {
        amax = other_amax;
        max = other_max;
        index = other_index;
      }
    }
    int8_t* qb = q + blk * 256 + 8 * lane;
    if (amax == 0.0f) {
      for (int i = 0; i < 8; ++i) qb[i] = 0;
      if (lane % 2 == 0) bsums[blk * 16 + lane / 2] = 0;
      if (lane == 0) d[blk] = 0.0f;
      continue;
    }
    const float iscale = __fdiv_rn(-127.0f, max);
    int sum = 0;
    for (int i = 0; i < 8; ++i) {
      const int code = QuantizeCode(v[i], iscale);
      qb[i] = static_cast<int8_t>(code);
      sum += code;
    }
    sum += __shfl_xor_sync(kAllLanes, sum, 1);  // lanes 2g and 2g + 1 hold group g of 16
    if (lane % 2 == 0) bsums[blk * 16 + lane / 2] = static_cast<int16_t>(sum);
    if (lane == 0) d[blk] = __fdiv_rn(1.0f, iscale);
  }
}

}  // namespace

cudaError_t QuantizeQ8(const float* x, int64_t n, int64_t in, int8_t* q, float* d, float* s,
                       cudaStream_t stream) {
  const int64_t blocks = n * (in / 32);
  if (blocks == 0) return cudaSuccess;
  QuantizeQ8Kernel<<<Grid(blocks), kWarps * 32, 0, stream>>>(x, blocks, q, d, s);
  return cudaGetLastError();
}

cudaError_t QuantizeQ8K(const float* x, int64_t n, int64_t in, int8_t* q, int16_t* bsums, float* d,
                        cudaStream_t stream) {
  const int64_t blocks = n * (in / 256);
  if (blocks == 0) return cudaSuccess;
  QuantizeQ8KKernel<<<Grid(blocks), kWarps * 32, 0, stream>>>(x, blocks, q, bsums, d);
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
