// The load of every served model as the worker reports it. GetLoad, the
// scheduler heartbeats and /metrics all read it here, so their counters
// agree: gauges are the engines' current values, counters count from
// StartCounting() (when the worker begins serving), so the start-up warm-up
// request is in none of them.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "worker/engine/engine.h"
#include "worker/service/served_model.h"

namespace llmw {

class LoadTracker {
 public:
  // `models` must outlive the tracker.
  explicit LoadTracker(const ModelSet& models) : models_(models) {}

  // Takes every model's counters as the zero point. Call once, after the last
  // model is loaded and warmed up and before serving; the model set must not
  // change afterwards.
  void StartCounting();

  struct ModelLoad {
    std::string model;
    EngineStats stats;   // counters relative to StartCounting()
    std::string device;  // "cpu" or "cuda"
    ModelRunner::MemoryUse memory;
  };
  // Empty until StartCounting() (the models are still loading).
  std::vector<ModelLoad> Read() const;

 private:
  const ModelSet& models_;
  mutable std::mutex mu_;
  bool counting_ = false;          // guarded by mu_
  std::vector<EngineStats> zero_;  // guarded by mu_; one per model, in order
};

}  // namespace llmw
