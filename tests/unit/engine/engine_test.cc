// The engine's step loop on a fake model: events, stopping, limits,
// chunked prefill, preemption, cancellation and prefix caching.
#include "worker/engine/engine.h"

#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine_test_util.h"
#include "tests/unit/engine/fake_model.h"

namespace llmw {
namespace {

using ::llmw::testing::EventCollector;
using ::llmw::testing::FakeEngine;
using ::llmw::testing::FakeEngineOptions;
using ::llmw::testing::FakeModel;
using ::llmw::testing::kFakeEos;
using ::testing::HasSubstr;

constexpr int64_t kBytesPerToken = 2 * 1 * 1 * 2 * sizeof(float);  // FakeModel's kv_shape

GenerationRequest Greedy(std::string id, std::string_view prompt, int32_t max_tokens) {
  GenerationRequest r;
  r.id = std::move(id);
  for (unsigned char c : prompt) r.prompt.push_back(c);
  r.sampling.temperature = 0;
  r.stop.max_tokens = max_tokens;
  return r;
}

// What the fake model generates greedily after `prompt`, computed directly.
std::vector<int32_t> Expected(std::string_view prompt, int n) {
  std::vector<int32_t> context(prompt.begin(), prompt.end());
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    int64_t sum = 0;
    for (int32_t t : context) sum += t;
    out.push_back(static_cast<int32_t>('a' + (sum + context.size()) % 26));
    context.push_back(out.back());
  }
  return out;
}

FakeEngineOptions SmallOptions() {
  FakeEngineOptions o;
  o.max_batch_tokens = 64;
  o.max_running = 8;
  o.max_waiting = 16;
  o.block_size = 4;
  o.kv_cache_bytes = 256 * 4 * kBytesPerToken;  // 256 blocks
  return o;
}

FakeEngine MakeEngine(FakeModel& model, const FakeEngineOptions& options) {
  FakeEngine engine(model, options);
  EXPECT_TRUE(engine.status().ok()) << engine.status();
  return engine;
}

TEST(EngineTest, StreamsStartedTokensFinishedInOrder) {
  FakeModel model;
  auto engine = MakeEngine(model, SmallOptions());
  EventCollector events;
  ASSERT_TRUE(engine->Submit(Greedy("r1", "hello", 10), events.Callback()).ok());
  ASSERT_TRUE(events.WaitFinished());
  const std::vector<GenerationEvent> all = events.events();
  ASSERT_EQ(all.size(), 12u);
  EXPECT_TRUE(std::holds_alternative<StartedEvent>(all.front()));
  EXPECT_TRUE(std::holds_alternative<FinishedEvent>(all.back()));
  EXPECT_EQ(events.tokens(), Expected("hello", 10));
  const std::vector<int32_t> expected = Expected("hello", 10);
  EXPECT_EQ(events.text(), std::string(expected.begin(), expected.end()));
  const FinishedEvent f = events.finished();
  EXPECT_EQ(f.reason, FinishReason::kLength);
  EXPECT_EQ(f.prompt_tokens, 5);
  EXPECT_EQ(f.generated_tokens, 10);
  EXPECT_GT(f.time_to_first_token_seconds, 0);
  EXPECT_GE(f.total_seconds, f.time_to_first_token_seconds);
}

TEST(EngineTest, EndOfGenerationStopsAndMinTokensSuppressesIt) {
  FakeModel model;
  model.set_rule([](const std::vector<int32_t>& c) { return c.size() >= 8 ? kFakeEos : 'x'; });
  auto engine = MakeEngine(model, SmallOptions());
  EventCollector a, b;
  ASSERT_TRUE(engine->Submit(Greedy("a", "abcde", 50), a.Callback()).ok());
  GenerationRequest with_min = Greedy("b", "abcde", 50);
  with_min.stop.min_tokens = 6;
  ASSERT_TRUE(engine->Submit(with_min, b.Callback()).ok());
  ASSERT_TRUE(a.WaitFinished() && b.WaitFinished());
  EXPECT_EQ(a.finished().reason, FinishReason::kStop);
  EXPECT_EQ(a.finished().detail, "eos");
  EXPECT_EQ(a.text(), "xxx");                   // the EOS token itself is not streamed
  EXPECT_EQ(a.finished().generated_tokens, 4);  // but it is counted
  EXPECT_EQ(b.finished().generated_tokens, 7);  // 6 forced, then EOS
  EXPECT_EQ(b.tokens().size(), 6u);
}

TEST(EngineTest, StopStringAcrossTokensIsNotEmitted) {
  FakeModel model;
  const std::string script = "Hello world STOP and more";
  model.set_rule([&](const std::vector<int32_t>& c) {
    const size_t i = c.size() - 2;  // prompt of 2 tokens
    return i < script.size() ? static_cast<int32_t>(script[i]) : kFakeEos;
  });
  auto engine = MakeEngine(model, SmallOptions());
  GenerationRequest r = Greedy("s", "go", 100);
  r.stop.stop_strings = {" STOP", "never"};
  EventCollector events;
  ASSERT_TRUE(engine->Submit(r, events.Callback()).ok());
  ASSERT_TRUE(events.WaitFinished());
  EXPECT_EQ(events.text(), "Hello world");
  EXPECT_EQ(events.finished().reason, FinishReason::kStop);
  EXPECT_EQ(events.finished().detail, "stop string");
}

TEST(EngineTest, StopTokenIdsAndIgnoreEos) {
  FakeModel model;
  model.set_rule([](const std::vector<int32_t>& c) { return c.size() % 2 ? kFakeEos : 'q'; });
  auto engine = MakeEngine(model, SmallOptions());
  GenerationRequest ignore = Greedy("i", "ab", 6);
  ignore.stop.ignore_eos = true;
  GenerationRequest stop_q = Greedy("q", "ab", 6);
  stop_q.stop.stop_token_ids = {'q'};
  EventCollector a, b;
  ASSERT_TRUE(engine->Submit(ignore, a.Callback()).ok());
  ASSERT_TRUE(engine->Submit(stop_q, b.Callback()).ok());
  ASSERT_TRUE(a.WaitFinished() && b.WaitFinished());
  EXPECT_EQ(a.finished().reason, FinishReason::kLength);
  EXPECT_EQ(a.finished().generated_tokens, 6);
  EXPECT_EQ(b.finished().reason, FinishReason::kStop);
  EXPECT_EQ(b.finished().detail, "stop token");
  EXPECT_EQ(b.finished().generated_tokens, 1);
}

TEST(EngineTest, RejectsInvalidRequestsWithClearMessages) {
  FakeModel model(64, 100);
  auto engine = MakeEngine(model, SmallOptions());
  auto submit = [&](GenerationRequest r) { return engine->Submit(r, [](GenerationEvent) {}); };
  GenerationRequest r = Greedy("x", "hi", 10);
  r.sampling.temperature = -1;
  EXPECT_THAT(submit(r).message(), HasSubstr("temperature"));
  r = Greedy("x", "hi", 10);
  r.sampling.top_p = 0;
  EXPECT_THAT(submit(r).message(), HasSubstr("top_p"));
  r = Greedy("x", "hi", 10);
  r.stop.stop_strings.assign(9, "z");
  EXPECT_THAT(submit(r).message(), HasSubstr("at most 8 stop strings"));
  r = Greedy("x", "hi", 10);
  r.sampling.logit_bias = {{999, 1.0f}};
  EXPECT_EQ(submit(r).code(), absl::StatusCode::kInvalidArgument);
  r = Greedy("x", "", 10);
  EXPECT_THAT(submit(r).message(), HasSubstr("no tokens"));
  r = Greedy("x", "hi", 99);
  EXPECT_THAT(submit(r).message(), HasSubstr("context length of 100"));
  r = Greedy("x", "hi", 10);
  r.logprobs = 21;
  EXPECT_THAT(submit(r).message(), HasSubstr("logprobs"));
  r = Greedy("x", "hi", 0);
  EXPECT_THAT(submit(r).message(), HasSubstr("max_tokens"));
}

TEST(EngineTest, RequestThatCanNeverFitIsRefused) {
  FakeModel model;
  FakeEngineOptions o = SmallOptions();
  o.kv_cache_bytes = 8 * 4 * kBytesPerToken;  // 32 tokens
  auto engine = MakeEngine(model, o);
  const absl::Status s = engine->Submit(Greedy("big", "0123456789", 30), [](GenerationEvent) {});
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("can never fit the KV cache of 32 tokens"));
}

