// Loads a checkpoint, tokenizes the prompt (optionally through the chat
// template), prefills it, and samples tokens until an end-of-generation token
// or --max-tokens. Text goes to stdout as it is produced; progress and the
// final throughput line go to stderr.
#include "tools/llmw/generate_command.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

#include "absl/strings/str_format.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/status_macros.h"
#include "models/registry.h"
#include "models/tokenizer/chat_prompt.h"
#include "models/tokenizer/chat_template.h"
#include "models/tokenizer/stream_decoder.h"
#include "tools/llmw/remote_generate.h"
#include "worker/config/flags.h"
#include "worker/engine/sampler.h"
#include "worker/engine/sequence_runner.h"

namespace llmw::cli {
namespace {

using Clock = std::chrono::steady_clock;

const std::vector<FlagSpec>& GenerateFlags() {
  static const auto* specs = [] {
    auto* all = new std::vector<FlagSpec>(ConnectionFlags());
    all->insert(
        all->end(),
        {
            {"model",
             "path to a .gguf checkpoint (with --server: the model's name, default the first)"},
            {"prompt", "the prompt text (required)"},
            {"chat", "wrap the prompt as a user message in the model's chat template", true},
            {"special-as-text",
             "read special-token text in the prompt (\"<|im_start|>\") as plain text", true},
            {"max-tokens", "most tokens to generate (default 128)"},
            {"ignore-eos", "keep generating past end-of-generation tokens", true},
            {"temperature", "0 = greedy (default 0.8)"},
            {"top-k", "keep the k most likely tokens; 0 = all (default 40)"},
            {"top-p", "nucleus sampling mass in (0, 1] (default 0.95)"},
            {"seed", "random seed (default: random)"},
            {"threads", "worker threads (default: all cores)"},
        });
    return all;
  }();
  return *specs;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct GenerateOptions {
  Connection connection;
  std::string model_path;
  std::string prompt;
  bool chat = false;
  bool special_as_text = false;
  bool ignore_eos = false;
  int64_t max_tokens = 128;
  int64_t threads = 0;
  SamplingParams sampling;
};

absl::StatusOr<GenerateOptions> ReadOptions(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(GenerateFlags(), args));
  GenerateOptions o;
  o.connection = ReadConnection(flags);
  if (o.connection.server.empty()) {
    ASSIGN_OR_RETURN(o.model_path, flags.GetRequired("model"));
  } else {
    o.model_path = flags.Get("model").value_or("");
  }
  ASSIGN_OR_RETURN(o.prompt, flags.GetRequired("prompt"));
  o.chat = flags.Has("chat");
  o.special_as_text = flags.Has("special-as-text");
  o.ignore_eos = flags.Has("ignore-eos");
  ASSIGN_OR_RETURN(o.max_tokens, flags.GetInt("max-tokens", 128));
  ASSIGN_OR_RETURN(o.threads, flags.GetInt("threads", std::thread::hardware_concurrency()));
  ASSIGN_OR_RETURN(double temperature, flags.GetDouble("temperature", 0.8));
  ASSIGN_OR_RETURN(int64_t top_k, flags.GetInt("top-k", 40));
  ASSIGN_OR_RETURN(double top_p, flags.GetDouble("top-p", 0.95));
  ASSIGN_OR_RETURN(int64_t seed,
                   flags.GetInt("seed", static_cast<int64_t>(std::random_device()())));
  if (o.max_tokens < 1) return absl::InvalidArgumentError("--max-tokens must be at least 1");
  if (o.threads < 1 || o.threads > 1024) {
    return absl::InvalidArgumentError("--threads must be in [1, 1024]");
  }
  if (top_k < 0 || top_k > INT32_MAX) return absl::InvalidArgumentError("--top-k must be >= 0");
  o.sampling.temperature = static_cast<float>(temperature);
  o.sampling.top_k = static_cast<int32_t>(top_k);
  o.sampling.top_p = static_cast<float>(top_p);
  o.sampling.seed = static_cast<uint64_t>(seed);
  // The CLI sets no token ids, so any vocabulary size checks the same ranges.
  RETURN_IF_ERROR(ValidateSamplingParams(o.sampling, /*vocab_size=*/1));
  return o;
}

absl::StatusOr<std::vector<int32_t>> PromptTokens(const Model& model, const GenerateOptions& o) {
  if (!o.chat) return model.tokenizer().Encode(o.prompt, /*add_bos=*/true, !o.special_as_text);
  ASSIGN_OR_RETURN(std::unique_ptr<ChatTemplate> chat_template,
                   ChatTemplateFromText(model.info().chat_template,
                                        ChatContextOf(model.tokenizer())));
  const std::vector<ChatMessage> messages = {{"user", o.prompt}};
  ASSIGN_OR_RETURN(const std::string text,
                   chat_template->Render(messages, /*add_generation_prompt=*/true));
  return EncodeChatPrompt(model.tokenizer(), text, /*add_special=*/true);
}

absl::Status Generate(const GenerateOptions& o) {
  cpu::ThreadPool pool(static_cast<int>(o.threads));
  std::fprintf(stderr, "llmw: loading %s\n", o.model_path.c_str());
  const Clock::time_point load_start = Clock::now();
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                   LoadModel(o.model_path, LoadOptions{&pool, /*max_batch_tokens=*/512}));
  const ModelInfo& info = model->info();
  std::fprintf(stderr, "llmw: loaded %s (%s, %s, %.1fM parameters, context %lld) in %.2f s\n",
               info.name.c_str(), info.architecture.c_str(), info.quantization.c_str(),
               info.n_params / 1e6, static_cast<long long>(info.context_length),
               Seconds(Clock::now() - load_start));

