// Raw launchers of the element-wise and row-wise kernels (norms.cu, rope.cu, activations.cu,
// rows.cu): the cuda:: ops of ops.h without their argument checks. Free of Abseil so that nvcc
// never parses it. Each queues one kernel on `stream` and returns the launch error, if any; the
// sizes are those of the cuda:: twin and are > 0 (ops.h returns early on empty work).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace llmw::cuda_launch {

cudaError_t RmsNormF32(float* out, const float* x, const float* weight, int64_t rows, int64_t dim,
                       float eps, float w_offset, cudaStream_t stream);

// `bias` may be null (no bias).
cudaError_t LayerNormF32(float* out, const float* x, const float* weight, const float* bias,
                         int64_t rows, int64_t dim, float eps, cudaStream_t stream);

cudaError_t RopeAnglesF32(float* cos, float* sin, const int32_t* positions, int64_t rows,
                          const float* inv_freq, int64_t half_rot, cudaStream_t stream);

// Pairs (x[i], x[i + rot_dim/2]) when `rotate_half`, else (x[2i], x[2i+1]).
cudaError_t RopeF32(float* x, const float* cos, const float* sin, int64_t rows, int64_t n_heads,
                    int64_t head_dim, int64_t rot_dim, bool rotate_half, cudaStream_t stream);

cudaError_t GeluTanhF32(float* out, const float* x, int64_t n, cudaStream_t stream);

cudaError_t GeluTanhMulF32(float* out, const float* gate, const float* up, int64_t n,
                           cudaStream_t stream);

cudaError_t ScaleF32(float* out, const float* x, float scale, int64_t n, cudaStream_t stream);

cudaError_t AddRowBiasF32(float* x, const float* bias, int64_t rows, int64_t width,
                          cudaStream_t stream);

cudaError_t AddF32(float* out, const float* a, const float* b, int64_t n, cudaStream_t stream);

cudaError_t GatherRowsF32(float* out, const float* x, const int32_t* rows, int64_t n, int64_t width,
                          cudaStream_t stream);

cudaError_t AddRmsNormF32(float* out, float* residual, const float* x, const float* weight,
                          int64_t rows, int64_t dim, float eps, float w_offset,
                          cudaStream_t stream);

// `bias` may be null (no bias).
cudaError_t AddLayerNormF32(float* out, float* residual, const float* x, const float* weight,
                            const float* bias, int64_t rows, int64_t dim, float eps,
                            cudaStream_t stream);

}  // namespace llmw::cuda_launch
