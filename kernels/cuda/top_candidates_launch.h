// Raw launcher of the sampling-candidates kernel (top_candidates.cu). Free of Abseil so that nvcc
// never parses it; kernels/cuda/top_candidates.h has the checked, Status-returning function.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace llmw::cuda_launch {

// See cuda::TopCandidates. Requires rows in (0, 2^31), vocab in (0, 2^31), top_n in [1, vocab]
// and scratch_bytes >= 0 (else cudaErrorInvalidValue); `scratch` may be null.
cudaError_t TopCandidates(int32_t* top_ids, float* top_values, float* extra_values,
                          const float* logits, int64_t rows, int64_t vocab, int64_t top_n,
                          const int32_t* extra_ids, const int32_t* extra_offsets, void* scratch,
                          int64_t scratch_bytes, cudaStream_t stream);

}  // namespace llmw::cuda_launch
