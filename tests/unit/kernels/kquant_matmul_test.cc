// Matmul with K-quant weights (Q2_K .. Q6_K): agreement with the reference, equality with an F32
// matmul of the dequantized weights, and the batch / thread / variant invariance of the fast path.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/block_formats.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_internal.h"
#include "tests/unit/kernels/matmul_test_util.h"

namespace llmw::cpu {
namespace {

using matmul_internal::Isa;
using testing_util::RandomActivations;
using testing_util::Weights;

const DType kKQuants[] = {DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

bool BitwiseEqual(const float* a, const float* b, int64_t count) {
  return std::memcmp(a, b, static_cast<size_t>(count) * sizeof(float)) == 0;
}

std::string Name(DType t) { return std::string(DTypeName(t)); }

TEST(KQuantMatmulTest, CheckMatmulWeightAcceptsWholeSuperBlocks) {
  std::vector<uint8_t> data(8 * 210 * 4);
  for (DType t : kKQuants) {
    EXPECT_TRUE(CheckMatmulWeight(Tensor(t, {4, 512}, data.data())).ok()) << Name(t);
    EXPECT_EQ(CheckMatmulWeight(Tensor(t, {4, 640}, data.data())).code(),
              absl::StatusCode::kInvalidArgument)
        << Name(t);
  }
}

// Against the double-accumulating reference: the fast path is an f32 dot product of the same
// dequantized values, so only float rounding separates them.
TEST(KQuantMatmulTest, MatchesReference) {
  ThreadPool pool(3);
  MatmulScratch scratch;
  const int64_t in = 1536, out = 37, n = 5;
  uint32_t seed = 40;
  for (DType t : kKQuants) {
    const Weights w(t, out, in, ++seed);
    const std::vector<float> x = RandomActivations(n, in, ++seed);
    std::vector<float> got(n * out), want(n * out);
    Matmul(w.tensor, x.data(), n, got.data(), pool, scratch);
    MatmulReference(w.tensor, x.data(), n, want.data());
    for (int64_t o = 0; o < out; ++o) {
      const std::vector<float> row = w.Row(o);
      for (int64_t c = 0; c < n; ++c) {
        double magnitude = 0;
        for (int64_t i = 0; i < in; ++i) magnitude += std::fabs(row[i] * x[c * in + i]);
        const double tol = testing_util::FloatSlack(DType::kF32, in, magnitude);
        EXPECT_NEAR(got[c * out + o], want[c * out + o], tol)
            << Name(t) << " row " << c << " out " << o;
      }
    }
  }
}

// Bitwise equal to an F32 matmul of the dequantized weights, in every variant.
TEST(KQuantMatmulTest, EqualsF32MatmulOfDequantizedWeights) {
  ThreadPool pool(2);
  MatmulScratch scratch;
  const int64_t in = 512, out = 19, n = 6;
  uint32_t seed = 70;
  for (DType t : kKQuants) {
    const Weights w(t, out, in, ++seed);
    std::vector<float> dense(out * in);
    for (int64_t o = 0; o < out; ++o) {
      const std::vector<float> row = w.Row(o);
      std::memcpy(dense.data() + o * in, row.data(), in * sizeof(float));
    }
    const Tensor f32(DType::kF32, {out, in}, dense.data());
    const std::vector<float> x = RandomActivations(n, in, ++seed);
    for (Isa isa : matmul_internal::AvailableIsas()) {
      std::vector<float> got(n * out), want(n * out);
      matmul_internal::MatmulWithIsa(isa, w.tensor, x.data(), n, got.data(), pool, scratch);
      matmul_internal::MatmulWithIsa(isa, f32, x.data(), n, want.data(), pool, scratch);
      EXPECT_TRUE(BitwiseEqual(got.data(), want.data(), n * out))
          << matmul_internal::IsaName(isa) << " " << Name(t);
    }
  }
}

TEST(KQuantMatmulTest, EveryVariantEqualsTheScalarKernel) {
  ThreadPool pool(3);
  MatmulScratch scratch;
  struct Shape {
    int64_t in, out, n;
  };
  const Shape kShapes[] = {{256, 3, 1}, {768, 41, 1}, {1536, 64, 5}, {512, 9, 17}};
  uint32_t seed = 300;
  for (DType t : kKQuants) {
    for (const Shape& s : kShapes) {
      const Weights w(t, s.out, s.in, ++seed);
      const std::vector<float> x = RandomActivations(s.n, s.in, ++seed);
      std::vector<float> want(s.n * s.out);
      matmul_internal::MatmulWithIsa(Isa::kScalar, w.tensor, x.data(), s.n, want.data(), pool,
                                     scratch);
      for (Isa isa : matmul_internal::AvailableIsas()) {
        std::vector<float> got(s.n * s.out);
        matmul_internal::MatmulWithIsa(isa, w.tensor, x.data(), s.n, got.data(), pool, scratch);
        EXPECT_TRUE(BitwiseEqual(got.data(), want.data(), s.n * s.out))
            << matmul_internal::IsaName(isa) << " " << Name(t) << " in " << s.in << " out " << s.out
            << " n " << s.n;
      }
    }
  }
}

// Row i computed alone equals row 3 of a batch of 7 holding it, for every thread count.
TEST(KQuantMatmulTest, RowDoesNotDependOnBatchOrThreads) {
  const int64_t in = 768, out = 45;
  uint32_t seed = 900;
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (int threads : {1, 2, 3, 8}) pools.push_back(std::make_unique<ThreadPool>(threads));
  for (Isa isa : matmul_internal::AvailableIsas()) {
    for (DType t : kKQuants) {
      const Weights w(t, out, in, ++seed);
      const std::vector<float> batch = RandomActivations(7, in, ++seed);
      const float* row = batch.data() + 3 * in;
      MatmulScratch scratch;
      std::vector<float> alone(out);
      matmul_internal::MatmulWithIsa(isa, w.tensor, row, 1, alone.data(), *pools[0], scratch);
      for (const auto& pool : pools) {
        std::vector<float> y1(out), y7(7 * out);
        matmul_internal::MatmulWithIsa(isa, w.tensor, row, 1, y1.data(), *pool, scratch);
        matmul_internal::MatmulWithIsa(isa, w.tensor, batch.data(), 7, y7.data(), *pool, scratch);
        EXPECT_TRUE(BitwiseEqual(y1.data(), alone.data(), out))
            << matmul_internal::IsaName(isa) << " " << Name(t) << " threads "
            << pool->num_threads();
        EXPECT_TRUE(BitwiseEqual(y7.data() + 3 * out, alone.data(), out))
            << matmul_internal::IsaName(isa) << " " << Name(t) << " threads "
            << pool->num_threads();
      }
    }
  }
}

TEST(KQuantMatmulTest, LargeBatchMatchesSingleRows) {
  const int64_t in = 1024, out = 30, n = 70;
  ThreadPool pool(4);
  MatmulScratch scratch;
  for (DType t : {DType::kQ4_K, DType::kQ6_K}) {
    const Weights w(t, out, in, 77);
    const std::vector<float> x = RandomActivations(n, in, 78);
    std::vector<float> y(n * out), single(out);
    Matmul(w.tensor, x.data(), n, y.data(), pool, scratch);
    for (int64_t c = 0; c < n; ++c) {
      Matmul(w.tensor, x.data() + c * in, 1, single.data(), pool, scratch);
      ASSERT_TRUE(BitwiseEqual(y.data() + c * out, single.data(), out)) << Name(t) << " row " << c;
    }
  }
}

// The dequantization buffer is sized once; later calls of the same size reuse it.
TEST(KQuantMatmulTest, SteadyStateReusesTheWeightBuffer) {
  ThreadPool pool(2);
  MatmulScratch scratch;
  const Weights w(DType::kQ4_K, 16, 512, 5);
  const std::vector<float> x = RandomActivations(1, 512, 6);
  std::vector<float> y(16);
  Matmul(w.tensor, x.data(), 1, y.data(), pool, scratch);
  const float* first = scratch.WeightRows(1);
  Matmul(w.tensor, x.data(), 1, y.data(), pool, scratch);
  EXPECT_EQ(scratch.WeightRows(1), first);
}

// Not a check: prints the time of one decode-sized matmul next to Q4_1 and F32 ones of similar
// size (the K-quant path is dequantization plus the F32 kernel).
TEST(KQuantMatmulTest, TimingReport) {
  ThreadPool pool(1);
  MatmulScratch scratch;
  const int64_t in = 1536;
  const std::vector<float> x = RandomActivations(1, in, 3);
  for (const auto& [t, out] :
       {std::pair{DType::kQ4_K, int64_t{640}}, std::pair{DType::kQ4_1, int64_t{576}},
        std::pair{DType::kQ6_K, int64_t{640}}, std::pair{DType::kQ2_K, int64_t{640}},
        std::pair{DType::kQ3_K, int64_t{640}}, std::pair{DType::kQ5_K, int64_t{640}},
        std::pair{DType::kF32, int64_t{640}}}) {
    const Weights w(t, out, in, 4);
    std::vector<float> y(out);
    Matmul(w.tensor, x.data(), 1, y.data(), pool, scratch);
    const int reps = 20;
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) Matmul(w.tensor, x.data(), 1, y.data(), pool, scratch);
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count() /
        reps;
    std::printf("  %s [out %lld, in %lld] n=1, 1 thread, %s: %.1f us (%.2f ns/weight)\n",
                Name(t).c_str(), static_cast<long long>(out), static_cast<long long>(in),
                matmul_internal::IsaName(matmul_internal::BestIsa()), us,
                1000.0 * us / static_cast<double>(out * in));
  }
}

}  // namespace
}  // namespace llmw::cpu
