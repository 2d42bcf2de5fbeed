// Device discovery through the CUDA runtime.
#include "kernels/cuda/device.h"

#include <cuda_runtime_api.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/cuda/cuda_check.h"

namespace llmw {
namespace {

// CUDA encodes versions as 1000 * major + 10 * minor.
std::string VersionString(int version) {
  return absl::StrCat(version / 1000, ".", (version % 1000) / 10);
}

}  // namespace

absl::StatusOr<int> CudaDeviceCount() {
  int driver_version = 0;
  LLMW_CUDA_RETURN_IF_ERROR(cudaDriverGetVersion(&driver_version));
  // The runtime reports "insufficient driver" also when there is no driver at all; say which.
  if (driver_version == 0) {
    return absl::UnavailableError("no NVIDIA driver (libcuda) found: CUDA devices unavailable");
  }
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error == cudaErrorNoDevice) return 0;
  if (error == cudaErrorInsufficientDriver) {
    int runtime_version = 0;
    cudaRuntimeGetVersion(&runtime_version);
    return absl::UnavailableError(
        absl::StrCat("NVIDIA driver supports CUDA ", VersionString(driver_version),
                     ", this build needs CUDA ", VersionString(runtime_version)));
  }
  LLMW_CUDA_RETURN_IF_ERROR(error);
  return count;
}

absl::StatusOr<std::string> CudaDeviceSummary(int device) {
  cudaDeviceProp prop;
  LLMW_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, device));
  int driver_version = 0;
  int runtime_version = 0;
  LLMW_CUDA_RETURN_IF_ERROR(cudaDriverGetVersion(&driver_version));
  LLMW_CUDA_RETURN_IF_ERROR(cudaRuntimeGetVersion(&runtime_version));
  return absl::StrFormat("cuda:%d %s, sm_%d%d, %d SMs, %.1f GiB, driver %s, runtime %s", device,
                         prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                         static_cast<double>(prop.totalGlobalMem) / (1 << 30),
                         VersionString(driver_version), VersionString(runtime_version));
}

}  // namespace llmw
