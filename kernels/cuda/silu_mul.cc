// Argument checks and Status for the SwiGLU kernel in silu_mul.cu.
#include "kernels/cuda/silu_mul.h"

#include "absl/strings/str_cat.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launchers.h"

namespace llmw {

absl::Status SiluMulCuda(const float* gate, const float* up, float* out, int64_t n,
                         cudaStream_t stream) {
  if (n < 0) return absl::InvalidArgumentError(absl::StrCat("SiluMulCuda: n = ", n, " < 0"));
  if (n == 0) return absl::OkStatus();
  if (gate == nullptr || up == nullptr || out == nullptr) {
    return absl::InvalidArgumentError("SiluMulCuda: null device pointer");
  }
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::SiluMulF32(gate, up, out, n, stream));
  return absl::OkStatus();
}

}  // namespace llmw
