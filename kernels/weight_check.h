// The weights every backend's matmul takes.
#pragma once

#include "absl/status/status.h"
#include "kernels/tensor.h"

namespace llmw {

// OK when a matmul can take `w`: a host tensor of rank 2 (as loaded from a checkpoint) in F32,
// F16, BF16 or a GGUF block format with a reference dequantizer, with rows of whole blocks.
// Loaders call this once per weight; the matmuls themselves do not check again.
absl::Status CheckMatmulWeight(const Tensor& w);

}  // namespace llmw
