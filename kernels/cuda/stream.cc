// CudaStream lifetime and synchronization.
#include "kernels/cuda/stream.h"

#include "kernels/cuda/cuda_check.h"

namespace llmw {

absl::StatusOr<CudaStream> CudaStream::Create() {
  cudaStream_t stream = nullptr;
  LLMW_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return CudaStream(stream);
}

CudaStream& CudaStream::operator=(CudaStream&& other) noexcept {
  if (this != &other) {
    Reset();
    stream_ = other.stream_;
    other.stream_ = nullptr;
  }
  return *this;
}

CudaStream::~CudaStream() { Reset(); }

void CudaStream::Reset() {
  // A destructor cannot report; a failure here means the context is already broken and the
  // next checked call will say so.
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
  stream_ = nullptr;
}

absl::Status CudaStream::Synchronize() const {
  LLMW_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  return absl::OkStatus();
}

}  // namespace llmw
