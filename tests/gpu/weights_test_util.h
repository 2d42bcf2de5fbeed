// Fixture of the GPU tests of the weight kernels (matmul, quantize, embed): skips without a usable
// GPU (fails instead under LLMW_REQUIRE_GPU=1, as tests/gpu/check.sh sets), and owns a stream, a
// cuBLAS handle and the device buffers a test uploads.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "kernels/cuda/cublas_handle.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/stream.h"
#include "kernels/tensor.h"

namespace llmw::gpu_testing {

class CudaWeightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::StatusOr<int> count = CudaDeviceCount();
    if (!count.ok() || *count == 0) {
      const std::string why =
          count.ok() ? std::string("no CUDA device visible") : count.status().ToString();
      const char* require = std::getenv("LLMW_REQUIRE_GPU");
      if (require != nullptr && std::string(require) == "1") {
        FAIL() << "LLMW_REQUIRE_GPU=1 but no usable GPU: " << why;
      }
      GTEST_SKIP() << "no usable CUDA device (" << why << ")";
    }
    absl::StatusOr<CudaStream> stream = CudaStream::Create();
    ASSERT_TRUE(stream.ok()) << stream.status();
    stream_ = *std::move(stream);
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

  CudaStream stream_;
  CublasHandle cublas_;
  std::vector<DeviceBuffer> buffers_;
};

}  // namespace llmw::gpu_testing
