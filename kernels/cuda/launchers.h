// Raw launchers of the kernels in this directory's .cu files. Kept free of Abseil so that nvcc
// never parses it (that triples the compile time of a .cu file); the Status-returning wrappers
// in the .cc files validate arguments and are what the rest of the project calls.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace llmw::cuda_launch {

// out[i] = silu(gate[i]) * up[i] for i < n; n > 0. Returns the launch error, if any.
cudaError_t SiluMulF32(float* out, const float* gate, const float* up, int64_t n,
                       cudaStream_t stream);

}  // namespace llmw::cuda_launch
