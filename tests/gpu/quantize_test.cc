// The GPU activation quantizers against the CPU's, bit for bit: the Q8 rule of the 32-element
// block formats (the scalar kernel table's quantize, which every CPU variant equals) and Q8_K of
// the K-quants (QuantizeRowQ8K), on random rows and on blocks made to hit the rules' corners.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/kquant/kquant_matmul.h"
#include "kernels/cpu/matmul_internal.h"
#include "kernels/cuda/matmul.h"
#include "tests/gpu/weights_test_util.h"
#include "tests/unit/kernels/block_weights_test_util.h"
#include "tests/unit/kernels/matmul_test_util.h"

namespace llmw {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

constexpr int64_t kIn = 2048;

// Rows of kIn elements: random ones (with an outlier each), then one whose super-blocks of 256
// (and blocks of 32) are made to reach the corners of both rules.
std::vector<float> CornerRows(int64_t n_random) {
  std::vector<float> x = cpu::testing_util::RandomActivations(n_random, kIn, 9);
  std::vector<float> corner(kIn, 0.0f);
  auto block = [&](int b) { return corner.data() + 32 * b; };
  // Super-block 0: amax 127, so x lands on halves, which round to even; a NaN, which the CPU
  // leaves out of the maximum and codes as -127.
  const float halves[] = {127.0f, 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -0.5f, 1.5f, 126.5f, -126.5f};
  std::memcpy(block(1), halves, sizeof(halves));
  block(2)[0] = kNaN;
  block(2)[5] = 3.0f;
  // Super-blocks 1 and 2: ties of magnitude; the first sets the sign of Q8_K's scale.
  block(8)[3] = -5.0f;
  block(9)[4] = 5.0f;
  block(16)[0] = 4.0f;
  block(17)[9] = -4.0f;
  // Super-block 3: NaN only.
  for (int i = 768; i < 1024; ++i) corner[i] = kNaN;
  // Super-blocks 4, 5, 6: infinity, subnormals only, magnitudes near the f32 limit.
  block(32)[7] = kInf;
  block(32)[8] = -1.0f;
  block(40)[0] = 1e-40f;
  block(40)[1] = -3e-39f;
  block(48)[0] = 3e38f;
  block(48)[1] = -1e38f;
  // Super-block 7 and block 0 stay zero.
  x.insert(x.end(), corner.begin(), corner.end());
  return x;
}

template <typename T>
void ExpectBitwiseEqual(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  int mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0 && mismatches++ < 8) {
      ADD_FAILURE() << what << "[" << i << "]: GPU " << +got[i] << ", CPU " << +want[i];
    }
  }
  EXPECT_EQ(mismatches, 0) << what << ": " << mismatches << " of " << got.size() << " differ";
}

using QuantizeTest = gpu_testing::CudaWeightsTest;

TEST_F(QuantizeTest, Q8EqualsCpu) {
  const std::vector<float> x = CornerRows(7);
  const int64_t n = static_cast<int64_t>(x.size()) / kIn, blocks = kIn / 32;

  std::vector<int8_t> want_q(x.size());
  std::vector<float> want_d(n * blocks), want_s(n * blocks);
  for (int64_t c = 0; c < n; ++c) {
    cpu::matmul_internal::ScalarKernels().quantize(
        x.data() + c * kIn, kIn, /*bias_offset=*/0, want_q.data() + c * kIn,
        want_d.data() + c * blocks, want_s.data() + c * blocks, nullptr);
  }

  int8_t* q = Poisoned<int8_t>(x.size());
  float* d = Poisoned<float>(n * blocks);
  float* s = Poisoned<float>(n * blocks);
  const absl::Status status = cuda::QuantizeRowsQ8(ToDevice(x), n, kIn, q, d, s, stream_.get());
  ASSERT_TRUE(status.ok()) << status;
  ExpectBitwiseEqual(ToHost(q, x.size()), want_q, "q");
  ExpectBitwiseEqual(ToHost(d, n * blocks), want_d, "d");
  ExpectBitwiseEqual(ToHost(s, n * blocks), want_s, "s");
}

TEST_F(QuantizeTest, Q8KEqualsCpu) {
  const std::vector<float> x = CornerRows(7);
  const int64_t n = static_cast<int64_t>(x.size()) / kIn, blocks = kIn / 256;

  std::vector<cpu::BlockQ8K> cpu_blocks(n * blocks);
  for (int64_t c = 0; c < n; ++c) {
    cpu::QuantizeRowQ8K(x.data() + c * kIn, kIn, cpu_blocks.data() + c * blocks);
  }
  std::vector<int8_t> want_q(x.size());
  std::vector<int16_t> want_bsums(n * kIn / 16);
  std::vector<float> want_d(n * blocks);
  for (int64_t b = 0; b < n * blocks; ++b) {
    std::memcpy(want_q.data() + 256 * b, cpu_blocks[b].qs, 256);
    std::memcpy(want_bsums.data() + 16 * b, cpu_blocks[b].bsums, 32);
    want_d[b] = cpu_blocks[b].d;
  }

  int8_t* q = Poisoned<int8_t>(x.size());
  int16_t* bsums = Poisoned<int16_t>(want_bsums.size());
  float* d = Poisoned<float>(want_d.size());
  const absl::Status status =
      cuda::QuantizeRowsQ8K(ToDevice(x), n, kIn, q, bsums, d, stream_.get());
  ASSERT_TRUE(status.ok()) << status;
  ExpectBitwiseEqual(ToHost(q, x.size()), want_q, "q");
  ExpectBitwiseEqual(ToHost(bsums, want_bsums.size()), want_bsums, "bsums");
  ExpectBitwiseEqual(ToHost(d, want_d.size()), want_d, "d");
}

// ---- Argument checks: no device is touched, so these run everywhere. ----

TEST(QuantizeArgsTest, RejectsBadShapesAndNullPointers) {
  float* x = reinterpret_cast<float*>(0x1000);
  int8_t* q = reinterpret_cast<int8_t*>(0x2000);
  float* d = reinterpret_cast<float*>(0x3000);
  int16_t* bsums = reinterpret_cast<int16_t*>(0x4000);
  EXPECT_EQ(cuda::QuantizeRowsQ8(x, 1, 48, q, d, d, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda::QuantizeRowsQ8(x, -1, 32, q, d, d, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda::QuantizeRowsQ8(x, 1, 32, q, nullptr, d, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(cuda::QuantizeRowsQ8(nullptr, 0, 32, nullptr, nullptr, nullptr, nullptr).ok());
  EXPECT_EQ(cuda::QuantizeRowsQ8K(x, 1, 32, q, bsums, d, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda::QuantizeRowsQ8K(x, 1, 256, q, nullptr, d, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(cuda::QuantizeRowsQ8K(x, 2, 0, q, bsums, d, nullptr).ok());
}

}  // namespace
}  // namespace llmw
