// Counts a checkpoint's parameters and finds the dtype holding most of its
// matrices' parameters, which ModelInfo reports as the quantization. Shared by
// the GGUF and the safetensors loaders.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "kernels/dtype.h"

namespace llmw {

class ParameterTally {
 public:
  // One tensor of `shape`; `type` is nullopt for a dtype we do not compute with.
  void Add(std::span<const int64_t> shape, std::optional<DType> type);

  int64_t total() const { return total_; }
  // The name of the dtype of most matrix (rank >= 2) parameters; "" when none.
  std::string DominantMatrixType() const;

 private:
  int64_t total_ = 0;
  std::map<DType, int64_t> matrix_params_;
};

}  // namespace llmw