TEST(EngineTest, QueueFullIsOverloadedAndDuplicateIdsAreRefused) {
  FakeModel model;
  FakeEngineOptions o = SmallOptions();
  o.max_running = 1;
  o.max_waiting = 2;
  auto engine = MakeEngine(model, o);
  model.Pause();
  EventCollector a, b, c;
  ASSERT_TRUE(engine->Submit(Greedy("a", "aa", 3), a.Callback()).ok());
  model.WaitUntilBlocked();  // "a" is running, held in its first step
  ASSERT_TRUE(engine->Submit(Greedy("b", "bb", 3), b.Callback()).ok());
  ASSERT_TRUE(engine->Submit(Greedy("c", "cc", 3), c.Callback()).ok());
  const absl::Status full = engine->Submit(Greedy("d", "dd", 3), [](GenerationEvent) {});
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("overloaded"));
  EXPECT_EQ(engine->Submit(Greedy("b", "bb", 3), [](GenerationEvent) {}).code(),
            absl::StatusCode::kAlreadyExists);
  model.Resume();
  ASSERT_TRUE(a.WaitFinished() && b.WaitFinished() && c.WaitFinished());
  EXPECT_EQ(c.tokens(), Expected("cc", 3));
}

TEST(EngineTest, CancelQueuedAndRunningRequestsFreesTheirBlocks) {
  FakeModel model;
  FakeEngineOptions o = SmallOptions();
  o.max_running = 1;
  o.enable_prefix_caching = false;
  auto engine = MakeEngine(model, o);
  model.Pause();
  EventCollector running, queued;
  ASSERT_TRUE(engine->Submit(Greedy("run", "abcdefgh", 1000), running.Callback()).ok());
  model.WaitUntilBlocked();
  ASSERT_TRUE(engine->Submit(Greedy("wait", "xyz", 5), queued.Callback()).ok());
  EXPECT_TRUE(engine->Cancel("wait"));
  EXPECT_TRUE(engine->Cancel("run"));
  EXPECT_FALSE(engine->Cancel("nobody"));
  model.Resume();
  ASSERT_TRUE(running.WaitFinished() && queued.WaitFinished());
  EXPECT_EQ(running.finished().reason, FinishReason::kCancelled);
  EXPECT_EQ(queued.finished().reason, FinishReason::kCancelled);
  EXPECT_EQ(queued.tokens().size(), 0u);
  const EngineStats stats = engine->stats();
  EXPECT_EQ(stats.kv_blocks_used, 0);
  EXPECT_EQ(stats.running + stats.waiting, 0);
}

