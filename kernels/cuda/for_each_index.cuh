// The launch shape of the kernels that give each task (an output element, a pair, a block of
// weights) its own thread: op(i) for every i < n, on a grid-stride loop so that one bounded grid
// covers any n. For .cu files.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>

namespace llmw::cuda_launch {

inline constexpr int kForEachThreads = 256;
// Enough blocks to fill any current GPU several times over; larger n loop inside the kernel.
inline constexpr int64_t kForEachMaxBlocks = 4096;

template <typename Op>
__global__ void ForEachIndexKernel(int64_t n, Op op) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    op(i);
  }
}

// Blocks of kForEachThreads threads for n tasks on a grid-stride loop: one per kForEachThreads
// tasks, at most kForEachMaxBlocks.
inline unsigned ForEachBlocks(int64_t n) {
  return static_cast<unsigned>(
      std::min<int64_t>((n + kForEachThreads - 1) / kForEachThreads, kForEachMaxBlocks));
}

// Queues op(i) for i < n (n > 0) on `stream`; returns the launch error, if any.
template <typename Op>
cudaError_t ForEachIndex(int64_t n, const Op& op, cudaStream_t stream) {
  ForEachIndexKernel<<<ForEachBlocks(n), kForEachThreads, 0, stream>>>(n, op);
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
