// CudaDeviceTest: the fixture of every GPU test that needs a device. It skips the test when no
// usable GPU is found and fails it instead with LLMW_REQUIRE_GPU=1 in the environment
// (tests/gpu/run.sh sets it), so a GPU run cannot pass by skipping. Each test gets a stream.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/stream.h"

namespace llmw {

class CudaDeviceTest : public ::testing::Test {
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
  }

  CudaStream stream_;
};

}  // namespace llmw
