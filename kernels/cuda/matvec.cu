// The block-format mat-vec for few activation rows (n <= kMatVecMaxRows): one warp per weight
// row, all activation rows at once, with exactly the CPU matmul's arithmetic.
//
// The warp walks the weight row in rounds of 32 chunks (32 blocks of a 32-element format, four
// super-blocks of a K-quant). Each lane decodes one chunk and takes its exact integer dot
// products with every activation row (dp4a); the eight lanes of a K-quant super-block add theirs
// (integers: any order is exact). The block sums go to shared memory, and lane c then runs
// activation row c's f32 chain over the round's blocks in order, as the CPU does (fma per
// block, AccumulateBlock). So every result equals cpu::Matmul's bit for bit.
#include <cstdint>

#include "kernels/cuda/block_formats.cuh"
#include "kernels/cuda/matmul_launch.h"

namespace llmw::cuda_launch {
namespace {

namespace cb = cuda_blocks;

constexpr int kWarps = 4;  // weight rows per thread block
constexpr int kMaxRows = static_cast<int>(kMatVecMaxRows);
constexpr unsigned kAllLanes = 0xffffffffu;

template <DType T>
__global__ void __launch_bounds__(kWarps * 32)
    MatVecKernel(const uint8_t* w, int64_t row_bytes, int64_t out, int64_t in, const int8_t* xq,
                 const float* xd, const float* xs, const int16_t* xbsums, int n, float* y) {
  using F = cb::Format<T>;
  constexpr int kLanesPerBlock = F::kChunks;
  constexpr int kBlocksPerRound = 32 / kLanesPerBlock;
  __shared__ int32_t block_s[kWarps][kMaxRows][kBlocksPerRound];
  __shared__ int32_t block_m[kWarps][kMaxRows][kBlocksPerRound];
  __shared__ float block_d[kWarps][kBlocksPerRound];
  __shared__ float block_min[kWarps][kBlocksPerRound];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t o = static_cast<int64_t>(blockIdx.x) * kWarps + warp;
  if (o >= out) return;  // the whole warp: only warp-level synchronization follows
  const uint8_t* row = w + o * row_bytes;
  const int64_t nb = in / F::kElems;
  const int64_t x_blocks = in / (F::kKQuant ? 256 : 32);  // activation scales per row
  float acc = 0.0f;

  for (int64_t b0 = 0; b0 < nb; b0 += kBlocksPerRound) {
    const int j = lane / kLanesPerBlock;  // block b0 + j of this round
    const bool valid = b0 + j < nb;
    const int64_t chunk_index = b0 * kLanesPerBlock + lane;
    cb::Chunk chunk{};
    int32_t s[kMaxRows], m[kMaxRows];
#pragma unroll
    for (int c = 0; c < kMaxRows; ++c) s[c] = m[c] = 0;
    if (valid) {
      cb::DecodeChunk<T>(row, chunk_index, &chunk);
#pragma unroll
      for (int c = 0; c < kMaxRows; ++c) {
        if (c < n) {
          // 16-byte aligned: the quantized rows start at multiples of 32 bytes.
          const uint4* xr = reinterpret_cast<const uint4*>(xq + c * in + chunk_index * 32);
          const uint4 lo = xr[0], hi = xr[1];
          const uint32_t words[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
          const int16_t* bsum = F::kKQuant ? xbsums + c * (in / 16) + 2 * chunk_index : nullptr;
          const cb::ChunkSums sums = cb::ChunkDot<T>(chunk, words, bsum);
          s[c] = sums.s;
          m[c] = sums.m;
        }
      }
    }
#pragma unroll
    for (int offset = kLanesPerBlock / 2; offset > 0; offset /= 2) {
#pragma unroll
      for (int c = 0; c < kMaxRows; ++c) {
        s[c] += __shfl_xor_sync(kAllLanes, s[c], offset);
        m[c] += __shfl_xor_sync(kAllLanes, m[c], offset);
      }
    }
    if (valid && lane % kLanesPerBlock == 0) {
#pragma unroll
      for (int c = 0; c < kMaxRows; ++c) {
        block_s[warp][c][j] = s[c];
        block_m[warp][c][j] = m[c];
      }
      block_d[warp][j] = chunk.d;
      block_min[warp][j] = chunk.m;
    }
    __syncwarp();
    if (lane < n) {
      const int c = lane;
      const int64_t count = nb - b0 < kBlocksPerRound ? nb - b0 : kBlocksPerRound;
      for (int jj = 0; jj < count; ++jj) {
        const int64_t b = c * x_blocks + b0 + jj;
        const float x_sum = F::kHasMin && !F::kKQuant ? xs[b] : 0.0f;
        acc = cb::AccumulateBlock<T>(acc, cb::ChunkSums{block_s[warp][c][jj], block_m[warp][c][jj]},
                                     block_d[warp][jj], block_min[warp][jj], xd[b], x_sum);
      }
    }
    __syncwarp();  // the next round overwrites the shared sums
  }
  if (lane < n) y[lane * out + o] = acc;
}

template <DType T>
struct LaunchMatVec {
  static void Run(const void* w, int64_t out, int64_t in, const int8_t* xq, const float* xd,
                  const float* xs, const int16_t* xbsums, int64_t n, float* y,
                  cudaStream_t stream) {
    const unsigned grid = static_cast<unsigned>((out + kWarps - 1) / kWarps);
    MatVecKernel<T><<<grid, kWarps * 32, 0, stream>>>(static_cast<const uint8_t*>(w),
                                                      RowBytes(T, in), out, in, xq, xd, xs, xbsums,
                                                      static_cast<int>(n), y);
  }
};

}  // namespace

cudaError_t MatVec(DType type, const void* w, int64_t out, int64_t in, const int8_t* xq,
                   const float* xd, const float* xs, const int16_t* xbsums, int64_t n, float* y,
                   cudaStream_t stream) {
  if (n < 1 || n > kMatVecMaxRows || out < 1) return cudaErrorInvalidValue;
  if (!cb::ForBlockFormat<LaunchMatVec>(type, w, out, in, xq, xd, xs, xbsums, n, y, stream)) {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
