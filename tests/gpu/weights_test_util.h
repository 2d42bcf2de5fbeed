// Fixture of the GPU tests of the weight kernels (matmul, quantize, embed): CudaDeviceTest (skips
// without a usable GPU, fails instead under LLMW_REQUIRE_GPU=1; owns a stream) plus a cuBLAS handle
// and the device buffers a test uploads.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "kernels/cuda/cublas_handle.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/stream.h"
#include "kernels/tensor.h"
#include "tests/gpu/cuda_device_test.h"

namespace llmw::gpu_testing {

class CudaWeightsTest : public CudaDeviceTest {
 protected:
  void SetUp() override {
    CudaDeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    absl::StatusOr<CublasHandle> cublas = CublasHandle::Create(stream_.get());
    ASSERT_TRUE(cublas.ok()) << cublas.status();
    cublas_ = *std::move(cublas);
  }

  // A device buffer of `bytes` bytes filled with 0xff (NaN as floats), owned by the fixture;
  // nullptr (and a test failure) when that fails.
  void* Poisoned(size_t bytes) {
    absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate(bytes);
    if (!buffer.ok()) {
      ADD_FAILURE() << buffer.status();
      return nullptr;
    }
    if (cudaMemsetAsync(buffer->data(), 0xff, bytes, stream_.get()) != cudaSuccess) {
      ADD_FAILURE() << "cudaMemsetAsync failed";
      return nullptr;
    }
    buffers_.push_back(*std::move(buffer));
    return buffers_.back().data();
  }

  template <typename T>
  T* Poisoned(size_t count) {
    return static_cast<T*>(Poisoned(count * sizeof(T)));
  }

  // A device copy of `bytes` bytes of host memory.
  void* ToDevice(const void* host, size_t bytes) {
    void* device = Poisoned(bytes);
    if (device == nullptr) return nullptr;
    if (cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream_.get()) !=
        cudaSuccess) {
      ADD_FAILURE() << "cudaMemcpyAsync to the device failed";
      return nullptr;
    }
    return device;
  }

  template <typename T>
  T* ToDevice(const std::vector<T>& host) {
    return static_cast<T*>(ToDevice(host.data(), host.size() * sizeof(T)));
  }

  // A device copy of a host tensor, same dtype and shape; block formats in the kernels' row layout
  // (cuda::RepackWeights, as CudaBackend::PlaceWeights does).
  Tensor ToDevice(const Tensor& host) {
    std::vector<int64_t> shape;
    for (int i = 0; i < host.rank(); ++i) shape.push_back(host.dim(i));
    const Tensor device(host.dtype(), shape,
                        ToDevice(host.data(), static_cast<size_t>(host.bytes())), Device::kCuda);
    if (device.data() != nullptr) {
      const absl::Status repacked = cuda::RepackWeights(device, stream_.get());
      if (!repacked.ok()) ADD_FAILURE() << repacked;
    }
    return device;
  }

  // `count` elements at `device`, after everything queued so far has run.
  template <typename T>
  std::vector<T> ToHost(const T* device, size_t count) {
    std::vector<T> host(count);
    if (cudaMemcpyAsync(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost,
                        stream_.get()) != cudaSuccess) {
      ADD_FAILURE() << "cudaMemcpyAsync to the host failed";
    }
    const absl::Status done = stream_.Synchronize();
    if (!done.ok()) ADD_FAILURE() << done;
    return host;
  }

  CublasHandle cublas_;
  std::vector<DeviceBuffer> buffers_;
};

}  // namespace llmw::gpu_testing
