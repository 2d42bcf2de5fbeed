// Whole models on the CUDA backend against the CPU backend: every tiny fixture checkpoint (each
// family, Hugging Face directories and their GGUF conversions) and random-weight models at
// SmolLM2's shape in several weight types run the same three steps on both — prefill chunks, a
// decode beside them, and a sequence that reuses a cached prefix block — and their logits must
// agree.
//
// How close is close: the quantized paths of both backends round activations to 8 bits, and a
// perturbation as small as a different float summation order flips some of those roundings in
// later layers, which moves logits by up to a few tenths to a few units on real models (measured on
// the CPU by perturbing the KV cache's precision: see tests/integration/kv_cache_dtype_test.cc).
// So logits are compared by their correlation per row (a broken kernel gives none) and by the
// greedy pick wherever the CPU's two best logits are clearly apart. The thresholds are first
// choices; tighten them with what a GPU run measures (the test prints it).
//
// Skips without a GPU; LLMW_REQUIRE_GPU=1 makes that a failure.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/status_macros.h"
#include "models/llama/random_llama.h"
#include "models/model_runner.h"
#include "tests/gpu/model_cases.h"
#include "worker/engine/sampler.h"

namespace llmw {
namespace {

constexpr double kMinCorrelation = 0.99;
constexpr double kClearMargin = 1.0;  // logits; the greedy picks must agree above it

std::vector<ModelCase> Cases() {
  return ModelCases({DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K});
}

absl::StatusOr<std::unique_ptr<ModelRunner>> Load(const ModelCase& c, Device device) {
  RunnerOptions options;
  options.backend.device = device;
  options.backend.threads = 2;
  options.max_batch_tokens = 32;
  options.max_sequences = 16;
  options.kv.block_size = 8;
  options.kv.bytes = int64_t{64} << 20;
  options.kv.dtype = DType::kF32;  // the same cache on both backends (auto would differ)
  return LoadModelCase(c, options);
}

// The three steps' logit rows, in order.
absl::StatusOr<std::vector<std::vector<float>>> RunSteps(ModelRunner& runner) {
  const int64_t vocab = runner.info().vocab_size;
  std::vector<int32_t> a(20), b(6), c(4);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int32_t>((i * 37 + 11) % vocab);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<int32_t>((i * 53 + 5) % vocab);
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<int32_t>((i * 71 + 3) % vocab);
  KvCache& kv = runner.kv_cache();
  BlockTable ta, tb, tc;
  RETURN_IF_ERROR(kv.Reserve(ta, 21));
  RETURN_IF_ERROR(kv.Reserve(tb, 8));
  // c continues a's first 16 tokens: it shares a's first two blocks.
  tc.mutable_blocks() = {ta.blocks()[0], ta.blocks()[1]};
  kv.mutable_allocator().AddRef(ta.blocks()[0]);
  kv.mutable_allocator().AddRef(ta.blocks()[1]);
  RETURN_IF_ERROR(kv.Reserve(tc, 20));
  std::vector<std::vector<float>> rows;
  const auto run = [&](const ForwardBatch& batch) -> absl::Status {
    RETURN_IF_ERROR(runner.Forward(batch));
    for (int64_t r = 0; r < runner.num_logit_rows(); ++r) {
      const std::span<const float> row = runner.LogitRow(r);
      rows.emplace_back(row.begin(), row.end());
    }
    return absl::OkStatus();
  };
  const std::span<const int32_t> as(a), bs(b), cs(c);
  ForwardBatch step;
  step.chunks = {{as.subspan(0, 12), 0, &ta, ChunkLogits::kNone},
                 {bs.subspan(0, 6), 0, &tb, ChunkLogits::kLast}};
  RETURN_IF_ERROR(run(step));
  step.chunks = {{as.subspan(12, 8), 12, &ta, ChunkLogits::kAll},
                 {std::span<const int32_t>(&a[3], 1), 6, &tb, ChunkLogits::kLast}};
  RETURN_IF_ERROR(run(step));
  step.chunks = {{cs, 16, &tc, ChunkLogits::kAll},
                 {std::span<const int32_t>(&b[2], 1), 7, &tb, ChunkLogits::kLast},
                 {std::span<const int32_t>(&a[5], 1), 20, &ta, ChunkLogits::kLast}};
  RETURN_IF_ERROR(run(step));
  for (BlockTable* t : {&ta, &tb, &tc}) kv.Release(*t);
  return rows;
}

double Correlation(const std::vector<float>& x, const std::vector<float>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= x.size(), my /= y.size();
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

class CudaModelsTest : public ::testing::TestWithParam<ModelCase> {};

TEST_P(CudaModelsTest, LogitsMatchTheCpuBackend) {
  const ModelCase& c = GetParam();
  absl::StatusOr<std::unique_ptr<ModelRunner>> gpu = Load(c, Device::kCuda);
  if (!gpu.ok() && absl::IsUnavailable(gpu.status()) && !GpuRequired()) {
    GTEST_SKIP() << gpu.status();
  }
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  absl::StatusOr<std::unique_ptr<ModelRunner>> cpu = Load(c, Device::kCpu);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  absl::StatusOr<std::vector<std::vector<float>>> want = RunSteps(**cpu);
  ASSERT_TRUE(want.ok()) << want.status();
  absl::StatusOr<std::vector<std::vector<float>>> got = RunSteps(**gpu);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), want->size());
  double max_diff = 0, min_correlation = 1;
  int clear = 0, agreeing = 0;
  for (size_t r = 0; r < want->size(); ++r) {
    const std::vector<float>& w = (*want)[r];
    const std::vector<float>& g = (*got)[r];
    for (size_t i = 0; i < w.size(); ++i) {
      ASSERT_TRUE(std::isfinite(g[i])) << "row " << r << " logit " << i;
      max_diff = std::max(max_diff, double{std::abs(g[i] - w[i])});
    }
    const double corr = Correlation(w, g);
    min_correlation = std::min(min_correlation, corr);
    EXPECT_GE(corr, kMinCorrelation) << "row " << r;
    std::vector<float> sorted = w;
    std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
    if (sorted[0] - sorted[1] > kClearMargin) {
      ++clear;
      agreeing += ArgMax(g) == ArgMax(w);
      EXPECT_EQ(ArgMax(g), ArgMax(w)) << "row " << r << ", CPU margin " << sorted[0] - sorted[1];
    }
  }
  std::cout << c.name << ": " << want->size() << " logit rows, max |cuda - cpu| " << max_diff
            << ", lowest row correlation " << min_correlation << ", greedy picks equal " << agreeing
            << " of " << clear << " clear rows\n";
}

INSTANTIATE_TEST_SUITE_P(Models, CudaModelsTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<ModelCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace llmw
