// Aggregate decode throughput and latency of the engine on one model (a checkpoint, or random
// weights at a real model's shape) on any device, at 1, 4, 8 and 16 (or the listed) concurrent
// streams: each stream has a ~40-token prompt and generates --gen-tokens tokens. Prints tokens/s,
// time to first token and inter-token latency percentiles, the weight bandwidth the decode steps
// reach (on a GPU also as a share of the device's measured copy bandwidth), and the prefill speed
// of one long prompt. Reports numbers; never passes or fails.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "kernels/status_macros.h"
#include "models/llama/random_llama.h"
#include "models/model_runner.h"
#include "worker/config/flags.h"
#include "worker/engine/engine.h"

namespace llmw {
namespace {

using Clock = EngineClock;

struct StreamTimes {
  Clock::time_point submitted;
  std::vector<Clock::time_point> tokens;
  bool done = false;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()))];
}

// What a decode step's speed is measured against: every weight is read once per step.
struct Ceiling {
  int64_t weight_bytes = 0;
  double copy_bandwidth = 0;  // bytes read + written per second; 0 = not measured
};

std::string WeightBandwidth(const Ceiling& ceiling, double steps_per_second) {
  const double bandwidth = steps_per_second * static_cast<double>(ceiling.weight_bytes);
  std::string text = absl::StrFormat("weights %.0f GB/s", bandwidth * 1e-9);
  if (ceiling.copy_bandwidth > 0) {
    absl::StrAppendFormat(&text, " = %.0f%% of copy", 100 * bandwidth / ceiling.copy_bandwidth);
  }
  return text;
}

void RunLevel(Engine& engine, const ModelRunner& model, const Ceiling& ceiling, int streams,
              int gen) {
  const std::string text =
      "You are a helpful assistant. Summarise the following note in one sentence: the meeting "
      "moved to Thursday at ten, bring the quarterly figures and the draft plan, stream ";
  std::vector<StreamTimes> times(streams);
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < streams; ++i) {
    GenerationRequest r;
    r.id = "bench-" + std::to_string(streams) + "-" + std::to_string(i);
    r.prompt = model.tokenizer().Encode(text + std::to_string(i), true, false);
    r.sampling.temperature = 0;
    r.stop.max_tokens = gen;
    r.stop.ignore_eos = true;
    times[i].submitted = Clock::now();
    const absl::Status s = engine.Submit(r, [&, i](GenerationEvent e) {
      std::lock_guard<std::mutex> lock(mu);
      if (std::holds_alternative<TokenEvent>(e)) times[i].tokens.push_back(Clock::now());
      if (std::holds_alternative<FinishedEvent>(e)) {
        ++finished;
        cv.notify_all();
      }
    });
    if (!s.ok()) std::fprintf(stderr, "submit: %s\n", std::string(s.message()).c_str());
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return finished == streams; });
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> ttft, itl;
  Clock::time_point first_token = Clock::time_point::max(), last_token = start;
  int64_t tokens = 0;
  for (const StreamTimes& t : times) {
    if (t.tokens.empty()) continue;
    ttft.push_back(std::chrono::duration<double>(t.tokens.front() - t.submitted).count() * 1e3);
    for (size_t k = 1; k < t.tokens.size(); ++k) {
      itl.push_back(std::chrono::duration<double>(t.tokens[k] - t.tokens[k - 1]).count() * 1e3);
    }
    first_token = std::min(first_token, t.tokens.front());
    last_token = std::max(last_token, t.tokens.back());
    tokens += static_cast<int64_t>(t.tokens.size());
  }
  const double decode_window = std::chrono::duration<double>(last_token - first_token).count();
  // Steady: the tokens that arrive while every stream is past its first token and none has
  // finished, over that span (the window above also counts streams that start late).
  Clock::time_point all_started = start, first_finished = Clock::time_point::max();
  for (const StreamTimes& t : times) {
    if (t.tokens.empty()) continue;
    all_started = std::max(all_started, t.tokens.front());
    first_finished = std::min(first_finished, t.tokens.back());
  }
  int64_t steady_tokens = 0;
  for (const StreamTimes& t : times) {
    for (const Clock::time_point at : t.tokens) {
      steady_tokens += at > all_started && at <= first_finished ? 1 : 0;
    }
  }
  const double steady_span = std::chrono::duration<double>(first_finished - all_started).count();
  const double steady = steady_span > 0 ? steady_tokens / steady_span : 0.0;
  std::printf(
      "streams %3d  aggregate %8.1f tok/s (decode window %8.1f, steady %8.1f tok/s)  ttft p50 "
      "%7.1f p99 %7.1f ms  itl p50 %6.2f p90 %6.2f p99 %6.2f ms  %s\n",
      streams, tokens / wall, (tokens - streams) / decode_window, steady, Percentile(ttft, 50),
      Percentile(ttft, 99), Percentile(itl, 50), Percentile(itl, 90), Percentile(itl, 99),
      WeightBandwidth(ceiling, steady / streams).c_str());
  std::fflush(stdout);
}

