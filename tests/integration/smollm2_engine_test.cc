// The engine on SmolLM2: concurrent requests of mixed lengths produce exactly
// what each produces alone (batch invariance of the CPU kernels plus correct
// batching, chunked prefill and prefix caching).
#include "tests/smollm2_engine.h"

#include <thread>

#include "gtest/gtest.h"
#include "models/model_runner.h"
#include "tests/engine_test_util.h"
#include "tests/test_models.h"
#include "worker/engine/engine.h"

namespace llmw {
namespace {

using ::llmw::testing::EventCollector;

constexpr const char* kPrompts[] = {
    "The capital of France is",
    "Write a haiku about the sea.",
    "def add(a, b):\n    return",
    "List three colors:",
    "Once upon a time, in a small village at the edge of a vast forest, there lived an old "
    "clockmaker who",
    "Translate to French: good morning",
    "1, 2, 3, 4,",
    "Photosynthesis is the process by which plants",
};

class SmolLM2EngineTest : public ::llmw::testing::SmolLM2EngineFixture {
 protected:
  GenerationRequest Request(int i, int max_tokens, bool sampled) {
    GenerationRequest r;
    r.id = "req-" + std::to_string(i) + (sampled ? "s" : "g");
    r.prompt = runner_->tokenizer().Encode(kPrompts[i % 8], true, false);
    r.sampling.temperature = sampled ? 0.9f : 0.0f;
    r.sampling.top_p = 0.95f;
    r.sampling.seed = 100 + i;
    r.stop.max_tokens = max_tokens;
    r.stop.ignore_eos = true;  // fixed lengths
    return r;
  }

  std::vector<int32_t> RunAlone(const GenerationRequest& r) {
    EventCollector events;
    EXPECT_TRUE(engine_->Submit(r, events.Callback()).ok());
    EXPECT_TRUE(events.WaitFinished());
    return events.tokens();
  }
};

TEST_F(SmolLM2EngineTest, SixteenConcurrentRequestsMatchOneAtATime) {
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 16; ++i) requests.push_back(Request(i, 6 + (i * 5) % 19, i % 2 == 1));
  std::vector<std::vector<int32_t>> alone;
  for (const GenerationRequest& r : requests) alone.push_back(RunAlone(r));

  std::vector<EventCollector> events(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    GenerationRequest r = requests[i];
    r.id += "-batched";
    ASSERT_TRUE(engine_->Submit(r, events[i].Callback()).ok());
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(events[i].WaitFinished());
    EXPECT_EQ(events[i].tokens(), alone[i]) << "request " << i;
    EXPECT_EQ(events[i].finished().reason, FinishReason::kLength);
  }
  const EngineStats stats = engine_->stats();
  EXPECT_EQ(stats.running + stats.waiting, 0);
  EXPECT_EQ(stats.kv_blocks_used, 0);
  EXPECT_GT(stats.prefix_hit_tokens, 0);  // the second runs reused the first runs' prompts
}

TEST_F(SmolLM2EngineTest, GreedyAloneEqualsGreedyAmongSevenOthers) {
  const GenerationRequest target = Request(4, 24, /*sampled=*/false);
  const std::vector<int32_t> alone = RunAlone(target);
  std::vector<EventCollector> others(7);
  EventCollector together;
  for (int i = 0; i < 7; ++i) {
    GenerationRequest r = Request(i, 10 + 3 * i, i % 2 == 0);
    r.id += "-other";
    ASSERT_TRUE(engine_->Submit(r, others[i].Callback()).ok());
  }
  GenerationRequest again = target;
  again.id += "-again";
  ASSERT_TRUE(engine_->Submit(again, together.Callback()).ok());
  ASSERT_TRUE(together.WaitFinished());
  EXPECT_EQ(together.tokens(), alone);
  for (auto& o : others) ASSERT_TRUE(o.WaitFinished());
}

}  // namespace
}  // namespace llmw
