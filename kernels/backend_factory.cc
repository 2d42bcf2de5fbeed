// The backend for a device.
#include "kernels/backend_factory.h"

#include "absl/strings/str_cat.h"
#include "kernels/cpu/cpu_backend.h"

#if LLMW_WITH_CUDA
#include "kernels/cuda/copy_bandwidth.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/device.h"
#endif

namespace llmw {

absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const BackendOptions& options) {
  if (options.threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be >= 0 (0 = every core), got ", options.threads));
  }
  switch (options.device) {
    case Device::kCpu:
      return std::make_unique<cpu::CpuBackend>(
          cpu::CpuBackendOptions{options.threads, options.reference_matmul});
    case Device::kCuda:
#if LLMW_WITH_CUDA
      return cuda::CudaBackend::Create(
          {.device = 0, .memory_utilization = options.gpu_memory_utilization});
#else
      break;
#endif
  }
  return absl::UnavailableError(
      "device cuda: this build has no CUDA backend (configure with -DLLMW_CUDA=ON)");
}

absl::StatusOr<Device> ParseDevice(std::string_view name) {
  if (name == "cpu") return Device::kCpu;
  if (name == "cuda") return Device::kCuda;
  if (name == "auto") {
#if LLMW_WITH_CUDA
    const absl::StatusOr<int> gpus = CudaDeviceCount();
    if (gpus.ok() && *gpus > 0) return Device::kCuda;
#endif
    return Device::kCpu;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("device must be auto, cpu or cuda, got '", std::string(name), "'"));
}

absl::StatusOr<double> DeviceCopyBandwidth(Device device) {
  if (device == Device::kCpu) {
    return absl::UnimplementedError("copy bandwidth is measured on GPUs only");
  }
#if LLMW_WITH_CUDA
  return CudaCopyBandwidth();
#else
  return absl::UnavailableError("this build has no CUDA backend");
#endif
}

}  // namespace llmw
