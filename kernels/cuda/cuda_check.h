// Turns CUDA runtime and cuBLAS error codes into absl::Status, so CUDA failures travel the same
// way as every other error in the project.
//
//   LLMW_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(p, 0, n, stream));
//   LLMW_CUDA_RETURN_IF_ERROR(cublasSetStream(handle, stream));
#pragma once

#include <cublas_api.h>
#include <cuda_runtime_api.h>

#include "absl/status/status.h"

namespace llmw {

// OK for cudaSuccess / CUBLAS_STATUS_SUCCESS; otherwise an error whose message names the failed
// expression, file:line, the error's name and its description. The absl code follows the cause:
// out of memory → kResourceExhausted, bad argument → kInvalidArgument, no device or driver →
// kUnavailable, anything else → kInternal.
absl::Status CudaToStatus(cudaError_t error, const char* expr, const char* file, int line);
absl::Status CudaToStatus(cublasStatus_t status, const char* expr, const char* file, int line);

}  // namespace llmw

// Evaluates `expr` (a cudaError_t or cublasStatus_t) once; returns the error Status on failure.
#define LLMW_CUDA_RETURN_IF_ERROR(expr)                                                           \
  do {                                                                                            \
    if (absl::Status llmw_cuda_status_ = ::llmw::CudaToStatus((expr), #expr, __FILE__, __LINE__); \
        !llmw_cuda_status_.ok()) {                                                                \
      return llmw_cuda_status_;                                                                   \
    }                                                                                             \
  } while (false)
