// cuda::SiluMul: the SwiGLU activation out[i] = silu(gate[i]) * up[i] on f32 device arrays,
// silu(x) = x / (1 + e^-x). The CUDA twin of cpu::SiluMul (kernels/cpu/ops.h), same arguments
// plus the stream.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace llmw::cuda {

// Queues the computation on `stream` and returns without waiting. `gate`, `up` and `out` are
// device pointers to `n` floats; `out` may alias `gate` or `up` (each element is read before it
// is written by the same thread). n == 0 queues nothing. kInvalidArgument for n < 0 or a null
// pointer with n > 0; launch errors are reported here, execution errors by the next
// synchronization.
absl::Status SiluMul(float* out, const float* gate, const float* up, int64_t n,
                     cudaStream_t stream);

}  // namespace llmw::cuda
