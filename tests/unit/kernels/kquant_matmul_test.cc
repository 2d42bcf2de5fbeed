// Matmul with K-quant weights (Q2_K .. Q6_K) through the public entry point: which shapes it
// takes, and that a row's result does not depend on the batch or the thread count. The integer
// kernels themselves are tested in kquant_fast_test.cc.
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

}  // namespace
}  // namespace llmw::cpu