TEST(EngineTest, DeadlineCancelsTheRequest) {
  FakeModel model;
  auto engine = MakeEngine(model, SmallOptions());
  GenerationRequest r = Greedy("late", "abc", 1000);
  r.deadline = EngineClock::now() + std::chrono::milliseconds(20);
  EventCollector events;
  model.Pause();
  ASSERT_TRUE(engine->Submit(r, events.Callback()).ok());
  model.WaitUntilBlocked();
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  model.Resume();
  ASSERT_TRUE(events.WaitFinished());
  EXPECT_LE(events.finished().generated_tokens, 1);
  EXPECT_EQ(events.finished().reason, FinishReason::kCancelled);
  EXPECT_EQ(events.finished().detail, "deadline exceeded");
}

TEST(EngineTest, ChunkedPrefillKeepsDecodingStreamsGoing) {
  FakeModel model(/*max_batch_tokens=*/8);
  FakeEngineOptions o = SmallOptions();
  o.max_batch_tokens = 8;
  auto engine = MakeEngine(model, o);
  model.Pause();
  EventCollector decoding, long_prompt;
  ASSERT_TRUE(engine->Submit(Greedy("d", "ab", 40), decoding.Callback()).ok());
  model.WaitUntilBlocked();
  const std::string prompt(60, 'p');
  ASSERT_TRUE(engine->Submit(Greedy("p", prompt, 2), long_prompt.Callback()).ok());
  model.Resume();
  ASSERT_TRUE(decoding.WaitFinished() && long_prompt.WaitFinished());
  EXPECT_EQ(decoding.tokens(), Expected("ab", 40));
  EXPECT_EQ(long_prompt.tokens(), Expected(prompt, 2));
  // While the 60-token prompt was prefilled in chunks of at most 7, every step
  // also carried the other stream's decode token.
  int prefill_steps = 0;
  for (const std::vector<int64_t>& step : model.steps()) {
    int64_t total = 0;
    for (int64_t n : step) total += n;
    EXPECT_LE(total, 8);
    if (step.size() == 2 && step[1] > 1) {
      ++prefill_steps;
      EXPECT_EQ(step[0], 1);
    }
  }
  EXPECT_GE(prefill_steps, 60 / 7);
}

