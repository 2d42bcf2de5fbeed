// RMSNorm and LayerNorm on the GPU, alone or after the residual add they follow in a forward pass
// (AddRmsNorm, AddLayerNorm: 16-byte loads where the rows allow): one block per row, the row's
// sums reduced across the block.
//
// The sums accumulate in double, as cpu::RmsNorm and cpu::LayerNorm do, and everything after them
// is the CPU's float arithmetic operation for operation (this file is built without FMA
// contraction, like the CPU kernels). The only difference left is the order of the double
// additions; it changes the double sum by far less than a float ulp, so the float mean and scale
// equal the CPU's except when the sum lies next to a rounding boundary, and then by one ulp.
#include <algorithm>
#include <cstdint>
#include <initializer_list>

#include "kernels/cuda/ops_launch.h"

namespace llmw::cuda_launch {
namespace {

constexpr int kWarp = 32;
constexpr int kMaxThreads = 512;
// Rows beyond this many blocks are taken by the same blocks in a second pass.
constexpr int64_t kMaxBlocks = 65535;

__device__ double WarpSum(double v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    v += __shfl_down_sync(0xffffffffu, v, offset);
  }
  return v;
}

// The sum of every thread's `v`, returned to all threads of the block (blockDim.x a multiple of
// 32). Ends on a barrier so that the next call may reuse the shared memory.
__device__ double BlockSum(double v) {
  __shared__ double warp_sums[kMaxThreads / kWarp];
  __shared__ double total;
  const int lane = threadIdx.x % kWarp;
  const int warp = threadIdx.x / kWarp;
  v = WarpSum(v);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < static_cast<int>(blockDim.x) / kWarp ? warp_sums[lane] : 0.0;
    v = WarpSum(v);
    if (lane == 0) total = v;
  }
  __syncthreads();
  const double sum = total;
  __syncthreads();
  return sum;
}

// Each thread reads and writes only the elements i ≡ threadIdx.x (mod blockDim.x) of its row, and
// reads them before writing them, so `out` may be `x`.
__global__ void RmsNormKernel(float* out, const float* x, const float* weight, int64_t rows,
                              int64_t dim, float eps, float w_offset) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * dim;
    float* yr = out + r * dim;
    double sum_sq = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      sum_sq += static_cast<double>(xr[i]) * xr[i];
    }
    sum_sq = BlockSum(sum_sq);
    const float scale = 1.0f / sqrtf(static_cast<float>(sum_sq / dim) + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float w = w_offset == 0.0f ? weight[i] : weight[i] + w_offset;
      yr[i] = xr[i] * scale * w;
    }
  }
}

__global__ void LayerNormKernel(float* out, const float* x, const float* weight, const float* bias,
                                int64_t rows, int64_t dim, float eps) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * dim;
    float* yr = out + r * dim;
    double sum = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += xr[i];
    const float mean = static_cast<float>(BlockSum(sum) / dim);
    double var = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float d = xr[i] - mean;
      var += static_cast<double>(d) * d;
    }
    var = BlockSum(var);
    const float scale = 1.0f / sqrtf(static_cast<float>(var / dim) + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      yr[i] = (xr[i] - mean) * scale * weight[i] + (bias != nullptr ? bias[i] : 0.0f);
    }
  }
}

// kN consecutive floats, loaded and stored as one access (16 bytes for kN = 4).
template <int kN>
struct alignas(4 * kN) Floats {
  float v[kN];
};

// The fused residual add of AddRmsNorm and AddLayerNorm: residual[r] += x[r] over groups of kN
// elements; each thread takes the groups g ≡ threadIdx.x (mod blockDim.x) and returns the double
// sum of its new residuals (squared when `squares`). A thread later reads back only the groups it
// wrote, so no barrier is needed before that.
template <int kN>
__device__ double AddResidual(Floats<kN>* residual, const Floats<kN>* x, int64_t groups,
                              bool squares) {
  double sum = 0;
  for (int64_t g = threadIdx.x; g < groups; g += blockDim.x) {
    Floats<kN> s = residual[g];
    const Floats<kN> a = x[g];
    for (int j = 0; j < kN; ++j) {
      s.v[j] = s.v[j] + a.v[j];
      sum += squares ? static_cast<double>(s.v[j]) * s.v[j] : s.v[j];
    }
    residual[g] = s;
  }
  return sum;
}

// residual[r] += x[r], then out[r] = RmsNorm(residual[r]), kN elements per access. Each thread
// reads x's elements before it writes out's, and only its own groups, so `out` may be `x`.
template <int kN>
__global__ void AddRmsNormKernel(float* out, float* residual, const float* x, const float* weight,
                                 int64_t rows, int64_t dim, float eps, float w_offset) {
  using V = Floats<kN>;
  const int64_t groups = dim / kN;
  const V* w = reinterpret_cast<const V*>(weight);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    V* res = reinterpret_cast<V*>(residual + r * dim);
    V* y = reinterpret_cast<V*>(out + r * dim);
    const double sum_sq =
        BlockSum(AddResidual(res, reinterpret_cast<const V*>(x + r * dim), groups, true));
    const float scale = 1.0f / sqrtf(static_cast<float>(sum_sq / dim) + eps);
    for (int64_t g = threadIdx.x; g < groups; g += blockDim.x) {
      const V s = res[g], wg = w[g];
      V o;
      for (int j = 0; j < kN; ++j) {
        const float wj = w_offset == 0.0f ? wg.v[j] : wg.v[j] + w_offset;
        o.v[j] = s.v[j] * scale * wj;
      }
      y[g] = o;
    }
  }
}

