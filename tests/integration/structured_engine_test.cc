// Constrained generation through the engine on SmolLM2: outputs are strings of their grammar
// (checked against std::regex, an independent recognizer of the same language) under every
// sampling parameter, requests without a format are bitwise unaffected by constrained ones in the
// same batch, and stop strings, logprobs, min_tokens and ignore_eos behave as documented.
#include <regex>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "models/model_runner.h"
#include "tests/engine_test_util.h"
#include "tests/smollm2_engine.h"
#include "tests/test_models.h"
#include "worker/engine/engine.h"
#include "worker/structured/grammar.h"

namespace llmw {
namespace {

using ::llmw::testing::EventCollector;

// Grammars with the regular expression of the same language.
struct Format {
  const char* grammar;
  const char* regex;
};
constexpr Format kFormats[] = {
    {R"(root ::= ("yes" | "no") ", because " [a-z ]{1,30} ".")",
     R"((yes|no), because [a-z ]{1,30}\.)"},
    {R"(root ::= "{\"age\": " [1-9] [0-9]? ", \"name\": \"" [A-Za-z]{1,12} "\"}")",
     R"(\{"age": [1-9][0-9]?, "name": "[A-Za-z]{1,12}"\})"},
    {R"(root ::= item ("," item){0,4}
item ::= [0-9]{1,3} | "x")",
     R"(([0-9]{1,3}|x)(,([0-9]{1,3}|x)){0,4})"},
};

constexpr const char* kPrompts[] = {
    "Is the sky blue? Answer:",
    "Describe a person as JSON:",
    "List some numbers:",
    "The capital of France is",
};

class StructuredEngineTest : public ::llmw::testing::SmolLM2EngineFixture {
 protected:
  GenerationRequest Request(const std::string& id, const char* prompt) {
    GenerationRequest r;
    r.id = id;
    r.prompt = runner_->tokenizer().Encode(prompt, true, false);
    r.stop.max_tokens = 48;
    return r;
  }

  static std::shared_ptr<const structured::Grammar> Grammar(const char* text) {
    absl::StatusOr<std::shared_ptr<const structured::Grammar>> g = structured::ParseGrammar(text);
    EXPECT_TRUE(g.ok()) << g.status();
    return g.ok() ? *g : nullptr;
  }

