// Which CUDA devices this process can use, asked without ever aborting: on a machine with no GPU
// or no NVIDIA driver the answers are a count of 0 or an error Status, never a crash.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace llmw {

// Number of visible CUDA devices. 0 when the driver reports none; kUnavailable when the driver
// is missing or too old for this build's CUDA runtime.
absl::StatusOr<int> CudaDeviceCount();

// One line describing `device`, e.g.
// "cuda:0 NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB, driver 13.0, runtime 13.0".
absl::StatusOr<std::string> CudaDeviceSummary(int device);

}  // namespace llmw
