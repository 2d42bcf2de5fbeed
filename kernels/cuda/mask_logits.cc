// Argument checks and Status for the token-mask kernel in mask_logits.cu.
#include "kernels/cuda/mask_logits.h"

#include "absl/strings/str_cat.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/mask_logits_launch.h"

namespace llmw::cuda {

absl::Status MaskLogits(float* logits, int64_t rows, int64_t vocab, const uint32_t* allowed,
                        const int32_t* mask_offsets, cudaStream_t stream) {
  if (rows < 0 || rows > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("cuda::MaskLogits: rows = ", rows, " is outside [0, 65535]"));
  }
  if (vocab <= 0 || vocab > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("cuda::MaskLogits: vocab = ", vocab, " is outside [1, 2^31)"));
  }
  if (rows == 0) return absl::OkStatus();
  if (logits == nullptr || allowed == nullptr || mask_offsets == nullptr) {
    return absl::InvalidArgumentError("cuda::MaskLogits: null device pointer");
  }
  LLMW_CUDA_RETURN_IF_ERROR(
      cuda_launch::MaskLogits(logits, rows, vocab, allowed, mask_offsets, stream));
  return absl::OkStatus();
}

}  // namespace llmw::cuda
