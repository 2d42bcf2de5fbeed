// Prefill and decode speed of one sequence: a prompt of --prompt-tokens
// tokens (a fixed text's tokens, repeated), then --gen-tokens greedy decode
// steps. Prints one JSON line; bench/compare_llamacpp.sh runs it beside
// llama.cpp. A benchmark reports numbers, it never passes or fails.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "models/model_runner.h"
#include "worker/engine/sampler.h"
#include "worker/engine/sequence_runner.h"

namespace llmw {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kText[] =
    "The quick brown fox jumps over the lazy dog while the orchestra tunes its instruments, "
    "and a small robot counts the stars above the old lighthouse by the sea. ";

int Run(const std::string& model_path, int64_t prompt_tokens, int64_t gen_tokens, int threads) {
  RunnerOptions options;
  options.backend.threads = threads;
  options.max_sequences = 1;
  auto model = ModelRunner::Load(model_path, options);
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  const std::vector<int32_t> text = (*model)->tokenizer().Encode(kText, false, false);
  std::vector<int32_t> prompt;
  while (static_cast<int64_t>(prompt.size()) < prompt_tokens) {
    prompt.push_back(text[prompt.size() % text.size()]);
  }
  auto runner = SequenceRunner::Create(**model, prompt_tokens + gen_tokens);
  if (!runner.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(runner.status().message()).c_str());
    return 1;
  }
  const Clock::time_point t0 = Clock::now();
  auto logits = (*runner)->Append(prompt);
  const Clock::time_point t1 = Clock::now();
  for (int64_t i = 0; i < gen_tokens && logits.ok(); ++i) {
    const int32_t next[] = {ArgMax(*logits)};
    logits = (*runner)->Append(next);
  }
  const Clock::time_point t2 = Clock::now();
  if (!logits.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(logits.status().message()).c_str());
    return 1;
  }
  const double prefill_s = std::chrono::duration<double>(t1 - t0).count();
  const double decode_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf("{\"prefill_tok_s\": %.2f, \"decode_tok_s\": %.2f}\n", prompt_tokens / prefill_s,
              gen_tokens / decode_s);
  return 0;
}

}  // namespace
}  // namespace llmw

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: generate_speed MODEL PROMPT_TOKENS GEN_TOKENS THREADS\n");
    return 2;
  }
  return llmw::Run(argv[1], std::stoll(argv[2]), std::stoll(argv[3]), std::stoi(argv[4]));
}
