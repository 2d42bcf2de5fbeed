// The worker's Prometheus metrics (prefix llmw_, label `model`): request and
// token counters and latency histograms fed by each Generate stream, and load
// gauges read from the engines at scrape time.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "worker/engine/request.h"
#include "worker/metrics/registry.h"
#include "worker/service/served_model.h"

namespace llmw {

class ServiceMetrics {
 public:
  // Registers every family in `registry` and a collector over `models`' engines.
  static absl::StatusOr<std::unique_ptr<ServiceMetrics>> Create(metrics::Registry& registry,
                                                                ModelSet& models);
  ~ServiceMetrics();

  // Per-request bookkeeping, owned by the stream.
  struct Stream {
    EngineClock::time_point last_token;
    bool has_token = false;
  };
  // Called for every event of one request of `model` (engine thread).
  void OnEvent(const std::string& model, const GenerationEvent& event, Stream& stream);

 private:
  ServiceMetrics(metrics::Registry& registry, ModelSet& models)
      : registry_(registry), models_(models) {}
  void Collect();

  metrics::Registry& registry_;
  ModelSet& models_;
  metrics::Registry::CollectorId collector_ = 0;
  metrics::CounterFamily* requests_ = nullptr;
  metrics::CounterFamily* prompt_tokens_ = nullptr;
  metrics::CounterFamily* generation_tokens_ = nullptr;
  metrics::CounterFamily* prefix_hits_ = nullptr;
  metrics::CounterFamily* prefix_queries_ = nullptr;
  metrics::CounterFamily* preemptions_ = nullptr;
  metrics::GaugeFamily* running_ = nullptr;
  metrics::GaugeFamily* waiting_ = nullptr;
  metrics::GaugeFamily* kv_usage_ = nullptr;
  metrics::GaugeFamily* kv_blocks_used_ = nullptr;
  metrics::GaugeFamily* kv_blocks_total_ = nullptr;
  metrics::HistogramFamily* ttft_ = nullptr;
  metrics::HistogramFamily* itl_ = nullptr;
  metrics::HistogramFamily* e2e_ = nullptr;
  metrics::HistogramFamily* queue_ = nullptr;
  metrics::HistogramFamily* prompt_length_ = nullptr;
  metrics::HistogramFamily* generation_length_ = nullptr;
  // Engine counters already exported, per model (the collector adds the rest).
  struct Exported {
    int64_t prefix_hits = 0, prefix_queries = 0, preemptions = 0;
  };
  std::map<std::string, Exported> exported_;
};

}  // namespace llmw
