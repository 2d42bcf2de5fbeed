// Shape, dtype and memory checks of matmul weights.
#include "kernels/weight_check.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/block_formats.h"

namespace llmw {

absl::Status CheckMatmulWeight(const Tensor& w) {
  if (w.device() != Device::kCpu) {
    return absl::InvalidArgumentError(
        absl::StrCat("matmul weight ", w.DebugString(), " is not in host memory"));
  }
  if (w.rank() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("matmul weight ", w.DebugString(), " must have rank 2"));
  }
  if (!SupportsDequantize(w.dtype())) {
    return absl::UnimplementedError(
        absl::StrCat("matmul does not support dtype ", std::string(DTypeName(w.dtype()))));
  }
  if (w.row_elems() % Traits(w.dtype()).block_elems != 0) {
    return absl::InvalidArgumentError(absl::StrCat("matmul weight ", w.DebugString(),
                                                   ": row length is not a whole number of blocks"));
  }
  if (w.elems() > 0 && w.data() == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("matmul weight ", w.DebugString(), " has no data"));
  }
  return absl::OkStatus();
}

}  // namespace llmw
