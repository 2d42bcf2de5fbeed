// Bitwise properties of Matmul: every SIMD variant equals the portable kernel, and an output
// does not depend on the other rows of the batch or on the number of threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_internal.h"
#include "tests/unit/kernels/matmul_test_util.h"

namespace llmw::cpu {
namespace {

using matmul_internal::Isa;
using testing_util::IsQuantized;
using testing_util::MatmulTypes;
using testing_util::Weights;

bool BitwiseEqual(const float* a, const float* b, int64_t count) {
  return std::memcmp(a, b, static_cast<size_t>(count) * sizeof(float)) == 0;
}

TEST(MatmulInvarianceTest, EveryVariantEqualsTheScalarKernel) {
  ThreadPool pool(3);
  MatmulScratch scratch;
  struct Shape {
    int64_t in, out, n;
  };
  uint32_t seed = 500;
  for (DType t : MatmulTypes()) {
    std::vector<Shape> shapes = {{576, 577, 1}, {576, 577, 5}, {1536, 192, 16}, {64, 3, 2},
                                 {96, 9, 1},    {32, 5, 3},    {800, 33, 6}};
    if (!IsQuantized(t)) shapes.push_back({37, 9, 3});
    for (const Shape& s : shapes) {
      const Weights w(t, s.out, s.in, ++seed);
      const std::vector<float> x = testing_util::RandomActivations(s.n, s.in, ++seed);
      std::vector<float> want(s.n * s.out);
      matmul_internal::MatmulWithIsa(Isa::kScalar, w.tensor, x.data(), s.n, want.data(), pool,
                                     scratch);
      for (Isa isa : matmul_internal::AvailableIsas()) {
        std::vector<float> got(s.n * s.out);
        matmul_internal::MatmulWithIsa(isa, w.tensor, x.data(), s.n, got.data(), pool, scratch);
        EXPECT_TRUE(BitwiseEqual(got.data(), want.data(), s.n * s.out))
            << matmul_internal::IsaName(isa) << " " << DTypeName(t) << " in " << s.in << " out "
            << s.out << " n " << s.n;
      }
    }
  }
}

TEST(MatmulInvarianceTest, ActivationQuantizationIsTheSameInEveryVariant) {
  const int64_t in = 32 * 6;
  std::vector<float> x = testing_util::RandomActivations(1, in, 9);
  for (int j = 0; j < 32; ++j) x[32 + j] = 0.0f;  // all-zero block
  // amax 63.5 gives d = 0.5, id = 2, so 0.25 * (j - 16) lands on ties for odd j.
  for (int j = 0; j < 32; ++j) x[64 + j] = 0.25f * (j - 16);
  x[64 + 31] = 63.5f;
  for (int j = 0; j < 32; ++j) x[96 + j] = -1e-30f * (j + 1);                // tiny values
  for (int j = 0; j < 32; ++j) x[128 + j] = (j % 2 ? 1.0f : -1.0f) * 3e38f;  // huge values
  const auto& scalar = matmul_internal::ScalarKernels();
  const int64_t blocks = MatmulScratch::BlocksPerRow(in);
  std::vector<int8_t> q0(in), q1(in);
  std::vector<int32_t> b0(blocks), b1(blocks);
  std::vector<float> d0(blocks, NAN), s0(blocks, NAN), d1(blocks, NAN), s1(blocks, NAN);
  scalar.quantize(x.data(), in, 16, q0.data(), d0.data(), s0.data(), b0.data());
  EXPECT_EQ(q0[64], -8);
  EXPECT_EQ(q0[64 + 1], -8);  // -7.5 rounds to even
  EXPECT_EQ(q0[64 + 3], -6);  // -6.5 rounds to even
  EXPECT_EQ(q0[64 + 31], 127);
  EXPECT_EQ(b0[2], -16 * 111);  // block 2: ties rounded to even sum to -16, plus 127
  EXPECT_EQ(d0[1], 0.0f);
  EXPECT_EQ(s0[1], 0.0f);
  for (Isa isa : matmul_internal::AvailableIsas()) {
    matmul_internal::Kernels(isa).quantize(x.data(), in, 16, q1.data(), d1.data(), s1.data(),
                                           b1.data());
    EXPECT_EQ(q1, q0) << matmul_internal::IsaName(isa);
    EXPECT_EQ(b1, b0) << matmul_internal::IsaName(isa);
    EXPECT_TRUE(BitwiseEqual(d1.data(), d0.data(), blocks)) << matmul_internal::IsaName(isa);
    EXPECT_TRUE(BitwiseEqual(s1.data(), s0.data(), blocks)) << matmul_internal::IsaName(isa);
  }
}

// Row i computed alone equals row 3 of a batch of 7 holding it, for every thread count.
TEST(MatmulInvarianceTest, RowDoesNotDependOnBatchOrThreads) {
  const int64_t in = 576, out = 577;
  uint32_t seed = 900;
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (int threads : {1, 2, 3, 8}) pools.push_back(std::make_unique<ThreadPool>(threads));
  for (Isa isa : matmul_internal::AvailableIsas()) {
    for (DType t : MatmulTypes()) {
      const Weights w(t, out, in, ++seed);
      const std::vector<float> batch = testing_util::RandomActivations(7, in, ++seed);
      const float* row = batch.data() + 3 * in;
      MatmulScratch scratch;
      std::vector<float> alone(out);
      matmul_internal::MatmulWithIsa(isa, w.tensor, row, 1, alone.data(), *pools[0], scratch);
      for (const auto& pool : pools) {
        std::vector<float> y1(out), y7(7 * out);
        matmul_internal::MatmulWithIsa(isa, w.tensor, row, 1, y1.data(), *pool, scratch);
        matmul_internal::MatmulWithIsa(isa, w.tensor, batch.data(), 7, y7.data(), *pool, scratch);
        EXPECT_TRUE(BitwiseEqual(y1.data(), alone.data(), out))
            << matmul_internal::IsaName(isa) << " " << DTypeName(t) << " threads "
            << pool->num_threads();
        EXPECT_TRUE(BitwiseEqual(y7.data() + 3 * out, alone.data(), out))
            << matmul_internal::IsaName(isa) << " " << DTypeName(t) << " threads "
            << pool->num_threads();
      }
    }
  }
}

// A batch large enough to be split into several activation chunks and register tiles, with
// every row checked against its own n = 1 result.
TEST(MatmulInvarianceTest, LargeBatchMatchesSingleRows) {
  const int64_t in = 1536, out = 70, n = 150;
  ThreadPool pool(4);
  MatmulScratch scratch;
  for (DType t : {DType::kQ4_1, DType::kQ8_0, DType::kQ5_0, DType::kF16}) {
    const Weights w(t, out, in, 77);
    const std::vector<float> x = testing_util::RandomActivations(n, in, 78);
    std::vector<float> y(n * out), single(out);
    Matmul(w.tensor, x.data(), n, y.data(), pool, scratch);
    for (int64_t c = 0; c < n; ++c) {
      Matmul(w.tensor, x.data() + c * in, 1, single.data(), pool, scratch);
      ASSERT_TRUE(BitwiseEqual(y.data() + c * out, single.data(), out))
          << DTypeName(t) << " row " << c;
    }
  }
}

}  // namespace
}  // namespace llmw::cpu
