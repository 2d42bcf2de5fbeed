// Shape and dtype checks between a GGUF tensor table and what a family expects.
#include "models/quantized/gguf_weights.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/block_formats.h"
#include "kernels/cpu/matmul.h"

namespace llmw {

absl::StatusOr<Tensor> GgufWeights::Find(const std::string& name,
                                         std::initializer_list<int64_t> shape) const {
  const GgufTensorInfo* info = file_.FindTensor(name);
  if (info == nullptr) {
    return absl::NotFoundError(absl::StrCat(file_.path(), ": missing tensor '", name, "'"));
  }
  Tensor tensor = file_.TensorView(*info);
  bool matches = tensor.rank() == static_cast<int>(shape.size());
  int i = 0;
  for (int64_t d : shape) matches = matches && tensor.dim(i++) == d;
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat(file_.path(), ": tensor '", name, "' has shape ",
                                                   tensor.DebugString(), ", expected [",
                                                   absl::StrJoin(shape, ", "), "]"));
  }
  return tensor;
}

absl::StatusOr<Tensor> GgufWeights::Matrix(const std::string& name,
                                           std::initializer_list<int64_t> shape) const {
  absl::StatusOr<Tensor> tensor = Find(name, shape);
  if (!tensor.ok()) return tensor;
  if (absl::Status s = cpu::CheckMatmulWeight(*tensor); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_.path(), ": tensor '", name, "': ", std::string(s.message())));
  }
  return tensor;
}

absl::StatusOr<std::vector<float>> GgufWeights::Vector(const std::string& name, int64_t n) const {
  absl::StatusOr<Tensor> tensor = Find(name, {n});
  if (!tensor.ok()) return tensor.status();
  if (!SupportsDequantize(tensor->dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(file_.path(), ": tensor '", name,
                                                   "' has unsupported type ",
                                                   std::string(DTypeName(tensor->dtype()))));
  }
  std::vector<float> values(n);
  DequantizeRow(tensor->dtype(), tensor->data(), values.data(), n);
  return values;
}

}  // namespace llmw
