// Typed, shape-checked access to the weight tensors of a GGUF checkpoint, for
// the per-family loaders under models/quantized/.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/tensor.h"
#include "models/formats/gguf_file.h"

namespace llmw {

class GgufWeights {
 public:
  explicit GgufWeights(const GgufFile& file) : file_(file) {}

  // The tensor `name` with shape `shape` (outermost first) in a dtype the
  // matmul supports; NOT_FOUND / INVALID_ARGUMENT naming the tensor otherwise.
  absl::StatusOr<Tensor> Matrix(const std::string& name,
                                std::initializer_list<int64_t> shape) const;
  // The 1-D tensor `name` of `n` elements, converted to f32.
  absl::StatusOr<std::vector<float>> Vector(const std::string& name, int64_t n) const;
  bool Has(const std::string& name) const { return file_.FindTensor(name) != nullptr; }

 private:
  absl::StatusOr<Tensor> Find(const std::string& name, std::initializer_list<int64_t> shape) const;

  const GgufFile& file_;
};

}  // namespace llmw
