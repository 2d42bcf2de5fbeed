// SiluMulCuda: the SwiGLU activation out[i] = silu(gate[i]) * up[i] on f32 device arrays,
// silu(x) = x / (1 + e^-x). The CUDA twin of llmw::cpu::SiluMul (kernels/cpu/ops.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace llmw {

// Queues the computation on `stream` and returns without waiting. `gate`, `up` and `out` are
// device pointers to `n` floats; `out` may alias `gate` or `up` (each element is read before it
// is written by the same thread). n == 0 queues nothing. kInvalidArgument for n < 0 or a null
// pointer with n > 0; launch errors are reported here, execution errors by the next
// synchronization.
absl::Status SiluMulCuda(const float* gate, const float* up, float* out, int64_t n,
                         cudaStream_t stream);

}  // namespace llmw
