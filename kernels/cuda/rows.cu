// Row-wise copies and sums on the GPU: a bias added to every row, and rows gathered by index.
// One thread per element; both are exact (a copy, one IEEE addition), so they equal the CPU's.
#include "kernels/cuda/for_each_index.cuh"
#include "kernels/cuda/ops_launch.h"

namespace llmw::cuda_launch {
namespace {

struct AddRowBiasOp {
  float* x;
  const float* bias;
  int64_t width;
  __device__ void operator()(int64_t k) const { x[k] += bias[k % width]; }
};

struct GatherRowsOp {
  float* out;
  const float* x;
  const int32_t* rows;
  int64_t width;
  __device__ void operator()(int64_t k) const {
    const int64_t i = k / width;
    out[k] = x[static_cast<int64_t>(rows[i]) * width + (k - i * width)];
  }
};

}  // namespace

cudaError_t AddRowBiasF32(float* x, const float* bias, int64_t rows, int64_t width,
                          cudaStream_t stream) {
  return ForEachIndex(rows * width, AddRowBiasOp{x, bias, width}, stream);
}

cudaError_t GatherRowsF32(float* out, const float* x, const int32_t* rows, int64_t n, int64_t width,
                          cudaStream_t stream) {
  return ForEachIndex(n * width, GatherRowsOp{out, x, rows, width}, stream);
}

}  // namespace llmw::cuda_launch
