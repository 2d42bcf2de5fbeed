// The block-format mat-vec for few activation rows (n <= kMatVecMaxRows), over repacked weight
// rows (repacked_layout.h): one warp per weight row, four rows per thread block, every weight
// load used for all activation rows, with exactly the CPU matmul's arithmetic. One launch serves
// up to four weights that share the activations (q/k/v, gate/up), or a gate and an up weight
// whose products meet in the gated activation.
//
// A warp first asks L2 for its whole row (PrefetchRow), so that all of the row's bytes are on
// their way from memory at once, then walks it in steps of kUnroll · 32 chunks (32-element blocks,
// or eighths of a K-quant super-block): each lane first loads and decodes its kUnroll chunks (the
// quants with 16-byte loads when the row is 16-byte aligned; a warp's loads cover contiguous 512
// bytes), so that several loads per lane are in flight, then takes their exact integer dot products
// with every activation row (dp4a); the eight lanes of a K-quant super-block add theirs (integers:
// any order is exact). The block sums go to shared memory, and lane c runs activation row c's
// f32 chain over the step's blocks in order, as the CPU does (fma per block, AccumulateBlock).
// So every result equals cpu::Matmul's bit for bit.
#include <cstdint>

#include "kernels/cuda/block_formats.cuh"
#include "kernels/cuda/matmul_launch.h"
#include "kernels/cuda/matvec_common.cuh"

