// CublasHandle lifetime and stream binding.
#include "kernels/cuda/cublas_handle.h"

#include "kernels/cuda/cuda_check.h"

namespace llmw {

absl::StatusOr<CublasHandle> CublasHandle::Create(cudaStream_t stream) {
  cublasHandle_t raw = nullptr;
  LLMW_CUDA_RETURN_IF_ERROR(cublasCreate(&raw));
  CublasHandle handle(raw);  // Owns `raw` from here, so the error path below releases it.
  if (absl::Status s = handle.SetStream(stream); !s.ok()) return s;
  return handle;
}

CublasHandle& CublasHandle::operator=(CublasHandle&& other) noexcept {
  if (this != &other) {
    Reset();
    handle_ = other.handle_;
    other.handle_ = nullptr;
  }
  return *this;
}

CublasHandle::~CublasHandle() { Reset(); }

void CublasHandle::Reset() {
  if (handle_ != nullptr) cublasDestroy(handle_);
  handle_ = nullptr;
}

absl::Status CublasHandle::SetStream(cudaStream_t stream) {
  LLMW_CUDA_RETURN_IF_ERROR(cublasSetStream(handle_, stream));
  return absl::OkStatus();
}

}  // namespace llmw
