// The element-wise and row-wise ops of the forward pass on the GPU: the CUDA twins of the cpu::
// functions of the same names (kernels/cpu/ops.h), with the same arguments plus the stream.
// cuda::SiluMul is in silu_mul.h, included here so that this header brings the whole set.
//
// Every pointer is a device pointer to row-major f32 (int32 for positions and row indices). Each
// call checks its arguments on the host (it never reads device data), queues its kernel on
// `stream` and returns without waiting; it allocates nothing. kInvalidArgument names the function
// and the argument at fault; empty work (a size of 0) queues nothing and is OK. Launch errors are
// reported here, execution errors by the next synchronization. Results agree with the cpu:: twin
// within the tolerances that tests/gpu/ops_test.cc states and explains.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"
#include "kernels/cuda/silu_mul.h"
#include "kernels/op_params.h"

namespace llmw::cuda {

// out[r] = x[r] / sqrt(mean(x[r]²) + eps) · (weight + w_offset), for `rows` rows of `dim`.
// `out` may be `x`. A per-head norm is the same call on [n · heads, head_dim].
absl::Status RmsNorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim,
                     float eps, float w_offset, cudaStream_t stream);

// out[r] = (x[r] - mean) / sqrt(var + eps) · weight + bias; `bias` may be null (none). `out` may
// be `x`.
absl::Status LayerNorm(float* out, const float* x, const float* weight, const float* bias,
                       int64_t rows, int64_t dim, float eps, cudaStream_t stream);

// cos/sin[r][i] of float(positions[r]) · inv_freq[i] for i < half_rot.
absl::Status RopeAngles(float* cos, float* sin, const int32_t* positions, int64_t rows,
                        const float* inv_freq, int64_t half_rot, cudaStream_t stream);

// Rotates the first `rot_dim` dims of every head of each row of x ([rows, n_heads · head_dim]) in
// place; `cos` and `sin` hold rot_dim/2 angles per row (see RopeAngles). rot_dim is even and at
// most head_dim.
absl::Status Rope(float* x, const float* cos, const float* sin, int64_t rows, int64_t n_heads,
                  int64_t head_dim, int64_t rot_dim, RopePairing pairing, cudaStream_t stream);

// out[i] = gelu_tanh(x[i]) over n elements; `out` may be `x`.
absl::Status GeluTanh(float* out, const float* x, int64_t n, cudaStream_t stream);

// out[i] = gelu_tanh(gate[i]) · up[i] over n elements; `out` may be `gate` or `up`.
absl::Status GeluTanhMul(float* out, const float* gate, const float* up, int64_t n,
                         cudaStream_t stream);

// out[i] = x[i] · scale over n elements; `out` may be `x`.
absl::Status Scale(float* out, const float* x, float scale, int64_t n, cudaStream_t stream);

// x[r][i] += bias[i] for `rows` rows of `width`.
absl::Status AddRowBias(float* x, const float* bias, int64_t rows, int64_t width,
                        cudaStream_t stream);

// out[i] = a[i] + b[i] over n elements; `out` may be `a` or `b`.
absl::Status Add(float* out, const float* a, const float* b, int64_t n, cudaStream_t stream);

// out[i] = x[rows[i]] for n rows of `width`. Unlike the CPU's, `out` must not overlap `x` (the
// rows are copied in parallel); the indices are not checked (they are device data).
absl::Status GatherRows(float* out, const float* x, const int32_t* rows, int64_t n, int64_t width,
                        cudaStream_t stream);

// residual[r] += x[r], then out[r] = RmsNorm(residual[r]) (the RmsNorm above). `out` may be `x`.
// The sums are the CPU's within one ulp, as RmsNorm's; the residual is the CPU's bit for bit.
absl::Status AddRmsNorm(float* out, float* residual, const float* x, const float* weight,
                        int64_t rows, int64_t dim, float eps, float w_offset, cudaStream_t stream);

// residual[r] += x[r], then out[r] = LayerNorm(residual[r]); `bias` may be null. `out` may be `x`.
absl::Status AddLayerNorm(float* out, float* residual, const float* x, const float* weight,
                          const float* bias, int64_t rows, int64_t dim, float eps,
                          cudaStream_t stream);

}  // namespace llmw::cuda
