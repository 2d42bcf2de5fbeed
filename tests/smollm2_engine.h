// A test fixture with SmolLM2 served by an engine, as the engine integration tests run it: 16
// sequences, steps of 64 tokens (so long prompts prefill in several chunks), a KV cache of 4,096
// tokens. Skips (or fails under LLMW_REQUIRE_MODELS=1) without the model.
#pragma once

#include <memory>

#include "gtest/gtest.h"
#include "models/model_runner.h"
#include "tests/test_models.h"
#include "worker/engine/engine.h"

namespace llmw::testing {

class SmolLM2EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    LLMW_TEST_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf", "LLMW_SMOLLM2_GGUF");
    RunnerOptions runner_options;
    runner_options.max_batch_tokens = 64;
    runner_options.max_sequences = 16;
    runner_options.kv.bytes = 4096 * int64_t{2 * 30 * 3 * 64 * sizeof(float)};
    absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Load(path, runner_options);
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = std::move(*runner);
    EngineOptions options;
    options.max_batch_tokens = 64;
    options.max_running = 16;
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(*runner_, options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }

  std::unique_ptr<ModelRunner> runner_;
  std::unique_ptr<Engine> engine_;  // drives runner_; declared after it, destroyed first
};

}  // namespace llmw::testing