// residual[r] += x[r], then out[r] = LayerNorm(residual[r]); as AddRmsNormKernel.
template <int kN>
__global__ void AddLayerNormKernel(float* out, float* residual, const float* x, const float* weight,
                                   const float* bias, int64_t rows, int64_t dim, float eps) {
  using V = Floats<kN>;
  const int64_t groups = dim / kN;
  const V* w = reinterpret_cast<const V*>(weight);
  const V* b = reinterpret_cast<const V*>(bias);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    V* res = reinterpret_cast<V*>(residual + r * dim);
    V* y = reinterpret_cast<V*>(out + r * dim);
    const double sum =
        BlockSum(AddResidual(res, reinterpret_cast<const V*>(x + r * dim), groups, false));
    const float mean = static_cast<float>(sum / dim);
    double var = 0;
    for (int64_t g = threadIdx.x; g < groups; g += blockDim.x) {
      const V s = res[g];
      for (int j = 0; j < kN; ++j) {
        const float d = s.v[j] - mean;
        var += static_cast<double>(d) * d;
      }
    }
    var = BlockSum(var);
    const float scale = 1.0f / sqrtf(static_cast<float>(var / dim) + eps);
    for (int64_t g = threadIdx.x; g < groups; g += blockDim.x) {
      const V s = res[g], wg = w[g];
      V o;
      for (int j = 0; j < kN; ++j) {
        o.v[j] = (s.v[j] - mean) * scale * wg.v[j] + (b != nullptr ? b[g].v[j] : 0.0f);
      }
      y[g] = o;
    }
  }
}

// Whether rows of `dim` floats at these pointers can be read 4 at a time (16-byte aligned).
bool Vectorizable(int64_t dim, std::initializer_list<const void*> pointers) {
  if (dim % 4 != 0) return false;
  for (const void* p : pointers) {
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  }
  return true;
}

// A warp per 32 elements of the row, up to kMaxThreads; longer rows loop.
unsigned ThreadsFor(int64_t dim) {
  return static_cast<unsigned>(std::min<int64_t>((dim + kWarp - 1) / kWarp * kWarp, kMaxThreads));
}

unsigned BlocksFor(int64_t rows) { return static_cast<unsigned>(std::min(rows, kMaxBlocks)); }

}  // namespace

cudaError_t RmsNormF32(float* out, const float* x, const float* weight, int64_t rows, int64_t dim,
                       float eps, float w_offset, cudaStream_t stream) {
  RmsNormKernel<<<BlocksFor(rows), ThreadsFor(dim), 0, stream>>>(out, x, weight, rows, dim, eps,
                                                                 w_offset);
  return cudaGetLastError();
}

cudaError_t LayerNormF32(float* out, const float* x, const float* weight, const float* bias,
                         int64_t rows, int64_t dim, float eps, cudaStream_t stream) {
  LayerNormKernel<<<BlocksFor(rows), ThreadsFor(dim), 0, stream>>>(out, x, weight, bias, rows, dim,
                                                                   eps);
  return cudaGetLastError();
}

cudaError_t AddRmsNormF32(float* out, float* residual, const float* x, const float* weight,
                          int64_t rows, int64_t dim, float eps, float w_offset,
                          cudaStream_t stream) {
  if (Vectorizable(dim, {out, residual, x, weight})) {
    AddRmsNormKernel<4><<<BlocksFor(rows), ThreadsFor(dim / 4), 0, stream>>>(
        out, residual, x, weight, rows, dim, eps, w_offset);
  } else {
    AddRmsNormKernel<1><<<BlocksFor(rows), ThreadsFor(dim), 0, stream>>>(out, residual, x, weight,
                                                                         rows, dim, eps, w_offset);
  }
  return cudaGetLastError();
}

cudaError_t AddLayerNormF32(float* out, float* residual, const float* x, const float* weight,
                            const float* bias, int64_t rows, int64_t dim, float eps,
                            cudaStream_t stream) {
  if (Vectorizable(dim, {out, residual, x, weight, bias})) {
    AddLayerNormKernel<4><<<BlocksFor(rows), ThreadsFor(dim / 4), 0, stream>>>(
        out, residual, x, weight, bias, rows, dim, eps);
  } else {
    AddLayerNormKernel<1><<<BlocksFor(rows), ThreadsFor(dim), 0, stream>>>(out, residual, x, weight,
                                                                           bias, rows, dim, eps);
  }
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
