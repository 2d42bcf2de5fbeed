// Element-wise activations and arithmetic on the GPU: GELU (tanh form), GeGLU, scaling and sums.
// One thread per element; no __restrict__, since `out` may alias an input (each element is read
// before the same thread writes it).
//
// The float arithmetic is the CPU's operation for operation (this file is built without FMA
// contraction, like the CPU kernels), so Scale and Add are bitwise equal to cpu::Scale and
// cpu::Add and the GELU forms differ from the CPU's only through tanhf (2 ulp here).
#include "kernels/cuda/for_each_index.cuh"
#include "kernels/cuda/ops_launch.h"

namespace llmw::cuda_launch {
namespace {

// 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))), written as cpu::GeluTanh writes it.
__device__ float GeluTanhOf(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

struct GeluTanhOp {
  float* out;
  const float* x;
  __device__ void operator()(int64_t i) const { out[i] = GeluTanhOf(x[i]); }
};

struct GeluTanhMulOp {
  float* out;
  const float* gate;
  const float* up;
  __device__ void operator()(int64_t i) const { out[i] = GeluTanhOf(gate[i]) * up[i]; }
};

struct ScaleOp {
  float* out;
  const float* x;
  float scale;
  __device__ void operator()(int64_t i) const { out[i] = x[i] * scale; }
};

struct AddOp {
  float* out;
  const float* a;
  const float* b;
  __device__ void operator()(int64_t i) const { out[i] = a[i] + b[i]; }
};

}  // namespace

cudaError_t GeluTanhF32(float* out, const float* x, int64_t n, cudaStream_t stream) {
  return ForEachIndex(n, GeluTanhOp{out, x}, stream);
}

cudaError_t GeluTanhMulF32(float* out, const float* gate, const float* up, int64_t n,
                           cudaStream_t stream) {
  return ForEachIndex(n, GeluTanhMulOp{out, gate, up}, stream);
}

cudaError_t ScaleF32(float* out, const float* x, float scale, int64_t n, cudaStream_t stream) {
  return ForEachIndex(n, ScaleOp{out, x, scale}, stream);
}

cudaError_t AddF32(float* out, const float* a, const float* b, int64_t n, cudaStream_t stream) {
  return ForEachIndex(n, AddOp{out, a, b}, stream);
}

}  // namespace llmw::cuda_launch