  ASSIGN_OR_RETURN(std::vector<int32_t> prompt, PromptTokens(*model, o));
  if (prompt.empty()) return absl::InvalidArgumentError("the prompt has no tokens");
  const int64_t n_prompt = static_cast<int64_t>(prompt.size());
  RETURN_IF_ERROR(CheckFitsContext(n_prompt, o.max_tokens, info.context_length));
  ASSIGN_OR_RETURN(std::unique_ptr<SequenceRunner> runner,
                   SequenceRunner::Create(*model, n_prompt + o.max_tokens));

  const Tokenizer& tokenizer = model->tokenizer();
  Sampler sampler(o.sampling, info.vocab_size, *o.sampling.seed, prompt);
  StreamDecoder decoder(tokenizer);
  const Clock::time_point prefill_start = Clock::now();
  ASSIGN_OR_RETURN(std::span<const float> logits, runner->Append(prompt));
  const Clock::time_point decode_start = Clock::now();
  int64_t generated = 0;
  while (generated < o.max_tokens) {
    const int32_t token = sampler.Sample(logits);
    sampler.Accept(token);
    ++generated;
    if (!o.ignore_eos && tokenizer.IsEndOfGeneration(token)) break;
    std::cout << decoder.Push(token) << std::flush;
    if (generated == o.max_tokens) break;
    const int32_t next[] = {token};
    ASSIGN_OR_RETURN(logits, runner->Append(next));
  }
  std::cout << decoder.Flush() << std::endl;
  const Clock::time_point end = Clock::now();
  const double prefill_s = Seconds(decode_start - prefill_start);
  const double decode_s = Seconds(end - decode_start);
  std::fprintf(stderr,
               "llmw: prompt %lld tokens, generated %lld tokens; prefill %.1f tok/s, decode "
               "%.1f tok/s\n",
               static_cast<long long>(n_prompt), static_cast<long long>(generated),
               n_prompt / prefill_s, generated > 1 ? (generated - 1) / decode_s : 0.0);
  return absl::OkStatus();
}

}  // namespace

int RunGenerate(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout
          << "usage: llmw generate (--model PATH | --server HOST:PORT) --prompt TEXT [flags]\n"
          << FlagsHelp(GenerateFlags());
      return 0;
    }
  }
  absl::StatusOr<GenerateOptions> options = ReadOptions(args);
  absl::Status status = options.status();
  if (options.ok() && !options->connection.server.empty()) {
    status = GenerateRemote({options->connection, options->model_path, options->prompt,
                             options->chat, options->ignore_eos, options->max_tokens,
                             options->sampling, options->special_as_text});
  } else if (options.ok()) {
    status = Generate(*options);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "llmw: error: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace llmw::cli
