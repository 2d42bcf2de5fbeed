// The token-mask kernel: one block row per logit row, threads striding over the vocabulary.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/mask_logits_launch.h"

namespace llmw::cuda_launch {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocksPerRow = 64;

__global__ void MaskLogitsKernel(float* logits, int64_t vocab, const uint32_t* allowed,
                                 const int32_t* mask_offsets) {
  const int32_t offset = mask_offsets[blockIdx.y];
  if (offset < 0) return;
  float* row = logits + static_cast<int64_t>(blockIdx.y) * vocab;
  const uint32_t* bits = allowed + offset;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < vocab;
       v += stride) {
    if (!((bits[v >> 5] >> (v & 31)) & 1u)) row[v] = -INFINITY;
  }
}

}  // namespace

cudaError_t MaskLogits(float* logits, int64_t rows, int64_t vocab, const uint32_t* allowed,
                       const int32_t* mask_offsets, cudaStream_t stream) {
  if (rows <= 0 || rows > 65535 || vocab <= 0 || vocab > INT32_MAX) return cudaErrorInvalidValue;
  const int64_t blocks = std::min<int64_t>((vocab + kThreads - 1) / kThreads, kMaxBlocksPerRow);
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(rows));
  MaskLogitsKernel<<<grid, kThreads, 0, stream>>>(logits, vocab, allowed, mask_offsets);
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
