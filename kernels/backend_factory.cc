// The backend for a device.
#include "kernels/backend_factory.h"

#include "absl/strings/str_cat.h"
#include "kernels/cpu/cpu_backend.h"

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
      break;
  }
  return absl::UnavailableError(
      "device cuda: no CUDA forward pass in this build; use the cpu device");
}

absl::StatusOr<Device> ParseDevice(std::string_view name) {
  if (name == "cpu" || name == "auto") return Device::kCpu;
  if (name == "cuda") return Device::kCuda;
  return absl::InvalidArgumentError(
      absl::StrCat("device must be auto, cpu or cuda, got '", std::string(name), "'"));
}

std::string_view DeviceName(Device device) { return device == Device::kCuda ? "cuda" : "cpu"; }

}  // namespace llmw