TEST(EngineTest, PreemptedSequencesResumeWithIdenticalOutput) {
  FakeModel model;
  FakeEngineOptions o = SmallOptions();
  o.kv_cache_bytes = 12 * 4 * kBytesPerToken;  // 48 tokens for three 30-token sequences
  o.enable_prefix_caching = false;
  auto engine = MakeEngine(model, o);
  EventCollector events[3];
  const std::string prompts[3] = {"first prompt", "second one", "third"};
  model.Pause();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        engine->Submit(Greedy("s" + std::to_string(i), prompts[i], 20), events[i].Callback()).ok());
  }
  model.Resume();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(events[i].WaitFinished());
    EXPECT_EQ(events[i].tokens(), Expected(prompts[i], 20)) << i;
    EXPECT_EQ(events[i].finished().reason, FinishReason::kLength);
  }
  EXPECT_GT(engine->stats().preemptions, 0);
  EXPECT_EQ(engine->stats().kv_blocks_used, 0);
}

TEST(EngineTest, PrefixCacheServesRepeatedPrompts) {
  FakeModel model;
  auto engine = MakeEngine(model, SmallOptions());
  const std::string prompt = "a shared system prompt that spans several blocks";
  EventCollector first, second;
  ASSERT_TRUE(engine->Submit(Greedy("1", prompt, 5), first.Callback()).ok());
  ASSERT_TRUE(first.WaitFinished());
  ASSERT_TRUE(engine->Submit(Greedy("2", prompt + " again", 5), second.Callback()).ok());
  ASSERT_TRUE(second.WaitFinished());
  EXPECT_EQ(first.started().cached_prompt_tokens, 0);
  // Whole 4-token blocks of the shared prompt (48 tokens) are reused.
  EXPECT_EQ(second.started().cached_prompt_tokens, 48);
  EXPECT_EQ(second.finished().cached_prompt_tokens, 48);
  EXPECT_EQ(second.tokens(), Expected(prompt + " again", 5));
  EXPECT_GE(engine->stats().prefix_hit_tokens, 48);
}

TEST(EngineTest, LogprobsWhenAsked) {
  FakeModel model;
  auto engine = MakeEngine(model, SmallOptions());
  GenerationRequest r = Greedy("lp", "abc", 3);
  r.logprobs = 4;
  EventCollector events;
  ASSERT_TRUE(engine->Submit(r, events.Callback()).ok());
  ASSERT_TRUE(events.WaitFinished());
  for (const auto& e : events.events()) {
    if (auto* t = std::get_if<TokenEvent>(&e)) {
      ASSERT_TRUE(t->logprobs.has_value());
      EXPECT_EQ(t->logprobs->chosen.id, t->id);
      ASSERT_EQ(t->logprobs->top.size(), 4u);
      EXPECT_EQ(t->logprobs->top[0].id, t->id);  // greedy picks the most likely
      EXPECT_LT(t->logprobs->chosen.logprob, 0);
    }
  }
}

