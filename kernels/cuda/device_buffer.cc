// DeviceBuffer lifetime and host↔device copies.
#include "kernels/cuda/device_buffer.h"

#include "absl/strings/str_cat.h"
#include "kernels/cuda/cuda_check.h"

namespace llmw {
namespace {

absl::Status CheckRange(size_t offset, size_t bytes, size_t size) {
  if (offset > size || bytes > size - offset) {
    return absl::OutOfRangeError(absl::StrCat("copy of ", bytes, " bytes at offset ", offset,
                                              " exceeds a device buffer of ", size, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DeviceBuffer> DeviceBuffer::Allocate(size_t bytes) {
  if (bytes == 0) return DeviceBuffer();
  void* data = nullptr;
  LLMW_CUDA_RETURN_IF_ERROR(cudaMalloc(&data, bytes));
  return DeviceBuffer(data, bytes);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() { Reset(); }

void DeviceBuffer::Reset() {
  // cudaFree waits for work still using the memory; a destructor cannot report its error.
  if (data_ != nullptr) cudaFree(data_);
  data_ = nullptr;
  size_ = 0;
}

absl::Status CopyToDevice(DeviceBuffer& dst, const void* src, size_t bytes, cudaStream_t stream,
                          size_t dst_offset) {
  if (absl::Status s = CheckRange(dst_offset, bytes, dst.size()); !s.ok()) return s;
  if (bytes == 0) return absl::OkStatus();
  LLMW_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst.data_as<char>() + dst_offset, src, bytes,
                                            cudaMemcpyHostToDevice, stream));
  return absl::OkStatus();
}

absl::Status CopyToHost(void* dst, const DeviceBuffer& src, size_t bytes, cudaStream_t stream,
                        size_t src_offset) {
  if (absl::Status s = CheckRange(src_offset, bytes, src.size()); !s.ok()) return s;
  if (bytes == 0) return absl::OkStatus();
  LLMW_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, src.data_as<const char>() + src_offset, bytes,
                                            cudaMemcpyDeviceToHost, stream));
  return absl::OkStatus();
}

}  // namespace llmw
