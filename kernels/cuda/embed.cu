// Embedding lookup: rows of a table in any weight dtype, dequantized to f32 exactly as
// DequantizeRow does and scaled as cpu::Embed does, so the results equal the CPU's bit for bit.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/block_formats.cuh"
#include "kernels/cuda/for_each_index.cuh"
#include "kernels/cuda/matmul_launch.h"

namespace llmw::cuda_launch {
namespace {

namespace cb = cuda_blocks;

// Tokens outside the table read nothing and come out as NaN rows.
__device__ bool InTable(int32_t token, int64_t vocab) { return token >= 0 && token < vocab; }

__device__ float Scaled(float v, float scale) {
  return scale != 1.0f ? cb::MulRn(v, scale) : v;  // cpu::Embed scales only when scale != 1
}

// Block formats: one thread per chunk of 32 weights of one output row.
template <DType T>
__global__ void EmbedBlocksKernel(float* out, const uint8_t* table, int64_t row_bytes,
                                  int64_t vocab, int64_t width, const int32_t* tokens, int64_t n,
                                  float scale) {
  const int64_t chunks = width / 32;
  for (int64_t task = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       task < n * chunks; task += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = task / chunks, c = task % chunks;
    const int32_t token = tokens[t];
    float* o = out + t * width + 32 * c;
    if (!InTable(token, vocab)) {
      for (int i = 0; i < 32; ++i) o[i] = __int_as_float(0x7fc00000);
      continue;
    }
    cb::Chunk chunk;
    cb::DecodeChunk<T>(table + token * row_bytes, chunks / cb::Format<T>::kChunks, c, &chunk);
    for (int i = 0; i < 32; ++i) o[i] = Scaled(cb::ChunkValue<T>(chunk, i), scale);
  }
}

template <DType T>
struct LaunchEmbed {
  static void Run(float* out, const void* table, int64_t vocab, int64_t width,
                  const int32_t* tokens, int64_t n, float scale, cudaStream_t stream) {
    EmbedBlocksKernel<T><<<ForEachBlocks(n * (width / 32)), kForEachThreads, 0, stream>>>(
        out, static_cast<const uint8_t*>(table), RowBytes(T, width), vocab, width, tokens, n,
        scale);
  }
};

// Float tables: one thread per element.
__global__ void EmbedFloatsKernel(float* out, DType type, const void* table, int64_t vocab,
                                  int64_t width, const int32_t* tokens, int64_t n, float scale) {
  for (int64_t task = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; task < n * width;
       task += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = task / width, i = task % width;
    const int32_t token = tokens[t];
    if (!InTable(token, vocab)) {
      out[task] = __int_as_float(0x7fc00000);
      continue;
    }
    const int64_t at = token * width + i;
    float v;
    if (type == DType::kF32) {
      v = static_cast<const float*>(table)[at];
    } else if (type == DType::kF16) {
      v = cb::HalfToFloat(static_cast<const uint16_t*>(table)[at]);
    } else {
      v = cb::BFloatToFloat(static_cast<const uint16_t*>(table)[at]);
    }
    out[task] = Scaled(v, scale);
  }
}

}  // namespace

cudaError_t Embed(float* out, DType type, const void* table, int64_t vocab, int64_t width,
                  const int32_t* tokens, int64_t n, float scale, cudaStream_t stream) {
  if (n * width == 0) return cudaSuccess;
  if (type == DType::kF32 || type == DType::kF16 || type == DType::kBF16) {
    EmbedFloatsKernel<<<ForEachBlocks(n * width), kForEachThreads, 0, stream>>>(
        out, type, table, vocab, width, tokens, n, scale);
  } else if (!cb::ForBlockFormat<LaunchEmbed>(type, out, table, vocab, width, tokens, n, scale,
                                              stream)) {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
