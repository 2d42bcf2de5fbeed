// The mat-vec of float weights (f32, f16, bf16) for few activation rows (n <= kMatVecMaxRows):
// one warp per weight row, four rows per thread block, each lane reading 16 bytes of weights at a
// time (a warp's loads cover 512 contiguous bytes, its whole row asked of L2 first) and using them
// for every activation row. Up to four weights per launch, or a gate and an up weight whose
// products meet in the gated activation. cuBLAS (matmul.cc) takes more rows.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/cuda/matmul_launch.h"
#include "kernels/cuda/matvec_common.cuh"

namespace llmw::cuda_launch {
namespace {

using namespace matvec;  // NOLINT: the shared pieces of the mat-vec kernels

template <DType T>
struct Float;
template <>
struct Float<DType::kF32> {
  using Elem = float;
  __device__ static float At(const void* row, int64_t i) {
    return static_cast<const float*>(row)[i];
  }
};
template <>
struct Float<DType::kF16> {
  using Elem = uint16_t;
  __device__ static float Of(uint16_t h) { return __half2float(__ushort_as_half(h)); }
  __device__ static float At(const void* row, int64_t i) {
    return Of(static_cast<const uint16_t*>(row)[i]);
  }
};
template <>
struct Float<DType::kBF16> {
  using Elem = uint16_t;
  __device__ static float Of(uint16_t h) { return __uint_as_float(static_cast<uint32_t>(h) << 16); }
  __device__ static float At(const void* row, int64_t i) {
    return Of(static_cast<const uint16_t*>(row)[i]);
  }
};

// The weights in 16 bytes at p (16-byte aligned), as f32.
template <DType T>
__device__ void Load16Bytes(const uint8_t* p, float w[16 / sizeof(typename Float<T>::Elem)]) {
  const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
  const uint32_t words[4] = {v.x, v.y, v.z, v.w};
  for (int k = 0; k < 4; ++k) {
    if constexpr (T == DType::kF32) {
      w[k] = __uint_as_float(words[k]);
    } else {
      w[2 * k] = Float<T>::Of(static_cast<uint16_t>(words[k] & 0xffffu));
      w[2 * k + 1] = Float<T>::Of(static_cast<uint16_t>(words[k] >> 16));
    }
  }
}

// acc[r] = row · activation row r, for r < n, on every lane.
template <DType T, bool kVector>
__device__ void RowDot(const uint8_t* row, const float* x, int64_t in, int n, int lane,
                       float acc[kMaxRows]) {
  using Elem = typename Float<T>::Elem;
#pragma unroll
  for (int r = 0; r < kMaxRows; ++r) acc[r] = 0.0f;
  if constexpr (kVector) {
    constexpr int kPer = 16 / sizeof(Elem);  // weights per 16-byte load
#pragma unroll 4
    for (int64_t i = lane * kPer; i < in; i += 32 * kPer) {
      float w[kPer];
      Load16Bytes<T>(row + i * sizeof(Elem), w);
#pragma unroll
      for (int r = 0; r < kMaxRows; ++r) {
        if (r < n) {
          const float4* xr = reinterpret_cast<const float4*>(x + r * in + i);
#pragma unroll
          for (int q = 0; q < kPer / 4; ++q) {
            const float4 v = xr[q];
            acc[r] = fmaf(w[4 * q], v.x, acc[r]);
            acc[r] = fmaf(w[4 * q + 1], v.y, acc[r]);
            acc[r] = fmaf(w[4 * q + 2], v.z, acc[r]);
            acc[r] = fmaf(w[4 * q + 3], v.w, acc[r]);
          }
        }
      }
    }
  } else {
    for (int64_t i = lane; i < in; i += 32) {
      const float w = Float<T>::At(row, i);
#pragma unroll
      for (int r = 0; r < kMaxRows; ++r) {
        if (r < n) acc[r] = fmaf(w, x[r * in + i], acc[r]);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kMaxRows; ++r) {
    if (r >= n) break;  // the same n on every lane
    for (int offset = 16; offset > 0; offset /= 2) {
      acc[r] += __shfl_xor_sync(kAllLanes, acc[r], offset);
    }
  }
}

template <DType T, bool kVector>
__global__ void __launch_bounds__(kWarps * 32)
    GemvKernel(Targets targets, const float* x, int64_t in, int n, bool gated, GatedActivation act) {
  const int lane = threadIdx.x % 32;
  int64_t o = 0;
  const int k = WarpRow(targets, &o);
  const int64_t out = targets.out[k];
  if (o >= out) return;  // the whole warp: only warp-level synchronization follows
  const int64_t row_bytes = in * static_cast<int64_t>(sizeof(typename Float<T>::Elem));
  PrefetchRow(targets.w[k] + o * row_bytes, row_bytes, lane);
  if (gated) PrefetchRow(targets.w[1] + o * row_bytes, row_bytes, lane);
  float acc[kMaxRows];
  RowDot<T, kVector>(targets.w[k] + o * row_bytes, x, in, n, lane, acc);
  if (gated) {
    float up[kMaxRows];
    RowDot<T, kVector>(targets.w[1] + o * row_bytes, x, in, n, lane, up);
#pragma unroll
    for (int r = 0; r < kMaxRows; ++r) acc[r] = Gated(act, acc[r], up[r]);
  }
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < kMaxRows; ++r) {
      if (r < n) targets.y[k][r * out + o] = acc[r];
    }
  }
}

template <DType T>
cudaError_t Launch(const Targets& targets, const float* x, int64_t in, int64_t n, bool gated,
                   GatedActivation act, cudaStream_t stream) {
  const int64_t row_bytes = in * static_cast<int64_t>(sizeof(typename Float<T>::Elem));
  // 16-byte loads of weights and of activation rows (in % 4 == 0 follows from row_bytes % 16).
  const bool vector = RowsAligned(targets, gated, row_bytes, 16) && in % 4 == 0 &&
                      reinterpret_cast<uintptr_t>(x) % 16 == 0;
  const unsigned grid = static_cast<unsigned>(targets.first_block[targets.count]);
  const int rows = static_cast<int>(n);
  if (vector) {
    GemvKernel<T, true><<<grid, kWarps * 32, 0, stream>>>(targets, x, in, rows, gated, act);
  } else {
    GemvKernel<T, false><<<grid, kWarps * 32, 0, stream>>>(targets, x, in, rows, gated, act);
  }
  return cudaGetLastError();
}

cudaError_t Dispatch(DType type, const Targets& targets, const float* x, int64_t in, int64_t n,
                     bool gated, GatedActivation act, cudaStream_t stream) {
  if (n < 1 || n > kMatVecMaxRows || in < 1 || x == nullptr) return cudaErrorInvalidValue;
  switch (type) {
    case DType::kF32:
      return Launch<DType::kF32>(targets, x, in, n, gated, act, stream);
    case DType::kF16:
      return Launch<DType::kF16>(targets, x, in, n, gated, act, stream);
    case DType::kBF16:
      return Launch<DType::kBF16>(targets, x, in, n, gated, act, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace

cudaError_t Gemv(DType type, const MatVecWeight* weights, int count, int64_t in, const float* x,
                 int64_t n, cudaStream_t stream) {
  Targets targets;
  if (!MakeTargets(weights, count, &targets)) return cudaErrorInvalidValue;
  return Dispatch(type, targets, x, in, n, false, GatedActivation::kSilu, stream);
}

cudaError_t GemvGated(DType type, const void* gate, const void* up, int64_t out, int64_t in,
                      const float* x, int64_t n, GatedActivation act, float* y,
                      cudaStream_t stream) {
  if (gate == nullptr || up == nullptr || y == nullptr || out < 1) return cudaErrorInvalidValue;
  return Dispatch(type, GatedTargets(gate, up, out, y), x, in, n, true, act, stream);
}

}  // namespace llmw::cuda_launch
