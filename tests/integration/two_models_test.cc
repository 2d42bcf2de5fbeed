// Two models served side by side, each on a runner of its own (its own backend and thread pool),
// under concurrent load from several client threads: every request's tokens equal those of the
// same request run alone. Built with LLMW_SANITIZE=thread this is also the race check of two
// engines stepping at once.
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine_test_util.h"
#include "worker/service/served_model.h"

namespace llmw {
namespace {

using ::llmw::testing::EventCollector;

std::string Fixture(const std::string& name) {
  const char* source = std::getenv("LLMW_SOURCE_DIR");
  return std::string(source != nullptr ? source : ".") + "/tests/fixtures/hf_tiny/" + name;
}

GenerationRequest Request(const ServedModel& model, int i) {
  static const char* kPrompts[] = {"Hello world", "The quick brown fox", "1, 2, 3,",
                                   "Once upon a time"};
  GenerationRequest r;
  r.id = model.name + "-" + std::to_string(i);
  r.prompt = model.runner->tokenizer().Encode(kPrompts[i % 4], true, false);
  r.sampling.temperature = i % 2 == 0 ? 0.0f : 0.9f;
  r.sampling.seed = 7 + i;
  r.stop.max_tokens = 8 + 3 * i;
  r.stop.ignore_eos = true;  // fixed lengths
  return r;
}

TEST(TwoModelsTest, ConcurrentLoadOnBothEqualsEachRequestAlone) {
  RunnerOptions runner_options;
  runner_options.backend.threads = 2;  // each model's pool has a worker thread of its own
  runner_options.max_batch_tokens = 16;
  runner_options.max_sequences = 8;
  EngineOptions engine_options;
  engine_options.max_batch_tokens = 16;  // prompts are prefilled in chunks beside decodes
  engine_options.max_running = 8;
  auto models =
      ModelSet::Load({{"llama", Fixture("llama")}, {"gemma", Fixture("gemma3-Q8_0.gguf")}},
                     runner_options, engine_options);
  ASSERT_TRUE(models.ok()) << models.status();
  constexpr int kPerModel = 8;

  std::vector<std::vector<int32_t>> alone;
  for (const auto& model : (*models)->models()) {
    for (int i = 0; i < kPerModel; ++i) {
      EventCollector events;
      GenerationRequest r = Request(*model, i);
      r.id += "-alone";
      ASSERT_TRUE(model->engine->Submit(r, events.Callback()).ok());
      ASSERT_TRUE(events.WaitFinished());
      alone.push_back(events.tokens());
    }
  }

  // Two client threads per model submit at once; both engines step concurrently.
  std::vector<EventCollector> events(2 * kPerModel);
  std::vector<std::thread> clients;
  for (int client = 0; client < 4; ++client) {
    clients.emplace_back([&, client] {
      const ServedModel& model = *(*models)->models()[client / 2];
      for (int i = client % 2; i < kPerModel; i += 2) {
        EventCollector& e = events[(client / 2) * kPerModel + i];
        EXPECT_TRUE(model.engine->Submit(Request(model, i), e.Callback()).ok());
      }
    });
  }
  for (std::thread& t : clients) t.join();
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_TRUE(events[i].WaitFinished());
    EXPECT_EQ(events[i].tokens(), alone[i]) << "request " << i;
    EXPECT_EQ(events[i].finished().reason, FinishReason::kLength);
  }
}

}  // namespace
}  // namespace llmw
