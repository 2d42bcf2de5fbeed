// cuda::MatmulGated: a gated MLP's first half, out = act(x · W_gateᵀ) · (x · W_upᵀ), on the GPU.
// The op Backend::MatmulGated runs on CUDA. Up to kMatVecMaxRows rows it is one launch
// (cuda::MatvecGated, whose products are cuda::Matmul's bit for bit); beyond, the two cuda::Matmul
// calls followed by cuda::SiluMul or cuda::GeluTanhMul (kernels/cuda/matmul.h, ops.h). Either way
// its twin is that sequence.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"
#include "kernels/cuda/matmul.h"
#include "kernels/op_params.h"
#include "kernels/tensor.h"

namespace llmw::cuda {

// w_gate and w_up are device Tensors [ffn, in] of any dtype cuda::Matmul takes; x [n, in], out
// and up [n, ffn] are f32 device arrays. `up` is scratch: its contents are undefined afterwards.
// `out` must not overlap x.
absl::Status MatmulGated(const Tensor& w_gate, const Tensor& w_up, GatedActivation act,
                         const float* x, int64_t n, float* out, float* up, MatmulScratch& scratch,
                         cublasHandle_t cublas, cudaStream_t stream);

}  // namespace llmw::cuda
