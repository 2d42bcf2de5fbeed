// Tests of the CUDA backend plumbing: error conversion, device discovery, device memory, streams,
// cuBLAS and the SwiGLU kernel against a CPU computation.
//
// Tests that need a GPU skip when none is usable and fail under LLMW_REQUIRE_GPU=1, which
// tests/gpu/run.sh sets (cuda_device_test.h).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "kernels/cuda/cublas_handle.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/silu_mul.h"
#include "kernels/cuda/stream.h"
#include "tests/gpu/cuda_device_test.h"

namespace llmw {
namespace {

// ---- Host-only checks: no CUDA call reaches a device, so these run everywhere. ----

TEST(CudaCheckTest, SuccessIsOk) {
  EXPECT_TRUE(CudaToStatus(cudaSuccess, "x", "a/b.cc", 1).ok());
  EXPECT_TRUE(CudaToStatus(CUBLAS_STATUS_SUCCESS, "x", "a/b.cc", 1).ok());
}

TEST(CudaCheckTest, ErrorNamesExpressionPlaceAndCause) {
  const absl::Status s =
      CudaToStatus(cudaErrorMemoryAllocation, "cudaMalloc(&p, n)", "/src/kernels/cuda/x.cc", 42);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  const std::string message(s.message());
  EXPECT_NE(message.find("x.cc:42"), std::string::npos) << message;
  EXPECT_EQ(message.find("/src/"), std::string::npos) << message;
  EXPECT_NE(message.find("cudaMalloc(&p, n)"), std::string::npos) << message;
  EXPECT_NE(message.find("cudaErrorMemoryAllocation"), std::string::npos) << message;
}

TEST(CudaCheckTest, CublasErrorsConvert) {
  const absl::Status s = CudaToStatus(CUBLAS_STATUS_INVALID_VALUE, "cublasSgemm(...)", "y.cc", 7);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("CUBLAS_STATUS_INVALID_VALUE"), std::string::npos) << s;
}

absl::Status FailsThroughMacro() {
  LLMW_CUDA_RETURN_IF_ERROR(cudaErrorInvalidValue);
  return absl::OkStatus();
}

TEST(CudaCheckTest, MacroReturnsTheError) {
  EXPECT_EQ(FailsThroughMacro().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CudaDeviceTest, CountNeverAborts) {
  const absl::StatusOr<int> count = CudaDeviceCount();
  if (count.ok()) {
    EXPECT_GE(*count, 0);
  } else {
    EXPECT_EQ(count.status().code(), absl::StatusCode::kUnavailable) << count.status();
  }
}

TEST(CudaSiluMulArgsTest, RejectsBadArgumentsWithoutLaunching) {
  EXPECT_EQ(cuda::SiluMul(nullptr, nullptr, nullptr, -1, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda::SiluMul(nullptr, nullptr, nullptr, 8, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(cuda::SiluMul(nullptr, nullptr, nullptr, 0, nullptr).ok());
}

TEST(DeviceBufferArgsTest, EmptyBufferAndRangeChecks) {
  absl::StatusOr<DeviceBuffer> empty = DeviceBuffer::Allocate(0);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(empty->size(), 0u);
  char byte = 0;
  EXPECT_EQ(CopyToDevice(*empty, &byte, 1, nullptr).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(CopyToHost(&byte, *empty, 1, nullptr).code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(CopyToDevice(*empty, &byte, 0, nullptr).ok());
}

// ---- Device checks. ----

using CudaPlumbingTest = CudaDeviceTest;

TEST_F(CudaPlumbingTest, DeviceSummaryDescribesDevice0) {
  const absl::StatusOr<std::string> summary = CudaDeviceSummary(0);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_NE(summary->find("sm_"), std::string::npos) << *summary;
  std::printf("%s\n", summary->c_str());
}

TEST_F(CudaPlumbingTest, DeviceBufferRoundTrip) {
  constexpr size_t kBytes = (1 << 20) + 13;  // Not a multiple of any alignment.
  std::vector<uint8_t> host(kBytes);
  std::mt19937 rng(1);
  for (uint8_t& b : host) b = static_cast<uint8_t>(rng());

  absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate(kBytes);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  EXPECT_EQ(buffer->size(), kBytes);
  ASSERT_FALSE(buffer->empty());

  // Moving transfers ownership and leaves the source empty.
  void* const raw = buffer->data();
  DeviceBuffer moved = *std::move(buffer);
  EXPECT_EQ(moved.data(), raw);
  EXPECT_TRUE(buffer->empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state.

  ASSERT_TRUE(CopyToDevice(moved, host.data(), kBytes, stream_.get()).ok());
  std::vector<uint8_t> back(kBytes, 0);
  ASSERT_TRUE(CopyToHost(back.data(), moved, kBytes, stream_.get()).ok());
  ASSERT_TRUE(stream_.Synchronize().ok());
  EXPECT_EQ(std::memcmp(host.data(), back.data(), kBytes), 0);

  // Partial copies at offsets.
  const uint8_t patch[5] = {1, 2, 3, 4, 5};
  ASSERT_TRUE(CopyToDevice(moved, patch, sizeof(patch), stream_.get(), kBytes - 5).ok());
  uint8_t tail[5] = {};
  ASSERT_TRUE(CopyToHost(tail, moved, sizeof(tail), stream_.get(), kBytes - 5).ok());
  ASSERT_TRUE(stream_.Synchronize().ok());
  EXPECT_EQ(std::memcmp(tail, patch, sizeof(tail)), 0);
  EXPECT_EQ(CopyToHost(tail, moved, sizeof(tail), stream_.get(), kBytes - 4).code(),
            absl::StatusCode::kOutOfRange);
}

// The exact value, in double, of what the kernel computes in float.
double SiluMulReference(float gate, float up) {
  const double g = gate;
  return g / (1.0 + std::exp(-g)) * static_cast<double>(up);
}

// Tolerance: relative 1e-6 (about 8 float ulp: expf is within 2 ulp on the GPU, the division and
// the products add half an ulp each) plus 1e-30 absolute for results that underflow.
void ExpectSiluMulClose(const std::vector<float>& gate, const std::vector<float>& up,
                        const std::vector<float>& out) {
  int reported = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const double want = SiluMulReference(gate[i], up[i]);
    const double tolerance = 1e-6 * std::abs(want) + 1e-30;
    if (!(std::abs(out[i] - want) <= tolerance) && reported++ < 10) {
      ADD_FAILURE() << "i=" << i << " gate=" << gate[i] << " up=" << up[i] << " got " << out[i]
                    << " want " << want;
    }
  }
  EXPECT_EQ(reported, 0) << "elements out of tolerance";
}

TEST_F(CudaPlumbingTest, SiluMulMatchesCpu) {
  // More elements than one grid covers, so the grid-stride loop runs; not a multiple of 256.
  constexpr int64_t kN = 3'000'017;
  std::vector<float> gate(kN), up(kN);
  std::mt19937 rng(7);
  std::normal_distribution<float> wide(0.0f, 6.0f);
  std::normal_distribution<float> unit(0.0f, 1.0f);
  for (int64_t i = 0; i < kN; ++i) {
    gate[i] = wide(rng);
    up[i] = unit(rng);
  }
  // Edge inputs: zero, tiny, large of both signs (e^-x overflows for x < -88).
  const float edges[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 88.0f, -88.0f, 100.0f, -100.0f, 1e30f};
  for (size_t i = 0; i < std::size(edges); ++i) gate[i] = edges[i];

  const size_t bytes = kN * sizeof(float);
  absl::StatusOr<DeviceBuffer> d_gate = DeviceBuffer::Allocate(bytes);
  absl::StatusOr<DeviceBuffer> d_up = DeviceBuffer::Allocate(bytes);
  absl::StatusOr<DeviceBuffer> d_out = DeviceBuffer::Allocate(bytes);
  ASSERT_TRUE(d_gate.ok() && d_up.ok() && d_out.ok());
  ASSERT_TRUE(CopyToDevice(*d_gate, gate.data(), bytes, stream_.get()).ok());
  ASSERT_TRUE(CopyToDevice(*d_up, up.data(), bytes, stream_.get()).ok());

  const absl::Status launched =
      cuda::SiluMul(d_out->data_as<float>(), d_gate->data_as<const float>(),
                    d_up->data_as<const float>(), kN, stream_.get());
  ASSERT_TRUE(launched.ok()) << launched;
  std::vector<float> out(kN);
  ASSERT_TRUE(CopyToHost(out.data(), *d_out, bytes, stream_.get()).ok());
  const absl::Status done = stream_.Synchronize();
  ASSERT_TRUE(done.ok()) << done;
  ExpectSiluMulClose(gate, up, out);

  // In place: out aliases gate.
  ASSERT_TRUE(cuda::SiluMul(d_gate->data_as<float>(), d_gate->data_as<const float>(),
                            d_up->data_as<const float>(), kN, stream_.get())
                  .ok());
  std::vector<float> in_place(kN);
  ASSERT_TRUE(CopyToHost(in_place.data(), *d_gate, bytes, stream_.get()).ok());
  ASSERT_TRUE(stream_.Synchronize().ok());
  EXPECT_EQ(std::memcmp(in_place.data(), out.data(), bytes), 0);
}

TEST_F(CudaPlumbingTest, CublasSgemmMatchesCpu) {
  // Row-major C[m,n] = A[m,k] · B[k,n]. cuBLAS is column-major, so it computes Cᵀ = Bᵀ·Aᵀ,
  // which has the same memory layout as row-major C.
  constexpr int kM = 37, kN = 29, kK = 64;
  std::vector<float> a(kM * kK), b(kK * kN), c(kM * kN);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& x : a) x = dist(rng);
  for (float& x : b) x = dist(rng);

  absl::StatusOr<CublasHandle> handle = CublasHandle::Create(stream_.get());
  ASSERT_TRUE(handle.ok()) << handle.status();
  absl::StatusOr<DeviceBuffer> d_a = DeviceBuffer::Allocate(a.size() * sizeof(float));
  absl::StatusOr<DeviceBuffer> d_b = DeviceBuffer::Allocate(b.size() * sizeof(float));
  absl::StatusOr<DeviceBuffer> d_c = DeviceBuffer::Allocate(c.size() * sizeof(float));
  ASSERT_TRUE(d_a.ok() && d_b.ok() && d_c.ok());
  ASSERT_TRUE(CopyToDevice(*d_a, a.data(), d_a->size(), stream_.get()).ok());
  ASSERT_TRUE(CopyToDevice(*d_b, b.data(), d_b->size(), stream_.get()).ok());
  const float alpha = 1.0f, beta = 0.0f;
  const absl::Status gemm =
      CudaToStatus(cublasSgemm(handle->get(), CUBLAS_OP_N, CUBLAS_OP_N, kN, kM, kK, &alpha,
                               d_b->data_as<const float>(), kN, d_a->data_as<const float>(), kK,
                               &beta, d_c->data_as<float>(), kN),
                   "cublasSgemm", __FILE__, __LINE__);
  ASSERT_TRUE(gemm.ok()) << gemm;
  ASSERT_TRUE(CopyToHost(c.data(), *d_c, d_c->size(), stream_.get()).ok());
  ASSERT_TRUE(stream_.Synchronize().ok());

  // Tolerance: 1e-5 of the sum of |products| (float accumulation over k = 64 terms).
  for (int i = 0; i < kM; ++i) {
    for (int j = 0; j < kN; ++j) {
      double want = 0, magnitude = 0;
      for (int p = 0; p < kK; ++p) {
        want += static_cast<double>(a[i * kK + p]) * b[p * kN + j];
        magnitude += std::abs(static_cast<double>(a[i * kK + p]) * b[p * kN + j]);
      }
      ASSERT_NEAR(c[i * kN + j], want, 1e-5 * magnitude + 1e-7) << "at " << i << "," << j;
    }
  }
}

}  // namespace
}  // namespace llmw
