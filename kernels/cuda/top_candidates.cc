// Argument checks and Status for the sampling-candidates kernel in top_candidates.cu.
#include "kernels/cuda/top_candidates.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/top_candidates_launch.h"

namespace llmw::cuda {

absl::Status TopCandidates(int32_t* top_ids, float* top_values, float* extra_values,
                           const float* logits, int64_t rows, int64_t vocab, int64_t top_n,
                           const int32_t* extra_ids, const int32_t* extra_offsets, void* scratch,
                           int64_t scratch_bytes, cudaStream_t stream) {
  if (rows < 0 || rows > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("cuda::TopCandidates: rows = ", rows, " is outside [0, 2^31)"));
  }
  if (vocab <= 0 || vocab > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("cuda::TopCandidates: vocab = ", vocab, " is outside [1, 2^31)"));
  }
  if (top_n < 1 || top_n > vocab) {
    return absl::InvalidArgumentError(absl::StrCat("cuda::TopCandidates: top_n = ", top_n,
                                                   " is outside [1, vocab = ", vocab, "]"));
  }
  if (scratch_bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cuda::TopCandidates: scratch_bytes = ", scratch_bytes, " < 0"));
  }
  if (rows == 0) return absl::OkStatus();
  if (top_ids == nullptr || top_values == nullptr || extra_values == nullptr || logits == nullptr ||
      extra_ids == nullptr || extra_offsets == nullptr) {
    return absl::InvalidArgumentError("cuda::TopCandidates: null device pointer");
  }
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::TopCandidates(top_ids, top_values, extra_values, logits,
                                                       rows, vocab, top_n, extra_ids, extra_offsets,
                                                       scratch, scratch_bytes, stream));
  return absl::OkStatus();
}

}  // namespace llmw::cuda
