// DeviceBuffer: an owned allocation in GPU memory (cudaMalloc / cudaFree), plus the checked copies
// between it and host memory. Weights are uploaded into these once at load; activations live in
// a workspace made of them.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llmw {

class DeviceBuffer {
 public:
  // `bytes` of uninitialized device memory on the current device. 0 bytes gives an empty buffer.
  static absl::StatusOr<DeviceBuffer> Allocate(size_t bytes);

  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();

  size_t size() const { return size_; }  // In bytes.
  bool empty() const { return data_ == nullptr; }
  void* data() const { return data_; }
  template <typename T>
  T* data_as() const {
    return static_cast<T*>(data_);
  }

 private:
  DeviceBuffer(void* data, size_t size) : data_(data), size_(size) {}
  void Reset();

  void* data_ = nullptr;
  size_t size_ = 0;
};

// Queue a copy of `bytes` from host memory `src` into `dst` at `dst_offset`, on `stream`.
// Asynchronous: pageable `src` may be reused on return (the driver stages it), page-locked `src`
// is read later by DMA and must stay unchanged until the stream has reached this copy.
// kOutOfRange when the range does not fit in `dst`.
absl::Status CopyToDevice(DeviceBuffer& dst, const void* src, size_t bytes, cudaStream_t stream,
                          size_t dst_offset = 0);

// Queue a copy of `bytes` from `src` at `src_offset` into host memory `dst`, on `stream`.
// Asynchronous: synchronize the stream before reading `dst`. kOutOfRange when the range does not
// fit in `src`.
absl::Status CopyToHost(void* dst, const DeviceBuffer& src, size_t bytes, cudaStream_t stream,
                        size_t src_offset = 0);

}  // namespace llmw
