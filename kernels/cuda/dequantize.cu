// Conversions feeding the cuBLAS GEMMs: block-format weight rows dequantized to bf16 (each value
// DequantizeRow's f32, rounded to nearest even) and f32 activations rounded to bf16 or fp16.
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/block_formats.cuh"
#include "kernels/cuda/for_each_index.cuh"
#include "kernels/cuda/matmul_launch.h"

namespace llmw::cuda_launch {
namespace {

namespace cb = cuda_blocks;

// One thread per chunk of 32 weights; dst rows are `in` bf16 values, 64-byte aligned chunks.
template <DType T>
__global__ void DequantizeToBf16Kernel(const uint8_t* w, int64_t row_bytes, int64_t rows,
                                       int64_t chunks_per_row, uint16_t* dst) {
  const int64_t total = rows * chunks_per_row;
  for (int64_t task = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; task < total;
       task += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = task / chunks_per_row, c = task % chunks_per_row;
    cb::Chunk chunk;
    cb::DecodeChunk<T>(w + r * row_bytes, chunks_per_row / cb::Format<T>::kChunks, c, &chunk);
    uint32_t packed[16];
    for (int i = 0; i < 16; ++i) {
      packed[i] = cb::FloatToBFloat(cb::ChunkValue<T>(chunk, 2 * i)) |
                  static_cast<uint32_t>(cb::FloatToBFloat(cb::ChunkValue<T>(chunk, 2 * i + 1)))
                      << 16;
    }
    uint4* out = reinterpret_cast<uint4*>(dst + task * 32);  // row r, chunk c: r · in + 32 c
    for (int i = 0; i < 4; ++i) {
      out[i] = make_uint4(packed[4 * i], packed[4 * i + 1], packed[4 * i + 2], packed[4 * i + 3]);
    }
  }
}

template <DType T>
struct LaunchDequantize {
  static void Run(const void* w, int64_t rows, int64_t in, uint16_t* dst, cudaStream_t stream) {
    const int64_t chunks_per_row = in / 32;
    DequantizeToBf16Kernel<T><<<ForEachBlocks(rows * chunks_per_row), kForEachThreads, 0, stream>>>(
        static_cast<const uint8_t*>(w), RowBytes(T, in), rows, chunks_per_row, dst);
  }
};

__global__ void F32ToBf16Kernel(const float* x, int64_t count, uint16_t* dst) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[i] = cb::FloatToBFloat(x[i]);
  }
}

__global__ void F32ToF16Kernel(const float* x, int64_t count, uint16_t* dst) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[i] = __half_as_ushort(__float2half_rn(x[i]));
  }
}

}  // namespace

cudaError_t DequantizeToBf16(DType type, const void* w, int64_t rows, int64_t in, uint16_t* dst,
                             cudaStream_t stream) {
  if (rows * in == 0) return cudaSuccess;
  if (!cb::ForBlockFormat<LaunchDequantize>(type, w, rows, in, dst, stream)) {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t ConvertF32(const float* x, int64_t count, DType to, uint16_t* dst,
                       cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  if (to == DType::kBF16) {
    F32ToBf16Kernel<<<ForEachBlocks(count), kForEachThreads, 0, stream>>>(x, count, dst);
  } else if (to == DType::kF16) {
    F32ToF16Kernel<<<ForEachBlocks(count), kForEachThreads, 0, stream>>>(x, count, dst);
  } else {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
