// Engine statistics with counters taken relative to the start of serving.
#include "worker/service/load_tracker.h"

namespace llmw {
namespace {

// `now` with every counter (not the gauges) less its value in `zero`.
EngineStats CountersSince(EngineStats now, const EngineStats& zero) {
  now.prefix_query_tokens -= zero.prefix_query_tokens;
  now.prefix_hit_tokens -= zero.prefix_hit_tokens;
  now.prompt_tokens -= zero.prompt_tokens;
  now.generated_tokens -= zero.generated_tokens;
  now.preemptions -= zero.preemptions;
  now.steps -= zero.steps;
  for (size_t i = 0; i < std::size(now.finished); ++i) now.finished[i] -= zero.finished[i];
  return now;
}

}  // namespace

void LoadTracker::StartCounting() {
  std::lock_guard<std::mutex> lock(mu_);
  zero_.clear();
  for (const auto& served : models_.models()) zero_.push_back(served->engine->stats());
  counting_ = true;
}

std::vector<LoadTracker::ModelLoad> LoadTracker::Read() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ModelLoad> loads;
  if (!counting_) return loads;
  const auto& models = models_.models();
  for (size_t i = 0; i < models.size() && i < zero_.size(); ++i) {
    const ModelRunner& runner = *models[i]->runner;
    loads.push_back({models[i]->name, CountersSince(models[i]->engine->stats(), zero_[i]),
                     std::string(DeviceName(runner.device())), runner.memory_use()});
  }
  return loads;
}

}  // namespace llmw
