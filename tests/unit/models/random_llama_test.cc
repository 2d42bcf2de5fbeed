// Random-weight llama models: every shape is a valid config, the tiny one runs in every weight
// type with finite logits of a sane spread, and a seed fixes the weights.
#include "models/llama/random_llama.h"

#include <cmath>
#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_runner.h"
#include "worker/engine/sequence_runner.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;

std::vector<float> PromptLogits(DType dtype, uint64_t seed) {
  auto backend = CreateBackend({.device = Device::kCpu, .threads = 1});
  EXPECT_TRUE(backend.ok());
  auto model = RandomLlama("tiny", dtype, seed, **backend);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return {};
  RunnerOptions options;
  options.max_sequences = 4;
  options.kv.bytes = 1 << 20;
  auto runner = ModelRunner::Create(std::move(*backend), std::move(*model), options);
  EXPECT_TRUE(runner.ok()) << runner.status();
  auto sequence = SequenceRunner::Create(**runner, 16);
  const std::vector<int32_t> prompt = (*runner)->tokenizer().Encode("Hello, world", true, false);
  auto logits = (*sequence)->Append(prompt);
  EXPECT_TRUE(logits.ok()) << logits.status();
  return logits.ok() ? std::vector<float>(logits->begin(), logits->end()) : std::vector<float>{};
}

TEST(RandomLlamaTest, EveryShapeIsAValidConfig) {
  for (const std::string& shape : RandomLlamaShapes()) {
    EXPECT_TRUE(RandomLlamaConfig(shape).ok()) << shape;
  }
  const absl::StatusOr<LlamaConfig> c = RandomLlamaConfig("llama3.1-8b");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->n_layers, 32);
  EXPECT_EQ(c->hidden, 4096);
  EXPECT_EQ(c->n_kv_heads, 8);
  EXPECT_EQ(c->vocab_size, 128256);
  EXPECT_THAT(RandomLlamaConfig("gpt-5").status().message(), HasSubstr("known: tiny"));
}

TEST(RandomLlamaTest, TinyModelRunsInEveryWeightType) {
  // Q4_K and Q6_K rows of 64 do not hold a super-block: they fall back to Q5_0 and Q8_0, as
  // converters do.
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                      DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
    SCOPED_TRACE(DTypeName(dtype));
    const std::vector<float> logits = PromptLogits(dtype, 1);
    ASSERT_EQ(logits.size(), 300u);
    double sum = 0, sum_sq = 0;
    for (float v : logits) {
      ASSERT_TRUE(std::isfinite(v));
      sum += v;
      sum_sq += double{v} * v;
    }
    // Weights of deviation 1/sqrt(fan-in) and unit norms: logits of deviation about 1.
    const double sd = std::sqrt(sum_sq / logits.size() - sum * sum / logits.size() / logits.size());
    EXPECT_GT(sd, 0.2);
    EXPECT_LT(sd, 5.0);
  }
}

TEST(RandomLlamaTest, TheSeedFixesTheWeights) {
  EXPECT_EQ(PromptLogits(DType::kQ8_0, 7), PromptLogits(DType::kQ8_0, 7));
  EXPECT_NE(PromptLogits(DType::kQ8_0, 7), PromptLogits(DType::kQ8_0, 8));
}

TEST(RandomLlamaTest, RefusesTypesWithoutAMatmul) {
  auto backend = CreateBackend({.device = Device::kCpu, .threads = 1});
  ASSERT_TRUE(backend.ok());
  EXPECT_EQ(RandomLlama("tiny", DType::kQ8_K, 1, **backend).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RandomLlamaTest, KvCacheDTypeAutoIsF32OnTheCpuAndAnExplicitOneIsKept) {
  EXPECT_EQ(*ParseKvCacheDType("auto"), std::nullopt);
  EXPECT_EQ(*ParseKvCacheDType("bf16"), DType::kBF16);
  EXPECT_EQ(*ParseKvCacheDType("f16"), DType::kF16);
  EXPECT_EQ(*ParseKvCacheDType("f32"), DType::kF32);
  EXPECT_THAT(ParseKvCacheDType("q8_0").status().message(), HasSubstr("auto, f32, f16 or bf16"));
  for (const std::optional<DType> dtype : {std::optional<DType>(), std::optional(DType::kBF16)}) {
    auto backend = CreateBackend({.device = Device::kCpu, .threads = 1});
    ASSERT_TRUE(backend.ok());
    auto model = RandomLlama("tiny", DType::kF32, 1, **backend);
    ASSERT_TRUE(model.ok()) << model.status();
    RunnerOptions options;
    options.max_sequences = 2;
    options.kv.bytes = 1 << 20;
    options.kv.dtype = dtype;
    auto runner = ModelRunner::Create(std::move(*backend), std::move(*model), options);
    ASSERT_TRUE(runner.ok()) << runner.status();
    EXPECT_EQ((*runner)->kv_cache().shape().dtype, dtype.value_or(DType::kF32));
  }
}

}  // namespace
}  // namespace llmw
