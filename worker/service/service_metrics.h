// The worker's Prometheus metrics (prefix llmw_, label `model`): request
// counters and latency histograms fed by each Generate stream, errors by gRPC
// code, readiness, and the load (gauges and engine counters) read from the
// LoadTracker at scrape time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "worker/engine/request.h"
#include "worker/service/load_tracker.h"

namespace llmw {

class ServiceMetrics {
 public:
  // `load` must outlive this object and the metrics server that serves it.
  explicit ServiceMetrics(const LoadTracker& load);

  // Per-request bookkeeping, owned by the stream.
  struct Stream {
    EngineClock::time_point last_token;
    prometheus::Histogram* itl = nullptr;  // set at the first token
  };
  // Called for every event of one request of `model` (engine thread).
  void OnEvent(const std::string& model, const GenerationEvent& event, Stream& stream);
  // A Generate call that ended with an error status; `model` is empty when
  // the call named no served model.
  void OnError(const std::string& model, absl::StatusCode code);
  // Whether grpc.health.v1 reports SERVING.
  void SetReady(bool ready) { ready_->Set(ready ? 1 : 0); }

  // What /metrics serves: the event-fed families, then the load.
  std::vector<std::shared_ptr<prometheus::Collectable>> Collectables() const;

 private:
  class LoadCollector;

  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<LoadCollector> load_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& prompt_tokens_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Gauge* ready_;
  prometheus::Family<prometheus::Histogram>& ttft_;
  prometheus::Family<prometheus::Histogram>& itl_;
  prometheus::Family<prometheus::Histogram>& e2e_;
  prometheus::Family<prometheus::Histogram>& queue_;
  prometheus::Family<prometheus::Histogram>& prompt_length_;
  prometheus::Family<prometheus::Histogram>& generation_length_;
};

}  // namespace llmw
