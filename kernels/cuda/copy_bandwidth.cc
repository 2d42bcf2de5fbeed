// Device-to-device copy bandwidth, timed with CUDA events on a stream of its own.
#include "kernels/cuda/copy_bandwidth.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/stream.h"
#include "kernels/status_macros.h"

namespace llmw {
namespace {

class CudaEvent {
 public:
  CudaEvent() = default;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  ~CudaEvent() {
    if (event_ != nullptr) cudaEventDestroy(event_);
  }
  absl::Status Create() {
    LLMW_CUDA_RETURN_IF_ERROR(cudaEventCreate(&event_));
    return absl::OkStatus();
  }
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace

absl::StatusOr<double> CudaCopyBandwidth(int64_t bytes, int runs) {
  if (bytes < 1 || runs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("CudaCopyBandwidth: bytes ", bytes, " and runs ", runs, " must be positive"));
  }
  ASSIGN_OR_RETURN(DeviceBuffer src, DeviceBuffer::Allocate(static_cast<size_t>(bytes)));
  ASSIGN_OR_RETURN(DeviceBuffer dst, DeviceBuffer::Allocate(static_cast<size_t>(bytes)));
  ASSIGN_OR_RETURN(CudaStream stream, CudaStream::Create());
  CudaEvent start, stop;
  RETURN_IF_ERROR(start.Create());
  RETURN_IF_ERROR(stop.Create());
  // Contents do not matter to a copy, but never time uninitialized memory's first touch.
  LLMW_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(src.data(), 1, bytes, stream.get()));
  LLMW_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, stream.get()));
  std::vector<float> ms(runs);
  for (float& elapsed : ms) {
    LLMW_CUDA_RETURN_IF_ERROR(cudaEventRecord(start.get(), stream.get()));
    LLMW_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, stream.get()));
    LLMW_CUDA_RETURN_IF_ERROR(cudaEventRecord(stop.get(), stream.get()));
    LLMW_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(stop.get()));
    LLMW_CUDA_RETURN_IF_ERROR(cudaEventElapsedTime(&elapsed, start.get(), stop.get()));
  }
  std::nth_element(ms.begin(), ms.begin() + runs / 2, ms.end());
  const double seconds = ms[runs / 2] * 1e-3;
  return seconds > 0 ? 2.0 * static_cast<double>(bytes) / seconds : 0.0;
}

}  // namespace llmw
