// Argument checks and Status for the SwiGLU kernel in silu_mul.cu.
#include "kernels/cuda/silu_mul.h"

#include "absl/strings/str_cat.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launchers.h"

namespace llmw::cuda {

absl::Status SiluMul(float* out, const float* gate, const float* up, int64_t n,
                     cudaStream_t stream) {
  if (n < 0) return absl::InvalidArgumentError(absl::StrCat("cuda::SiluMul: n = ", n, " < 0"));
  if (n == 0) return absl::OkStatus();
  if (gate == nullptr || up == nullptr || out == nullptr) {
    return absl::InvalidArgumentError("cuda::SiluMul: null device pointer");
  }
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::SiluMulF32(out, gate, up, n, stream));
  return absl::OkStatus();
}

}  // namespace llmw::cuda