// Time to the first token of one request whose prompt is `length` tokens (ids spread over the
// vocabulary), generating one token: the prefill speed. Median of three runs after a warm-up.
void RunPrefill(Engine& engine, const ModelRunner& model, int64_t length) {
  const int64_t vocab = model.info().vocab_size;
  GenerationRequest r;
  r.prompt.resize(length);
  for (int64_t i = 0; i < length; ++i) r.prompt[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  r.sampling.temperature = 0;
  r.stop.max_tokens = 1;
  r.stop.ignore_eos = true;
  std::vector<double> seconds;
  for (int run = 0; run < 4; ++run) {
    r.id = "bench-prefill-" + std::to_string(run);
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Clock::time_point first_token{};
    const Clock::time_point start = Clock::now();
    const absl::Status s = engine.Submit(r, [&](GenerationEvent e) {
      std::lock_guard<std::mutex> lock(mu);
      if (std::holds_alternative<TokenEvent>(e) && first_token == Clock::time_point{}) {
        first_token = Clock::now();
      }
      if (std::holds_alternative<FinishedEvent>(e)) {
        done = true;
        cv.notify_all();
      }
    });
    if (!s.ok()) {
      std::printf("prefill %lld tokens: %s\n", static_cast<long long>(length),
                  std::string(s.message()).c_str());
      return;
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    if (first_token == Clock::time_point{}) {
      std::printf("prefill %lld tokens: no token came back\n", static_cast<long long>(length));
      return;
    }
    if (run > 0) seconds.push_back(std::chrono::duration<double>(first_token - start).count());
  }
  const double median = Percentile(seconds, 50);
  std::printf("prefill %lld tokens  %8.1f tok/s  ttft %7.1f ms (median of %zu)\n",
              static_cast<long long>(length), static_cast<double>(length) / median, median * 1e3,
              seconds.size());
  std::fflush(stdout);
}

const std::vector<cli::FlagSpec>& BenchFlags() {
  static const auto* specs = new std::vector<cli::FlagSpec>{
      {"model", "a checkpoint (.gguf or model directory)"},
      {"random-model",
       "instead of --model: random weights at a real shape (smollm2-135m, llama3.2-1b, "
       "llama3.1-8b, tiny)"},
      {"dtype", "with --random-model: the weights' type (bf16, f16, f32, q8_0, q4_0, q4_k, ...)"},
      {"device", "auto, cpu or cuda (default auto)"},
      {"threads", "CPU threads (default: all cores)"},
      {"gen-tokens", "tokens each stream generates (default 64)"},
      {"streams", "comma-separated stream counts (default 1,4,8,16)"},
      {"kv-cache-dtype", "auto, f32, f16 or bf16 (default auto: bf16 on a GPU, f32 on the CPU)"},
      {"prefill-tokens", "prompt length of the prefill measurement (default 2048; 0 = skip)"},
      {"max-batch-tokens", "tokens one forward pass may carry (default 2048)"},
      {"enforce-eager", "run every step op by op: no CUDA graphs for decode steps", true},
  };
  return *specs;
}

absl::Status Run(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(cli::ParsedFlags flags, cli::ParseFlags(BenchFlags(), args));
  ASSIGN_OR_RETURN(const int64_t gen, flags.GetInt("gen-tokens", 64));
  ASSIGN_OR_RETURN(const int64_t prefill_tokens, flags.GetInt("prefill-tokens", 2048));
  ASSIGN_OR_RETURN(const int64_t max_batch_tokens, flags.GetInt("max-batch-tokens", 2048));
  std::vector<int> levels;
  for (absl::string_view level : absl::StrSplit(flags.Get("streams").value_or("1,4,8,16"), ',')) {
    int value = 0;
    if (!absl::SimpleAtoi(level, &value) || value < 1) {
      return absl::InvalidArgumentError(absl::StrCat("--streams: bad count '", level, "'"));
    }
    levels.push_back(value);
  }
  RunnerOptions options;
  ASSIGN_OR_RETURN(options.backend.device, ParseDevice(flags.Get("device").value_or("auto")));
  ASSIGN_OR_RETURN(const int64_t threads, flags.GetInt("threads", 0));
  options.backend.threads = static_cast<int>(threads);
  options.max_sequences = *std::max_element(levels.begin(), levels.end());
  options.max_batch_tokens = max_batch_tokens;
  ASSIGN_OR_RETURN(options.kv.dtype,
                   ParseKvCacheDType(flags.Get("kv-cache-dtype").value_or("auto")));
  options.enforce_eager = flags.Has("enforce-eager");
  std::unique_ptr<ModelRunner> model;
  if (std::optional<std::string> shape = flags.Get("random-model")) {
    ASSIGN_OR_RETURN(model,
                     RandomLlamaRunner(*shape, flags.Get("dtype").value_or("bf16"), options));
  } else {
    ASSIGN_OR_RETURN(const std::string path, flags.GetRequired("model"));
    ASSIGN_OR_RETURN(model, ModelRunner::Load(path, options));
  }
  EngineOptions engine_options;
  engine_options.max_running = static_cast<int32_t>(options.max_sequences);
  engine_options.max_batch_tokens = max_batch_tokens;
  engine_options.enable_prefix_caching = false;  // measure the model, not the cache
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Create(*model, engine_options));
  std::printf("model %s on %s, KV cache %s, %lld tokens per stream\n", model->info().name.c_str(),
              model->backend().Describe().c_str(),
              std::string(DTypeName(model->kv_cache().shape().dtype)).c_str(),
              static_cast<long long>(gen));
  Ceiling ceiling{.weight_bytes = model->memory_use().weights};
  if (const absl::StatusOr<double> copy = DeviceCopyBandwidth(model->device()); copy.ok()) {
    ceiling.copy_bandwidth = *copy;
    std::printf("device copy bandwidth %.0f GB/s (read + write); ", *copy * 1e-9);
  }
  std::printf("weights %.1f MB, read once per decode step\n", ceiling.weight_bytes * 1e-6);
  for (int streams : levels) RunLevel(*engine, *model, ceiling, streams, static_cast<int>(gen));
  if (prefill_tokens > 0) {
    const int64_t length = std::min(prefill_tokens, model->info().context_length - 1);
    RunPrefill(*engine, *model, length);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace llmw

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: engine_bench (--model PATH | --random-model SHAPE --dtype DT) [flags]\n%s",
          llmw::cli::FlagsHelp(llmw::BenchFlags()).c_str());
      return 0;
    }
  }
  const absl::Status status = llmw::Run(args);
  if (!status.ok()) {
    std::fprintf(stderr, "engine_bench: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
