// Aggregate decode throughput and latency of the engine on one model at
// 1, 4, 8 and 16 (or the listed) concurrent streams: each stream has a ~40-token prompt and
// generates --gen tokens. Prints tokens/s, time to first token and
// inter-token latency percentiles. Reports numbers; never passes or fails.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "models/model_runner.h"
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

void RunLevel(Engine& engine, const ModelRunner& model, int streams, int gen) {
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
  std::printf(
      "streams %2d  aggregate %7.1f tok/s (decode window %7.1f, steady %7.1f tok/s)  ttft p50 "
      "%6.1f p90 %6.1f ms  itl p50 %5.1f p90 %5.1f p99 %5.1f ms\n",
      streams, tokens / wall, (tokens - streams) / decode_window,
      steady_span > 0 ? steady_tokens / steady_span : 0.0, Percentile(ttft, 50),
      Percentile(ttft, 90), Percentile(itl, 50), Percentile(itl, 90), Percentile(itl, 99));
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: engine_bench MODEL [GEN_TOKENS=64] [THREADS=all] [STREAMS=1,4,8,16] "
                 "[KV_DTYPE=f32]\n");
    return 2;
  }
  const int gen = argc > 2 ? std::stoi(argv[2]) : 64;
  RunnerOptions runner_options;
  runner_options.backend.threads = argc > 3 ? std::stoi(argv[3]) : 0;
  runner_options.max_sequences = 16;
  if (argc > 5) {
    absl::StatusOr<DType> dtype = ParseKvCacheDType(argv[5]);
    if (!dtype.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(dtype.status().message()).c_str());
      return 2;
    }
    runner_options.kv.dtype = *dtype;
  }
  auto model = ModelRunner::Load(argv[1], runner_options);
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  EngineOptions options;
  options.max_running = 16;
  options.enable_prefix_caching = false;  // measure the model, not the cache
  auto engine = Engine::Create(**model, options);
  if (!engine.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  std::printf("model %s on %s, KV cache %s, %d tokens per stream\n", (*model)->info().name.c_str(),
              (*model)->backend().Describe().c_str(),
              std::string(DTypeName(runner_options.kv.dtype)).c_str(), gen);
  std::vector<int> levels = {1, 4, 8, 16};
  if (argc > 4) {
    levels.clear();
    for (absl::string_view level : absl::StrSplit(argv[4], ',')) {
      levels.push_back(std::stoi(std::string(level)));
    }
  }
  for (int streams : levels) RunLevel(**engine, **model, streams, gen);
  return 0;
}

}  // namespace
}  // namespace llmw

int main(int argc, char** argv) { return llmw::Main(argc, argv); }
