// Tensor: a typed, shaped view of memory on one device. It does not own its
// data: weights point into a memory-mapped checkpoint, activations into a
// workspace allocated at load.
//
// Shapes are outermost-first, as in PyTorch: a weight [out, in] has rows of
// `in` contiguous elements (GGUF lists the same dims innermost-first).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "kernels/dtype.h"

namespace llmw {

enum class Device { kCpu, kCuda };

// "cpu" or "cuda".
std::string_view DeviceName(Device device);

class Tensor {
 public:
  static constexpr int kMaxDims = 4;

  Tensor() = default;
  Tensor(DType dtype, std::span<const int64_t> shape, void* data, Device device = Device::kCpu);
  Tensor(DType dtype, std::initializer_list<int64_t> shape, void* data,
         Device device = Device::kCpu)
      : Tensor(dtype, std::span<const int64_t>(shape.begin(), shape.size()), data, device) {}

  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  int rank() const { return rank_; }
  int64_t dim(int i) const { return shape_[i]; }
  // Number of elements in the innermost dimension.
  int64_t row_elems() const { return rank_ == 0 ? 1 : shape_[rank_ - 1]; }
  // Number of rows (product of all but the innermost dimension).
  int64_t rows() const;
  int64_t elems() const { return rows() * row_elems(); }
  int64_t row_bytes() const { return RowBytes(dtype_, row_elems()); }
  int64_t bytes() const { return rows() * row_bytes(); }
  bool empty() const { return data_ == nullptr; }

  void* data() const { return data_; }
  template <typename T>
  T* data_as() const {
    return static_cast<T*>(data_);
  }
  const uint8_t* row(int64_t r) const {
    return static_cast<const uint8_t*>(data_) + r * row_bytes();
  }

  // Rows [first, first + count) of a matrix, as a view of the same memory.
  Tensor SliceRows(int64_t first, int64_t count) const;
  // The same dtype and shape over other memory (a copy of the data elsewhere).
  Tensor WithData(void* data, Device device) const {
    Tensor t = *this;
    t.data_ = data;
    t.device_ = device;
    return t;
  }
  // The same elements seen with another shape of the same element count (plain dtypes, or whole
  // blocks per row).
  Tensor Reshaped(std::initializer_list<int64_t> shape) const;

  // "Q4_1[576, 1536]"
  std::string DebugString() const;

 private:
  DType dtype_ = DType::kF32;
  Device device_ = Device::kCpu;
  int rank_ = 0;
  std::array<int64_t, kMaxDims> shape_{};
  void* data_ = nullptr;
};

}  // namespace llmw