namespace llmw::cuda_launch {
namespace {

namespace cb = cuda_blocks;
using namespace matvec;  // NOLINT: the shared pieces of the mat-vec kernels

constexpr int kUnroll = 2;  // rounds of 32 chunks each lane loads before using any
constexpr int kMaxRows = static_cast<int>(kMatVecMaxRows);

// The quantized activation rows (QuantizeQ8 or QuantizeQ8K).
struct Activations {
  const int8_t* q;
  const float* d;
  const float* s;
  const int16_t* bsums;
  int64_t in;
  int n;
};

// One warp's block sums and factors of a step.
template <DType T>
struct StepSums {
  static constexpr int kBlocks = kUnroll * 32 / cb::Format<T>::kChunks;
  int32_t s[kMaxRows][kBlocks];
  int32_t m[kMaxRows][kBlocks];
  float d[kBlocks];
  float min[kBlocks];
};

// The dot products of one weight row with every activation row: lane c < n returns row c's.
template <DType T, int kAlign>
__device__ float RowDot(const uint8_t* row, int64_t nb, const Activations& x, int lane,
                        StepSums<T>& sums) {
  using F = cb::Format<T>;
  constexpr int kLanesPerBlock = F::kChunks;
  const int64_t chunks = nb * kLanesPerBlock;
  const int64_t x_blocks = x.in / (F::kKQuant ? 256 : 32);  // activation scales per row
  float acc = 0.0f;
  for (int64_t c0 = 0; c0 < chunks; c0 += 32 * kUnroll) {
    cb::Chunk chunk[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t c = c0 + 32 * u + lane;
      if (c < chunks) cb::DecodeChunk<T, kAlign>(row, nb, c, &chunk[u]);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t c = c0 + 32 * u + lane;
      const bool valid = c < chunks;
      int32_t s[kMaxRows], m[kMaxRows];
#pragma unroll
      for (int r = 0; r < kMaxRows; ++r) s[r] = m[r] = 0;
      if (valid) {
#pragma unroll
        for (int r = 0; r < kMaxRows; ++r) {
          if (r < x.n) {
            // 16-byte aligned: the quantized rows start at multiples of 32 bytes.
            const uint4* xr = reinterpret_cast<const uint4*>(x.q + r * x.in + c * 32);
            const uint4 lo = xr[0], hi = xr[1];
            const uint32_t words[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
            const int16_t* bsum = F::kKQuant ? x.bsums + r * (x.in / 16) + 2 * c : nullptr;
            const cb::ChunkSums dot = cb::ChunkDot<T>(chunk[u], words, bsum);
            s[r] = dot.s;
            m[r] = dot.m;
          }
        }
      }
#pragma unroll
      for (int offset = kLanesPerBlock / 2; offset > 0; offset /= 2) {
#pragma unroll
        for (int r = 0; r < kMaxRows; ++r) {
          s[r] += __shfl_xor_sync(kAllLanes, s[r], offset);
          if constexpr (F::kHasMin && F::kKQuant) m[r] += __shfl_xor_sync(kAllLanes, m[r], offset);
        }
      }
      if (valid && lane % kLanesPerBlock == 0) {
        const int j = (32 * u + lane) / kLanesPerBlock;
#pragma unroll
        for (int r = 0; r < kMaxRows; ++r) {
          sums.s[r][j] = s[r];
          sums.m[r][j] = m[r];
        }
        sums.d[j] = chunk[u].d;
        sums.min[j] = chunk[u].m;
      }
    }
    __syncwarp();
    if (lane < x.n) {
      const int64_t b0 = c0 / kLanesPerBlock;
      const int count =
          nb - b0 < StepSums<T>::kBlocks ? static_cast<int>(nb - b0) : StepSums<T>::kBlocks;
      for (int j = 0; j < count; ++j) {
        const int64_t b = lane * x_blocks + b0 + j;
        const float x_sum = F::kHasMin && !F::kKQuant ? x.s[b] : 0.0f;
        acc = cb::AccumulateBlock<T>(acc, cb::ChunkSums{sums.s[lane][j], sums.m[lane][j]},
                                     sums.d[j], sums.min[j], x.d[b], x_sum);
      }
    }
    __syncwarp();  // the next step overwrites the sums
  }
  return acc;
}

template <DType T, int kAlign>
__global__ void __launch_bounds__(kWarps * 32)
    MatVecKernel(Targets targets, Activations x, int64_t nb, int64_t row_bytes, bool gated,
                 GatedActivation act) {
  __shared__ StepSums<T> sums[kWarps];
  const int lane = threadIdx.x % 32;
  int64_t o = 0;
  const int k = WarpRow(targets, &o);
  const int64_t out = targets.out[k];
  if (o >= out) return;  // the whole warp: only warp-level synchronization follows
  PrefetchRow(targets.w[k] + o * row_bytes, row_bytes, lane);
  if (gated) PrefetchRow(targets.w[1] + o * row_bytes, row_bytes, lane);
  const float acc =
      RowDot<T, kAlign>(targets.w[k] + o * row_bytes, nb, x, lane, sums[threadIdx.x / 32]);
  if (!gated) {
    if (lane < x.n) targets.y[k][lane * out + o] = acc;
    return;
  }
  const float up =
      RowDot<T, kAlign>(targets.w[1] + o * row_bytes, nb, x, lane, sums[threadIdx.x / 32]);
  if (lane < x.n) targets.y[0][lane * out + o] = Gated(act, acc, up);
}

template <DType T>
struct LaunchMatVec {
  static void Run(Targets targets, Activations x, bool gated, GatedActivation act,
                  cudaStream_t stream) {
    const int64_t row_bytes = RowBytes(T, x.in);
    const bool aligned = RowsAligned(targets, gated, row_bytes, 16);
    const unsigned grid = static_cast<unsigned>(targets.first_block[targets.count]);
    const int64_t nb = x.in / cb::Format<T>::kElems;
    if (aligned) {
      MatVecKernel<T, 16><<<grid, kWarps * 32, 0, stream>>>(targets, x, nb, row_bytes, gated, act);
    } else {
      MatVecKernel<T, 2><<<grid, kWarps * 32, 0, stream>>>(targets, x, nb, row_bytes, gated, act);
    }
  }
};

}  // namespace

cudaError_t MatVec(DType type, const MatVecWeight* weights, int count, int64_t in, const int8_t* xq,
                   const float* xd, const float* xs, const int16_t* xbsums, int64_t n,
                   cudaStream_t stream) {
  Targets targets;
  if (n < 1 || n > kMatVecMaxRows || !MakeTargets(weights, count, &targets)) {
    return cudaErrorInvalidValue;
  }
  const Activations x{xq, xd, xs, xbsums, in, static_cast<int>(n)};
  if (!cb::ForBlockFormat<LaunchMatVec>(type, targets, x, false, GatedActivation::kSilu, stream)) {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t MatVecGated(DType type, const void* gate, const void* up, int64_t out, int64_t in,
                        const int8_t* xq, const float* xd, const float* xs, const int16_t* xbsums,
                        int64_t n, GatedActivation act, float* y, cudaStream_t stream) {
  if (n < 1 || n > kMatVecMaxRows || out < 1 || gate == nullptr || up == nullptr) {
    return cudaErrorInvalidValue;
  }
  const Targets targets = GatedTargets(gate, up, out, y);
  const Activations x{xq, xd, xs, xbsums, in, static_cast<int>(n)};
  if (!cb::ForBlockFormat<LaunchMatVec>(type, targets, x, true, act, stream)) {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
