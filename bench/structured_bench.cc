// What structured output costs the engine: aggregate decode throughput of 8 concurrent streams
// with and without a JSON-Schema format (a nested schema: an array of at least 20 objects, so
// that every constrained stream is still inside the format when it reaches the token limit), on
// a real checkpoint, in alternating rounds; medians. Sampling at temperature 1 with a fixed seed
// per stream; free streams ignore end-of-generation so that both runs generate the same number
// of tokens. Reports numbers; never fails on them.
//
//   structured_bench MODEL.gguf [--streams N] [--tokens N] [--rounds N] [--grammar FILE]
//
// --grammar FILE: constrain with that grammar instead of the built-in schema.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "models/model_runner.h"
#include "worker/engine/engine.h"
#include "worker/structured/response_format.h"

namespace llmw {
namespace {

constexpr char kNestedSchema[] = R"({
  "type": "object",
  "properties": {
    "people": {
      "type": "array", "minItems": 20, "maxItems": 40,
      "items": {
        "type": "object",
        "properties": {
          "name": {"type": "string", "maxLength": 24},
          "age": {"type": "integer", "minimum": 0, "maximum": 120},
          "email": {"type": "string", "maxLength": 32},
          "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3},
          "address": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 20},
                           "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
            "required": ["city", "zip"]
          }
        },
        "required": ["name", "age", "tags", "address"]
      }
    }
  },
  "required": ["people"]
})";

struct RunResult {
  int64_t tokens = 0;
  double seconds = 0;
  int64_t steps = 0;
  int64_t masks = 0;
  double mask_seconds = 0;
};

// Runs `streams` requests at once until all finish.
RunResult RunStreams(Engine& engine, const Tokenizer& tokenizer, int streams, int max_tokens,
                     const std::shared_ptr<const structured::Grammar>& grammar, int round) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  int64_t tokens = 0;
  const EngineStats before = engine.stats();
  const auto start = EngineClock::now();
  for (int i = 0; i < streams; ++i) {
    GenerationRequest r;
    r.id = "s" + std::to_string(round) + "-" + std::to_string(i) + (grammar ? "c" : "f");
    r.prompt = tokenizer.Encode("Write a JSON list of people with their addresses:", true, false);
    r.sampling.temperature = 1.0f;
    r.sampling.seed = 1000 + i;
    r.stop.max_tokens = max_tokens;
    r.stop.ignore_eos = grammar == nullptr;
    r.grammar = grammar;
    const absl::Status status = engine.Submit(std::move(r), [&](GenerationEvent e) {
      std::lock_guard<std::mutex> lock(mu);
      if (const auto* f = std::get_if<FinishedEvent>(&e)) {
        tokens += f->generated_tokens;
        if (f->reason == FinishReason::kError)
          std::fprintf(stderr, "error: %s\n", f->detail.c_str());
        ++done;
        cv.notify_all();
      }
    });
    if (!status.ok()) {
      std::fprintf(stderr, "submit: %s\n", std::string(status.message()).c_str());
      std::lock_guard<std::mutex> lock(mu);
      ++done;
    }
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == streams; });
  const EngineStats after = engine.stats();
  return RunResult{tokens, std::chrono::duration<double>(EngineClock::now() - start).count(),
                   after.steps - before.steps, after.format_masks - before.format_masks,
                   after.format_mask_seconds - before.format_mask_seconds};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: structured_bench MODEL.gguf [--streams N] [--tokens N] [--rounds N] "
                 "[--grammar FILE]\n");
    return 2;
  }
  int streams = 8, max_tokens = 128, rounds = 3;
  structured::ResponseFormat format{structured::ResponseFormat::Kind::kJsonSchema, kNestedSchema};
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--grammar") {
      std::ifstream in(argv[i + 1]);
      std::stringstream text;
      text << in.rdbuf();
      format = {structured::ResponseFormat::Kind::kGrammar, text.str()};
      continue;
    }
    int value = 0;
    if (!absl::SimpleAtoi(argv[i + 1], &value) || value < 1) {
      std::fprintf(stderr, "bad value for %s\n", flag.c_str());
      return 2;
    }
    if (flag == "--streams") streams = value;
    if (flag == "--tokens") max_tokens = value;
    if (flag == "--rounds") rounds = value;
  }
  RunnerOptions runner_options;
  runner_options.max_sequences = streams;
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Load(argv[1], runner_options);
  if (!runner.ok()) {
    std::fprintf(stderr, "%s\n", std::string(runner.status().message()).c_str());
    return 1;
  }
  EngineOptions engine_options;
  engine_options.max_running = streams;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(**runner, engine_options);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  const Tokenizer& tokenizer = (*runner)->tokenizer();

  const auto compile_start = EngineClock::now();
  absl::StatusOr<std::shared_ptr<const structured::Grammar>> grammar =
      structured::CompileResponseFormat(format);
  const double compile_ms =
      std::chrono::duration<double, std::milli>(EngineClock::now() - compile_start).count();
  if (!grammar.ok()) {
    std::fprintf(stderr, "%s\n", std::string(grammar.status().message()).c_str());
    return 1;
  }
  const auto trie_start = EngineClock::now();
  (*engine)->token_trie();
  const double trie_ms =
      std::chrono::duration<double, std::milli>(EngineClock::now() - trie_start).count();
  std::printf("model %s: vocabulary %d; schema compiled in %.2f ms; token trie built in %.0f ms\n",
              argv[1], tokenizer.vocab_size(), compile_ms, trie_ms);

  RunStreams(**engine, tokenizer, streams, 16, nullptr, -1);  // warm-up
  std::vector<double> free_rate, constrained_rate, free_step, constrained_step, mask_us, mask_share;
  for (int round = 0; round < rounds; ++round) {
    const RunResult f = RunStreams(**engine, tokenizer, streams, max_tokens, nullptr, round);
    const RunResult c = RunStreams(**engine, tokenizer, streams, max_tokens, *grammar, round);
    free_rate.push_back(f.tokens / f.seconds);
    constrained_rate.push_back(c.tokens / c.seconds);
    free_step.push_back(1e3 * f.seconds / f.steps);
    constrained_step.push_back(1e3 * c.seconds / c.steps);
    mask_us.push_back(1e6 * c.mask_seconds / std::max<int64_t>(c.masks, 1));
    mask_share.push_back(100.0 * c.mask_seconds / c.seconds);
    std::printf(
        "round %d: free %lld tokens in %.2f s (%lld steps); constrained %lld tokens in "
        "%.2f s (%lld steps)\n",
        round, static_cast<long long>(f.tokens), f.seconds, static_cast<long long>(f.steps),
        static_cast<long long>(c.tokens), c.seconds, static_cast<long long>(c.steps));
  }
  const double fr = Median(free_rate), cr = Median(constrained_rate);
  std::printf("%d streams, %d tokens each, medians of %d rounds:\n", streams, max_tokens, rounds);
  std::printf("  free        %8.1f tokens/s  %7.2f ms/step\n", fr, Median(free_step));
  std::printf("  constrained %8.1f tokens/s  %7.2f ms/step\n", cr, Median(constrained_step));
  std::printf(
      "  the format costs %.1f%% of throughput; its masks take %.1f us each, %.1f%% of "
      "the constrained run's time\n",
      100.0 * (1.0 - cr / fr), Median(mask_us), Median(mask_share));
  return 0;
}

}  // namespace
}  // namespace llmw

int main(int argc, char** argv) { return llmw::Main(argc, argv); }
