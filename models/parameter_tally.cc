// Parameter counts by dtype.
#include "models/parameter_tally.h"

namespace llmw {

void ParameterTally::Add(std::span<const int64_t> shape, std::optional<DType> type) {
  int64_t elems = 1;
  for (int64_t d : shape) elems *= d;
  total_ += elems;
  if (shape.size() >= 2 && type) matrix_params_[*type] += elems;
}

std::string ParameterTally::DominantMatrixType() const {
  std::string name;
  int64_t best = -1;
  for (const auto& [type, elems] : matrix_params_) {
    if (elems > best) {
      best = elems;
      name = std::string(DTypeName(type));
    }
  }
  return name;
}

}  // namespace llmw
