// Raw launcher of the token-mask kernel (mask_logits.cu). Free of Abseil so that nvcc never parses
// it; kernels/cuda/mask_logits.h has the checked, Status-returning function.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace llmw::cuda_launch {

// See cuda::MaskLogits. Requires rows in (0, 65535] and vocab in (0, 2^31).
cudaError_t MaskLogits(float* logits, int64_t rows, int64_t vocab, const uint32_t* allowed,
                       const int32_t* mask_offsets, cudaStream_t stream);

}  // namespace llmw::cuda_launch
