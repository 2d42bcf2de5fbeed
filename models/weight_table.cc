// Shape and dtype checks between a checkpoint's tensors and what a family expects.
#include "models/weight_table.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/block_formats.h"
#include "kernels/weight_check.h"
#include "models/formats/gguf_file.h"
#include "models/formats/safetensors_checkpoint.h"

namespace llmw {

absl::StatusOr<Tensor> WeightTable::Find(const std::string& name,
                                         std::initializer_list<int64_t> shape) const {
  absl::StatusOr<Tensor> tensor = lookup_(name);
  if (absl::IsNotFound(tensor.status())) {
    return absl::NotFoundError(absl::StrCat(source_, ": missing tensor '", name, "'"));
  }
  if (!tensor.ok()) return tensor.status();
  bool matches = tensor->rank() == static_cast<int>(shape.size());
  int i = 0;
  for (int64_t d : shape) matches = matches && tensor->dim(i++) == d;
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": tensor '", name, "' has shape ",
                                                   tensor->DebugString(), ", expected [",
                                                   absl::StrJoin(shape, ", "), "]"));
  }
  return tensor;
}

absl::StatusOr<Tensor> WeightTable::Matrix(const std::string& name,
                                           std::initializer_list<int64_t> shape) const {
  absl::StatusOr<Tensor> tensor = Find(name, shape);
  if (!tensor.ok()) return tensor;
  if (absl::Status s = CheckMatmulWeight(*tensor); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": tensor '", name, "': ", std::string(s.message())));
  }
  return tensor;
}

absl::StatusOr<Tensor> WeightTable::Vector(const std::string& name, int64_t n,
                                           HostArena& arena) const {
  absl::StatusOr<Tensor> tensor = Find(name, {n});
  if (!tensor.ok()) return tensor.status();
  if (!SupportsDequantize(tensor->dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": tensor '", name,
                                                   "' has unsupported type ",
                                                   std::string(DTypeName(tensor->dtype()))));
  }
  Tensor values = arena.NewF32({n});
  DequantizeRow(tensor->dtype(), tensor->data(), values.data_as<float>(), n);
  return values;
}

bool WeightTable::Has(const std::string& name) const {
  return !absl::IsNotFound(lookup_(name).status());
}

WeightTable GgufWeightTable(const GgufFile& file) {
  return WeightTable(file.path(), [&file](const std::string& name) -> absl::StatusOr<Tensor> {
    const GgufTensorInfo* info = file.FindTensor(name);
    if (info == nullptr) return absl::NotFoundError(name);
    return file.TensorView(*info);
  });
}

WeightTable SafetensorsWeightTable(const SafetensorsCheckpoint& checkpoint) {
  return WeightTable(checkpoint.directory(),
                     [&checkpoint](const std::string& name) { return checkpoint.Get(name); });
}

}  // namespace llmw
