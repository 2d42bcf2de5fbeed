// MedianMicroseconds: a pair of events around each run, waited for one run at a time.
#include "kernels/cuda/event_timer.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/cuda/cuda_check.h"

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

absl::StatusOr<double> MedianMicroseconds(cudaStream_t stream, int warmup, int runs,
                                          const std::function<absl::Status(int run)>& queue) {
  if (warmup < 0 || runs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("MedianMicroseconds: warmup ", warmup, " and runs ", runs));
  }
  CudaEvent start, stop;
  if (absl::Status s = start.Create(); !s.ok()) return s;
  if (absl::Status s = stop.Create(); !s.ok()) return s;
  std::vector<double> us;
  for (int run = 0; run < warmup + runs; ++run) {
    LLMW_CUDA_RETURN_IF_ERROR(cudaEventRecord(start.get(), stream));
    if (absl::Status s = queue(run); !s.ok()) return s;
    LLMW_CUDA_RETURN_IF_ERROR(cudaEventRecord(stop.get(), stream));
    LLMW_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(stop.get()));
    float ms = 0;
    LLMW_CUDA_RETURN_IF_ERROR(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    if (run >= warmup) us.push_back(1000.0 * ms);
  }
  std::nth_element(us.begin(), us.begin() + runs / 2, us.end());
  return us[runs / 2];
}

}  // namespace llmw
