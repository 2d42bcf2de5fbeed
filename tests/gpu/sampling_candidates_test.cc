// Sampling from candidates on the GPU, end to end, on a random-weight model with SmolLM2's shape
// (a vocabulary of 49,152): the runner's candidate rows (cuda::TopCandidates, read back instead
// of the rows) equal cpu::TopCandidates of the same rows read whole, and the engine gives a
// request sampled from candidates the tokens of the same request sampled from whole rows (asked
// with logprobs, which need them).
//
// Skips without a usable GPU and fails instead under LLMW_REQUIRE_GPU=1.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/top_candidates.h"
#include "models/llama/random_llama.h"
#include "models/model_runner.h"
#include "tests/engine_test_util.h"
#include "worker/engine/engine.h"

namespace llmw {
namespace {

class GpuSamplingCandidatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RunnerOptions options;
    options.backend.device = Device::kCuda;
    options.max_sequences = 16;
    options.max_batch_tokens = 256;
    options.kv.bytes = int64_t{64} << 20;
    absl::StatusOr<std::unique_ptr<ModelRunner>> runner =
        RandomLlamaRunner("smollm2-135m", "bf16", options);
    if (!runner.ok()) {
      const char* require = std::getenv("LLMW_REQUIRE_GPU");
      if (require != nullptr && std::string(require) == "1") FAIL() << runner.status();
      GTEST_SKIP() << runner.status();
    }
    runner_ = std::move(*runner);
  }

  std::unique_ptr<ModelRunner> runner_;
};

TEST_F(GpuSamplingCandidatesTest, CandidateRowsEqualTheCpuSelectionOfTheWholeRows) {
  const int64_t vocab = runner_->info().vocab_size;
  BlockTable blocks;
  ASSERT_TRUE(runner_->kv_cache().Reserve(blocks, 16).ok());
  const std::vector<int32_t> tokens = {1, 500, 77, 9000, 42, 3};
  ForwardBatch batch;
  batch.chunks.push_back(SequenceChunk{tokens, 0, &blocks, ChunkLogits::kAll});
  const auto whole_rows = [&] {
    std::vector<float> rows;
    EXPECT_TRUE(runner_->Forward(batch).ok());
    for (int64_t r = 0; r < 6; ++r) {
      const std::span<const float> row = runner_->LogitRow(r);
      rows.insert(rows.end(), row.begin(), row.end());
    }
    return rows;
  };
  const std::vector<float> before = whole_rows();

  const std::vector<int32_t> extra_ids = {0, 17, static_cast<int32_t>(vocab - 1)};
  batch.readback = {LogitReadback{1, {}}, LogitReadback{}, LogitReadback{40, extra_ids},
                    LogitReadback{1024, {}}, LogitReadback{2, extra_ids}};
  ASSERT_TRUE(runner_->Forward(batch).ok());
  std::vector<std::vector<int32_t>> got_ids;
  std::vector<std::vector<float>> got_values, got_extra;
  for (const int64_t r : {0, 2, 3, 4}) {
    const ModelRunner::LogitCandidates c = runner_->Candidates(r);
    got_ids.emplace_back(c.top_ids.begin(), c.top_ids.end());
    got_values.emplace_back(c.top_values.begin(), c.top_values.end());
    got_extra.emplace_back(c.extra_values.begin(), c.extra_values.end());
  }

  batch.readback.clear();
  ASSERT_EQ(whole_rows(), before) << "the forward pass is not deterministic: nothing to compare";
  const int32_t offsets[2] = {0, static_cast<int32_t>(extra_ids.size())};
  int i = 0;
  for (const int64_t r : {0, 2, 3, 4}) {
    SCOPED_TRACE(::testing::Message() << "row " << r);
    std::vector<int32_t> want_ids(1024);
    std::vector<float> want_values(1024), want_extra(extra_ids.size());
    cpu::TopCandidates(want_ids.data(), want_values.data(), want_extra.data(),
                       before.data() + r * vocab, 1, vocab, 1024, extra_ids.data(), offsets);
    EXPECT_EQ(got_ids[i], want_ids);  // every candidate row holds the step's largest top_n
    EXPECT_EQ(got_values[i], want_values);
    if (r == 2 || r == 4) {
      EXPECT_EQ(got_extra[i], want_extra);
    } else {
      EXPECT_TRUE(got_extra[i].empty());
    }
    ++i;
  }
  runner_->kv_cache().Release(blocks);
}

TEST_F(GpuSamplingCandidatesTest, EngineTokensFromCandidatesEqualThoseFromWholeRows) {
  EngineOptions options;
  options.max_batch_tokens = 256;
  options.max_running = 16;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(*runner_, options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  std::vector<SamplingParams> cases(4);
  cases[0].temperature = 0;
  cases[0].repetition_penalty = 1.3f;
  cases[0].logit_bias = {{100, 3.0f}, {200, -2.0f}};
  cases[1].top_k = 40;
  cases[1].top_p = 0.9f;
  cases[1].presence_penalty = 0.5f;
  cases[2].top_k = 200;
  cases[2].min_p = 0.02f;
  cases[2].frequency_penalty = 0.4f;
  cases[3].top_k = 10;
  cases[3].typical_p = 0.8f;
  cases[3].temperature = 1.3f;
  std::vector<testing::EventCollector> whole(cases.size()), from_candidates(cases.size());
  for (size_t c = 0; c < cases.size(); ++c) {  // all at once: batched rows of both kinds
    for (const bool logprobs : {true, false}) {
      GenerationRequest r;
      r.id = std::to_string(c) + (logprobs ? "w" : "c");
      r.prompt = {1, 2, 3, 4, 5, 6, 7, static_cast<int32_t>(c)};
      r.sampling = cases[c];
      r.sampling.seed = 5;
      r.stop.max_tokens = 48;
      r.stop.min_tokens = 48;
      if (logprobs) r.logprobs = 0;
      ASSERT_TRUE((*engine)->Submit(r, (logprobs ? whole[c] : from_candidates[c]).Callback()).ok());
    }
  }
  for (size_t c = 0; c < cases.size(); ++c) {
    ASSERT_TRUE(whole[c].WaitFinished());
    ASSERT_TRUE(from_candidates[c].WaitFinished());
    EXPECT_EQ(from_candidates[c].tokens(), whole[c].tokens()) << "case " << c;
    EXPECT_EQ(whole[c].tokens().size(), 48u);
  }
}

}  // namespace
}  // namespace llmw