  // Submits every request at once and waits for all of them.
  std::vector<std::unique_ptr<EventCollector>> RunTogether(
      const std::vector<GenerationRequest>& requests) {
    std::vector<std::unique_ptr<EventCollector>> events;
    for (const GenerationRequest& r : requests) {
      events.push_back(std::make_unique<EventCollector>());
      const absl::Status submitted = engine_->Submit(r, events.back()->Callback());
      EXPECT_TRUE(submitted.ok()) << submitted;
    }
    for (auto& e : events) EXPECT_TRUE(e->WaitFinished());
    return events;
  }
};

// The sampling settings a constrained request is tried under: each takes a different path
// through the sampler (greedy, full-row draw, top-k, nucleus, min-p, typical, penalties, a
// bias that pushes a token the format forbids).
std::vector<SamplingParams> SamplingVariety(const Tokenizer& tokenizer) {
  std::vector<SamplingParams> all(8);
  all[0].temperature = 0;
  all[1].temperature = 1;
  all[2].top_k = 5;
  all[3].top_p = 0.9f;
  all[4].min_p = 0.1f;
  all[5].typical_p = 0.8f;
  all[6].repetition_penalty = 1.5f;
  all[6].presence_penalty = 1;
  all[6].frequency_penalty = 0.5f;
  for (const char* text : {"=", "@"}) {  // never in these formats
    all[7].logit_bias.emplace_back(tokenizer.Encode(text, false, false).at(0), 100.0f);
  }
  for (size_t i = 0; i < all.size(); ++i) all[i].seed = 7 + i;
  return all;
}

TEST_F(StructuredEngineTest, OutputsAreStringsOfTheFormatUnderEverySamplingParameter) {
  std::vector<GenerationRequest> requests;
  std::vector<const Format*> formats;
  const std::vector<SamplingParams> sampling = SamplingVariety(runner_->tokenizer());
  for (const Format& f : kFormats) {
    for (size_t s = 0; s < sampling.size(); ++s) {
      GenerationRequest r = Request(absl::StrCat("f", requests.size()),
                                    kPrompts[requests.size() % std::size(kPrompts)]);
      r.sampling = sampling[s];
      r.grammar = Grammar(f.grammar);
      r.stop.max_tokens = 120;  // every format ends within 60 characters
      requests.push_back(std::move(r));
      formats.push_back(&f);
    }
  }
  const auto events = RunTogether(requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    const FinishedEvent finished = events[i]->finished();
    const std::string text = events[i]->text();
    SCOPED_TRACE(requests[i].id + " → " + text);
    EXPECT_EQ(finished.reason, FinishReason::kStop) << finished.detail;
    EXPECT_TRUE(finished.detail == "format complete" || finished.detail == "eos")
        << finished.detail;
    EXPECT_TRUE(std::regex_match(text, std::regex(formats[i]->regex)));
  }
}

TEST_F(StructuredEngineTest, RequestsWithoutAFormatAreBitwiseUnaffectedByConstrainedOnes) {
  std::vector<GenerationRequest> free;
  for (int i = 0; i < 6; ++i) {
    GenerationRequest r = Request(absl::StrCat("free", i), kPrompts[i % std::size(kPrompts)]);
    r.sampling.temperature = i == 0 ? 0.0f : 0.8f;
    if (i == 2) r.sampling.top_k = 20;  // read back as candidates
    if (i == 3) r.sampling.top_p = 0.9f;
    if (i >= 4) r.logprobs = 5;
    r.sampling.seed = 50 + i;
    r.stop.ignore_eos = true;  // fixed lengths
    r.stop.max_tokens = 24;
    free.push_back(std::move(r));
  }
  std::vector<std::vector<GenerationEvent>> alone;
  for (const GenerationRequest& r : free) alone.push_back(RunTogether({r})[0]->events());

  std::vector<GenerationRequest> mixed;
  for (size_t i = 0; i < free.size(); ++i) {
    GenerationRequest constrained = Request(absl::StrCat("c", i), kPrompts[(i + 1) % 4]);
    constrained.grammar = Grammar(kFormats[i % std::size(kFormats)].grammar);
    constrained.sampling.temperature = 1;
    constrained.sampling.seed = 90 + i;
    mixed.push_back(std::move(constrained));
    mixed.push_back(free[i]);
    mixed.back().id += "-mixed";
  }
  const auto events = RunTogether(mixed);
  for (size_t i = 0; i < free.size(); ++i) {
    SCOPED_TRACE(free[i].id);
    const std::vector<GenerationEvent> batched = events[2 * i + 1]->events();
    ASSERT_EQ(batched.size(), alone[i].size());
    for (size_t e = 0; e < batched.size(); ++e) {
      const auto* a = std::get_if<TokenEvent>(&alone[i][e]);
      const auto* b = std::get_if<TokenEvent>(&batched[e]);
      ASSERT_EQ(a == nullptr, b == nullptr);
      if (a == nullptr) continue;
      EXPECT_EQ(a->id, b->id);
      EXPECT_EQ(a->text, b->text);
      ASSERT_EQ(a->logprobs.has_value(), b->logprobs.has_value());
      if (!a->logprobs) continue;
      EXPECT_EQ(a->logprobs->chosen.logprob, b->logprobs->chosen.logprob);  // bitwise
      ASSERT_EQ(a->logprobs->top.size(), b->logprobs->top.size());
      for (size_t t = 0; t < a->logprobs->top.size(); ++t) {
        EXPECT_EQ(a->logprobs->top[t].id, b->logprobs->top[t].id);
        EXPECT_EQ(a->logprobs->top[t].logprob, b->logprobs->top[t].logprob);
      }
    }
  }
}

TEST_F(StructuredEngineTest, LogprobsStayTheModelsRawOnes) {
  GenerationRequest free = Request("free", kPrompts[3]);
  free.sampling.temperature = 0;
  free.logprobs = 10;
  free.stop.max_tokens = 1;
  GenerationRequest constrained = free;
  constrained.id = "constrained";
  constrained.grammar = Grammar(kFormats[0].grammar);  // " Paris" is not allowed here
  const TokenEvent a = std::get<TokenEvent>(RunTogether({free})[0]->events()[1]);
  const auto events = RunTogether({constrained});
  const TokenEvent b = std::get<TokenEvent>(events[0]->events()[1]);
  ASSERT_TRUE(a.logprobs && b.logprobs);
  EXPECT_NE(a.id, b.id);
  EXPECT_TRUE(std::regex_match(b.text, std::regex("y|ye|yes|n|no"))) << b.text;
  ASSERT_EQ(a.logprobs->top.size(), b.logprobs->top.size());
  for (size_t t = 0; t < a.logprobs->top.size(); ++t) {
    EXPECT_EQ(a.logprobs->top[t].id, b.logprobs->top[t].id);
    EXPECT_EQ(a.logprobs->top[t].logprob, b.logprobs->top[t].logprob);
  }
  EXPECT_LT(b.logprobs->chosen.logprob, a.logprobs->chosen.logprob);
}

TEST_F(StructuredEngineTest, AStopStringEndsAConstrainedOutputEarly) {
  GenerationRequest r = Request("stop", kPrompts[0]);
  r.grammar = Grammar(kFormats[0].grammar);
  r.sampling.temperature = 0;
  r.stop.stop_strings = {"because"};
  const auto events = RunTogether({r});
  EXPECT_EQ(events[0]->finished().detail, "stop string");
  EXPECT_TRUE(std::regex_match(events[0]->text(), std::regex("(yes|no), ")));
}

TEST_F(StructuredEngineTest, TheFormatEndsGenerationEvenBeforeMinTokens) {
  GenerationRequest r = Request("min", kPrompts[0]);
  r.grammar = Grammar(R"(root ::= "ok")");
  r.stop.min_tokens = 10;
  const auto events = RunTogether({r});
  EXPECT_EQ(events[0]->text(), "ok");
  EXPECT_EQ(events[0]->finished().reason, FinishReason::kStop);
  EXPECT_EQ(events[0]->finished().detail, "format complete");
}

TEST_F(StructuredEngineTest, EndOfGenerationIsSampledOnlyWhereTheFormatCanEnd) {
  // The format may end after any word, and the bias makes the model want to end everywhere.
  GenerationRequest r = Request("eos", kPrompts[2]);
  r.grammar = Grammar(R"(root ::= [a-z]{1,8} (" " [a-z]{1,8}){0,20})");
  r.sampling.temperature = 0;
  for (int32_t id = 0; id < runner_->tokenizer().vocab_size(); ++id) {
    if (runner_->tokenizer().IsEndOfGeneration(id)) r.sampling.logit_bias.emplace_back(id, 100.0f);
  }
  const auto events = RunTogether({r});
  EXPECT_EQ(events[0]->finished().detail, "eos");
  EXPECT_TRUE(std::regex_match(events[0]->text(), std::regex("[a-z]{1,8}( [a-z]{1,8}){0,20}")))
      << events[0]->text();
}

TEST_F(StructuredEngineTest, IgnoreEosWithAFormatIsRefused) {
  GenerationRequest r = Request("ignore", kPrompts[0]);
  r.grammar = Grammar(kFormats[0].grammar);
  r.stop.ignore_eos = true;
  EventCollector events;
  const absl::Status status = engine_->Submit(r, events.Callback());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("ignore_eos"), std::string::npos) << status;
}

}  // namespace
}  // namespace llmw
