// Creates the backend a model runs on.
#pragma once

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "kernels/backend.h"

namespace llmw {

struct BackendOptions {
  Device device = Device::kCpu;
  int threads = 0;  // CPU: threads counting the caller's; 0 = every core
  // CPU: every matmul through the scalar reference (slow; for correctness checks).
  bool reference_matmul = false;
  // CUDA: share of the GPU's memory the process may fill (weights, workspaces, KV cache).
  double gpu_memory_utilization = 0.9;
};

// UNAVAILABLE naming the reason when the device cannot be used (not built in, or absent).
absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const BackendOptions& options);

// "cpu", "cuda", or "auto": CUDA when this build has the CUDA backend and a GPU is usable here,
// else the CPU.
absl::StatusOr<Device> ParseDevice(std::string_view name);

// Bytes read plus written per second by a plain device-to-device copy on `device` (the ceiling of
// a bandwidth-bound step); UNIMPLEMENTED for the CPU, UNAVAILABLE without a usable GPU.
absl::StatusOr<double> DeviceCopyBandwidth(Device device);

}  // namespace llmw
