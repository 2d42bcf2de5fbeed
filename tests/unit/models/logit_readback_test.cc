// ModelRunner's read-back of logit rows as sampling candidates (ForwardBatch::readback): rows
// asked for as candidates give cpu::TopCandidates of the row at the step's largest top_n and the
// logits at their extra ids; the other rows are read whole; bad requests fail the step with a
// clear error and the runner keeps serving.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/backend_factory.h"
#include "kernels/cpu/top_candidates.h"
#include "models/llama/random_llama.h"
#include "models/model_runner.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;

class LogitReadbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = CreateBackend({.device = Device::kCpu, .threads = 1});
    ASSERT_TRUE(backend.ok()) << backend.status();
    auto model = RandomLlama("tiny", DType::kF32, 3, **backend);
    ASSERT_TRUE(model.ok()) << model.status();
    RunnerOptions options;
    options.max_sequences = 8;
    options.kv.bytes = 1 << 20;
    auto runner = ModelRunner::Create(std::move(*backend), std::move(*model), options);
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = std::move(*runner);
    ASSERT_TRUE(runner_->kv_cache().Reserve(blocks_, 16).ok());
    vocab_ = runner_->info().vocab_size;
  }
  void TearDown() override {
    if (runner_ != nullptr) runner_->kv_cache().Release(blocks_);
  }

  // One chunk of 5 tokens at position 0 with every token's logits: 5 rows.
  ForwardBatch Batch() const {
    ForwardBatch batch;
    batch.chunks.push_back(SequenceChunk{tokens_, 0, &blocks_, ChunkLogits::kAll});
    return batch;
  }

  std::unique_ptr<ModelRunner> runner_;
  BlockTable blocks_;
  int64_t vocab_ = 0;
  const std::vector<int32_t> tokens_ = {1, 17, 42, 99, 250};
};

TEST_F(LogitReadbackTest, CandidateRowsAreTheTopOfTheRowAndTheOthersWhole) {
  ASSERT_TRUE(runner_->Forward(Batch()).ok());
  std::vector<std::vector<float>> whole;
  for (int64_t r = 0; r < 5; ++r) {
    const std::span<const float> row = runner_->LogitRow(r);
    whole.emplace_back(row.begin(), row.end());
  }

  const std::vector<int32_t> extra_ids = {5, static_cast<int32_t>(vocab_ - 1), 0};
  ForwardBatch batch = Batch();
  batch.readback = {LogitReadback{}, LogitReadback{3, extra_ids}, LogitReadback{10, {}}};
  ASSERT_TRUE(runner_->Forward(batch).ok());
  for (const int64_t r : {0, 3, 4}) {
    const std::span<const float> row = runner_->LogitRow(r);
    EXPECT_EQ(std::vector<float>(row.begin(), row.end()), whole[r]) << "row " << r;
  }
  for (const int64_t r : {1, 2}) {
    // Every candidate row holds the step's largest top_n (10) candidates.
    std::vector<int32_t> want_ids(10);
    std::vector<float> want_values(10);
    const int32_t no_extra[2] = {0, 0};
    cpu::TopCandidates(want_ids.data(), want_values.data(), nullptr, whole[r].data(), 1, vocab_, 10,
                       nullptr, no_extra);
    const ModelRunner::LogitCandidates c = runner_->Candidates(r);
    EXPECT_EQ(std::vector<int32_t>(c.top_ids.begin(), c.top_ids.end()), want_ids) << "row " << r;
    EXPECT_EQ(std::vector<float>(c.top_values.begin(), c.top_values.end()), want_values);
  }
  const ModelRunner::LogitCandidates one = runner_->Candidates(1);
  ASSERT_EQ(one.extra_values.size(), 3u);
  EXPECT_EQ(one.extra_values[0], whole[1][5]);
  EXPECT_EQ(one.extra_values[1], whole[1][vocab_ - 1]);
  EXPECT_EQ(one.extra_values[2], whole[1][0]);
  EXPECT_TRUE(runner_->Candidates(2).extra_values.empty());
}

TEST_F(LogitReadbackTest, BadRequestsFailTheStepAndTheRunnerKeepsServing) {
  const std::vector<int32_t> outside = {static_cast<int32_t>(vocab_)};
  const std::vector<int32_t> negative = {-1};
  struct Case {
    std::vector<LogitReadback> readback;
    const char* message;
  };
  const Case cases[] = {
      {{LogitReadback{vocab_ + 1, {}}}, "top candidates"},
      {{LogitReadback{-1, {}}}, "top candidates"},
      {{LogitReadback{2, outside}}, "outside the vocabulary"},
      {{LogitReadback{2, negative}}, "outside the vocabulary"},
      {std::vector<LogitReadback>(6, LogitReadback{1, {}}), "readback for 6 logit rows"},
  };
  for (const Case& c : cases) {
    ForwardBatch batch = Batch();
    batch.readback = c.readback;
    const absl::Status status = runner_->Forward(batch);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message));
  }
  EXPECT_TRUE(runner_->Forward(Batch()).ok());
}

}  // namespace
}  // namespace llmw
