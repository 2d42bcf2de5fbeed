// The SwiGLU activation of llama-style MLPs on the GPU: out = silu(gate) * up, element-wise, f32.
#include <algorithm>

#include "kernels/cuda/launchers.h"

namespace llmw::cuda_launch {
namespace {

constexpr int kThreads = 256;
// Enough blocks to fill any current GPU several times over; larger inputs loop in-kernel.
constexpr int64_t kMaxBlocks = 4096;

// silu(x) = x * sigmoid(x) = x / (1 + e^-x). Accurate expf and IEEE division (no fast-math), so
// results stay within a few ulp of the CPU reference. For x → -inf, e^-x overflows to inf and
// the quotient is -0, the correct limit.
// No __restrict__: `out` may alias `gate` or `up`.
__global__ void SiluMulKernel(float* out, const float* gate, const float* up, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

}  // namespace

cudaError_t SiluMulF32(float* out, const float* gate, const float* up, int64_t n,
                       cudaStream_t stream) {
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks);
  SiluMulKernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(out, gate, up, n);
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
