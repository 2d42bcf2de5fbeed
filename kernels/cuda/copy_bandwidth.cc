// Device-to-device copy bandwidth, timed with CUDA events on a stream of its own.
#include "kernels/cuda/copy_bandwidth.h"

#include <cuda_runtime_api.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/event_timer.h"
#include "kernels/cuda/stream.h"
#include "kernels/status_macros.h"

namespace llmw {

absl::StatusOr<double> CudaCopyBandwidth(int64_t bytes, int runs) {
  if (bytes < 1 || runs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("CudaCopyBandwidth: bytes ", bytes, " and runs ", runs, " must be positive"));
  }
  ASSIGN_OR_RETURN(DeviceBuffer src, DeviceBuffer::Allocate(static_cast<size_t>(bytes)));
  ASSIGN_OR_RETURN(DeviceBuffer dst, DeviceBuffer::Allocate(static_cast<size_t>(bytes)));
  ASSIGN_OR_RETURN(CudaStream stream, CudaStream::Create());
  // Contents do not matter to a copy, but never time uninitialized memory's first touch.
  LLMW_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(src.data(), 1, bytes, stream.get()));
  const auto copy = [&](int) -> absl::Status {
    LLMW_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, stream.get()));
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(const double us, MedianMicroseconds(stream.get(), /*warmup=*/1, runs, copy));
  const double seconds = us * 1e-6;
  return seconds > 0 ? 2.0 * static_cast<double>(bytes) / seconds : 0.0;
}

}  // namespace llmw
