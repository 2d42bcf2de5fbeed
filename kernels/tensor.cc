// Tensor shape arithmetic and printing.
#include "kernels/tensor.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace llmw {

std::string_view DeviceName(Device device) { return device == Device::kCuda ? "cuda" : "cpu"; }

Tensor::Tensor(DType dtype, std::span<const int64_t> shape, void* data, Device device)
    : dtype_(dtype), device_(device), rank_(static_cast<int>(shape.size())), data_(data) {
  int i = 0;
  for (int64_t d : shape) shape_[i++] = d;
}

int64_t Tensor::rows() const {
  int64_t n = 1;
  for (int i = 0; i + 1 < rank_; ++i) n *= shape_[i];
  return n;
}

Tensor Tensor::SliceRows(int64_t first, int64_t count) const {
  Tensor slice = *this;
  slice.shape_[0] = count;
  slice.data_ = static_cast<uint8_t*>(data_) + first * row_bytes();
  return slice;
}

Tensor Tensor::Reshaped(std::initializer_list<int64_t> shape) const {
  return Tensor(dtype_, std::span<const int64_t>(shape.begin(), shape.size()), data_, device_);
}

std::string Tensor::DebugString() const {
  std::vector<int64_t> dims(shape_.begin(), shape_.begin() + rank_);
  return absl::StrCat(std::string(DTypeName(dtype_)), "[", absl::StrJoin(dims, ", "), "]");
}

}  // namespace llmw
