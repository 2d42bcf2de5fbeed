// CudaStream: an owned CUDA stream, destroyed with its owner. Kernels, copies and cuBLAS calls of
// one worker are queued on one stream so that they run in order without host synchronization.
#pragma once

#include <cuda_runtime_api.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llmw {

class CudaStream {
 public:
  // A non-blocking stream on the current device: it does not synchronize with the legacy
  // default stream, so other threads' default-stream work cannot stall it.
  static absl::StatusOr<CudaStream> Create();

  CudaStream() = default;  // Empty: get() is nullptr.
  CudaStream(CudaStream&& other) noexcept : stream_(other.stream_) { other.stream_ = nullptr; }
  CudaStream& operator=(CudaStream&& other) noexcept;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  ~CudaStream();

  cudaStream_t get() const { return stream_; }

  // Blocks until all work queued so far has finished; reports the first asynchronous error.
  absl::Status Synchronize() const;

 private:
  explicit CudaStream(cudaStream_t stream) : stream_(stream) {}
  void Reset();

  cudaStream_t stream_ = nullptr;
};

}  // namespace llmw