TEST(EngineTest, SameSeedSameOutputWhateverElseRuns) {
  FakeModel model;
  auto engine = MakeEngine(model, SmallOptions());
  auto sampled = [](std::string id) {
    GenerationRequest r = Greedy(std::move(id), "seeded", 30);
    r.sampling.temperature = 1.0f;
    r.sampling.seed = 1234;
    return r;
  };
  EventCollector alone;
  ASSERT_TRUE(engine->Submit(sampled("alone"), alone.Callback()).ok());
  ASSERT_TRUE(alone.WaitFinished());
  EventCollector others[4], together;
  for (int i = 0; i < 4; ++i) {
    GenerationRequest r = sampled("o" + std::to_string(i));
    r.sampling.seed = i;
    ASSERT_TRUE(engine->Submit(r, others[i].Callback()).ok());
  }
  ASSERT_TRUE(engine->Submit(sampled("together"), together.Callback()).ok());
  ASSERT_TRUE(together.WaitFinished());
  EXPECT_EQ(together.tokens(), alone.tokens());
  for (auto& o : others) ASSERT_TRUE(o.WaitFinished());
  // At temperature 1 the output is not the greedy one (the test would be void).
  EXPECT_NE(alone.tokens(), Expected("seeded", 30));
}

// A request asking for logprobs is sampled from whole logit rows; the same request without them
// is sampled from the runner's candidates when its parameters allow: the tokens must not differ.
TEST(EngineTest, SamplingFromCandidatesGivesTheTokensOfWholeRows) {
  FakeModel model;
  auto engine = MakeEngine(model, SmallOptions());
  std::vector<SamplingParams> cases(4);
  cases[0].temperature = 0;
  cases[0].repetition_penalty = 1.5f;
  cases[0].logit_bias = {{'e', 2.0f}, {'q', -1.0f}};
  cases[1].top_k = 5;
  cases[1].presence_penalty = 0.5f;
  cases[1].frequency_penalty = 0.3f;
  cases[2].top_k = 20;
  cases[2].top_p = 0.8f;
  cases[2].min_p = 0.05f;
  cases[2].repetition_penalty = 1.2f;
  cases[3].top_k = 8;
  cases[3].typical_p = 0.7f;
  cases[3].temperature = 1.5f;
  for (size_t c = 0; c < cases.size(); ++c) {
    EventCollector whole, from_candidates;
    for (const bool logprobs : {true, false}) {
      GenerationRequest r = Greedy(std::to_string(c) + (logprobs ? "w" : "c"), "candidates", 40);
      r.sampling = cases[c];
      r.sampling.seed = 77;
      r.stop.min_tokens = 5;  // suppression: the end-of-generation token
      if (logprobs) r.logprobs = 0;
      ASSERT_TRUE(engine->Submit(r, (logprobs ? whole : from_candidates).Callback()).ok());
    }
    ASSERT_TRUE(whole.WaitFinished());
    ASSERT_TRUE(from_candidates.WaitFinished());
    EXPECT_EQ(from_candidates.tokens(), whole.tokens()) << "case " << c;
    EXPECT_EQ(whole.tokens().size(), 40u);
  }
}

TEST(EngineTest, DestroyingTheEngineCancelsLiveRequests) {
  FakeModel model;
  FakeEngineOptions o = SmallOptions();
  o.max_running = 1;
  auto engine = MakeEngine(model, o);
  EventCollector running, queued;
  model.Pause();
  ASSERT_TRUE(engine->Submit(Greedy("run", "abc", 1000), running.Callback()).ok());
  model.WaitUntilBlocked();
  ASSERT_TRUE(engine->Submit(Greedy("wait", "xyz", 5), queued.Callback()).ok());
  std::thread resume([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    model.Resume();
  });
  engine.reset();
  resume.join();
  ASSERT_TRUE(running.WaitFinished(std::chrono::seconds(1)));
  ASSERT_TRUE(queued.WaitFinished(std::chrono::seconds(1)));
  EXPECT_EQ(running.finished().reason, FinishReason::kCancelled);
  EXPECT_EQ(queued.finished().detail, "the engine is shutting down");
}

}  // namespace
}  // namespace llmw
