// Typed, shape-checked access to a checkpoint's weight tensors, for the family
// loaders: the same checks and messages whether the tensors come from a GGUF
// file or from a Hugging Face safetensors checkpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/tensor.h"
#include "models/host_arena.h"

namespace llmw {

class GgufFile;
class SafetensorsCheckpoint;

class WeightTable {
 public:
  // `lookup` answers NOT_FOUND for a tensor the checkpoint lacks; `source`
  // (a path) starts every error message.
  using Lookup = std::function<absl::StatusOr<Tensor>(const std::string& name)>;
  WeightTable(std::string source, Lookup lookup)
      : source_(std::move(source)), lookup_(std::move(lookup)) {}

  // The tensor `name` with shape `shape` (outermost first) in a dtype the
  // matmul supports; NOT_FOUND / INVALID_ARGUMENT naming the tensor otherwise.
  absl::StatusOr<Tensor> Matrix(const std::string& name,
                                std::initializer_list<int64_t> shape) const;
  // The 1-D tensor `name` of `n` elements, converted to f32 into `arena`.
  absl::StatusOr<Tensor> Vector(const std::string& name, int64_t n, HostArena& arena) const;
  bool Has(const std::string& name) const;

 private:
  absl::StatusOr<Tensor> Find(const std::string& name, std::initializer_list<int64_t> shape) const;

  std::string source_;
  Lookup lookup_;
};

// Views of `file`'s / `checkpoint`'s tensors; the table must not outlive them.
WeightTable GgufWeightTable(const GgufFile& file);
WeightTable SafetensorsWeightTable(const SafetensorsCheckpoint& checkpoint);

}  // namespace llmw
