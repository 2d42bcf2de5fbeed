// Block-format weight rows rewritten in place into the device layout of repacked_layout.h: one
// thread block per row, the row staged in shared memory, then written back regrouped.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/matmul_launch.h"
#include "kernels/cuda/repacked_layout.h"

namespace llmw::cuda_launch {
namespace {

namespace cb = cuda_blocks;

constexpr int kThreads = 256;
constexpr int64_t kMaxGrid = 4096;

// Every field of every block format starts on an even byte and has an even length, so the row
// moves in 16-bit halves.
__global__ void RepackRowsKernel(uint8_t* w, int64_t rows, int64_t row_bytes, cb::BlockSplit split,
                                 int64_t nb) {
  extern __shared__ uint16_t staged[];
  const int64_t halves = row_bytes / 2;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    uint16_t* row = reinterpret_cast<uint16_t*>(w + r * row_bytes);
    for (int64_t h = threadIdx.x; h < halves; h += blockDim.x) staged[h] = row[h];
    __syncthreads();
    for (int64_t h = threadIdx.x; h < halves; h += blockDim.x) {
      row[h] = staged[cb::RepackedSourceOffset(split, nb, 2 * h) / 2];
    }
    __syncthreads();  // the next row overwrites the staged one
  }
}

}  // namespace

cudaError_t RepackRows(DType type, void* w, int64_t rows, int64_t in, cudaStream_t stream) {
  const cb::BlockSplit split = cb::SplitOf(type);
  if (split.quants_bytes == 0 || in < 0 || in % Traits(type).block_elems != 0 || rows < 0 ||
      reinterpret_cast<uintptr_t>(w) % 2 != 0) {
    return cudaErrorInvalidValue;
  }
  const int64_t row_bytes = RowBytes(type, in);
  if (rows == 0 || row_bytes == 0) return cudaSuccess;
  const int64_t nb = row_bytes / split.block_bytes;
  int device = 0, max_shared = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e == cudaSuccess) {
    e = cudaDeviceGetAttribute(&max_shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  }
  if (e != cudaSuccess) return e;
  if (row_bytes > max_shared) return cudaErrorInvalidValue;
  if (row_bytes > 48 * 1024) {
    e = cudaFuncSetAttribute(RepackRowsKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(row_bytes));
    if (e != cudaSuccess) return e;
  }
  const unsigned grid = static_cast<unsigned>(std::min(rows, kMaxGrid));
  RepackRowsKernel<<<grid, kThreads, static_cast<size_t>(row_bytes), stream>>>(
      static_cast<uint8_t*>(w), rows, row_bytes, split, nb);
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
