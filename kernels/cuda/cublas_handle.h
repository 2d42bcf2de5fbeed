// CublasHandle: an owned cuBLAS context bound to one stream; the dense and dequantized GEMMs of a
// worker are issued through it on the same stream as its kernels.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llmw {

class CublasHandle {
 public:
  // A handle on the current device whose calls are queued on `stream`.
  static absl::StatusOr<CublasHandle> Create(cudaStream_t stream);

  CublasHandle() = default;  // Empty: get() is nullptr.
  CublasHandle(CublasHandle&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  CublasHandle& operator=(CublasHandle&& other) noexcept;
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  ~CublasHandle();

  cublasHandle_t get() const { return handle_; }

  // Rebinds the handle to another stream.
  absl::Status SetStream(cudaStream_t stream);

 private:
  explicit CublasHandle(cublasHandle_t handle) : handle_(handle) {}
  void Reset();

  cublasHandle_t handle_ = nullptr;
};

}  // namespace llmw
