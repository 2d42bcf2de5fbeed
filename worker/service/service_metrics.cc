// Metric families of the worker and how engine events and load feed them.
#include "worker/service/service_metrics.h"

#include "worker/metrics/buckets.h"
#include "worker/metrics/sampled_family.h"

namespace llmw {
namespace {

using prometheus::MetricType;

prometheus::Family<prometheus::Counter>& AddCounter(prometheus::Registry& registry,
                                                    const std::string& name,
                                                    const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Histogram>& AddHistogram(prometheus::Registry& registry,
                                                        const std::string& name,
                                                        const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

double Seconds(EngineClock::duration d) { return std::chrono::duration<double>(d).count(); }

// A metric read from the engines' load at scrape time.
struct LoadMetric {
  const char* name;
  const char* help;
  MetricType type;
  double (*value)(const EngineStats& s);
};

constexpr LoadMetric kLoadMetrics[] = {
    {"llmw_requests_running", "Requests in the batch.", MetricType::Gauge,
     [](const EngineStats& s) { return static_cast<double>(s.running); }},
    {"llmw_requests_waiting", "Requests queued.", MetricType::Gauge,
     [](const EngineStats& s) { return static_cast<double>(s.waiting); }},
    {"llmw_kv_cache_usage_ratio", "Share of KV-cache blocks in use (0 to 1).", MetricType::Gauge,
     [](const EngineStats& s) {
       return s.kv_blocks_total > 0 ? static_cast<double>(s.kv_blocks_used) / s.kv_blocks_total
                                    : 0.0;
     }},
    {"llmw_kv_cache_blocks_used", "KV-cache blocks in use.", MetricType::Gauge,
     [](const EngineStats& s) { return static_cast<double>(s.kv_blocks_used); }},
    {"llmw_kv_cache_blocks_capacity", "KV-cache blocks in all.", MetricType::Gauge,
     [](const EngineStats& s) { return static_cast<double>(s.kv_blocks_total); }},
    {"llmw_generation_tokens_total", "Tokens generated since the worker began serving.",
     MetricType::Counter,
     [](const EngineStats& s) { return static_cast<double>(s.generated_tokens); }},
    {"llmw_prefix_cache_hit_tokens_total", "Prompt tokens served from the prefix cache.",
     MetricType::Counter,
     [](const EngineStats& s) { return static_cast<double>(s.prefix_hit_tokens); }},
    {"llmw_prefix_cache_query_tokens_total", "Prompt tokens looked up in the prefix cache.",
     MetricType::Counter,
     [](const EngineStats& s) { return static_cast<double>(s.prefix_query_tokens); }},
    {"llmw_preemptions_total", "Sequences preempted for KV blocks.", MetricType::Counter,
     [](const EngineStats& s) { return static_cast<double>(s.preemptions); }},
};

}  // namespace

// The load of every model, read from the LoadTracker at each scrape.
class ServiceMetrics::LoadCollector final : public prometheus::Collectable {
 public:
  explicit LoadCollector(const LoadTracker& load) : load_(load) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    const std::vector<LoadTracker::ModelLoad> loads = load_.Read();
    std::vector<prometheus::MetricFamily> families;
    if (loads.empty()) return families;  // still loading
    for (const LoadMetric& m : kLoadMetrics) {
      prometheus::MetricFamily& family =
          families.emplace_back(metrics::SampledFamily(m.name, m.help, m.type));
      for (const LoadTracker::ModelLoad& l : loads) {
        metrics::AddSample(family, {{"model", l.model}}, m.value(l.stats));
      }
    }
    prometheus::MetricFamily& memory = families.emplace_back(metrics::SampledFamily(
        "llmw_model_memory_bytes",
        "Memory of its device a model holds, by part (weights, workspace, kv_cache).",
        MetricType::Gauge));
    for (const LoadTracker::ModelLoad& l : loads) {
      const std::pair<const char*, int64_t> parts[] = {{"weights", l.memory.weights},
                                                       {"workspace", l.memory.workspace},
                                                       {"kv_cache", l.memory.kv_cache}};
      for (const auto& [part, bytes] : parts) {
        metrics::AddSample(memory, {{"model", l.model}, {"device", l.device}, {"part", part}},
                           static_cast<double>(bytes));
      }
    }
    return families;
  }

 private:
  const LoadTracker& load_;
};

ServiceMetrics::ServiceMetrics(const LoadTracker& load)
    : load_(std::make_shared<LoadCollector>(load)),
      requests_(AddCounter(*registry_, "llmw_requests_total", "Finished requests by reason.")),
      prompt_tokens_(AddCounter(*registry_, "llmw_prompt_tokens_total",
                                "Prompt tokens of finished requests.")),
      errors_(AddCounter(*registry_, "llmw_request_errors_total",
                         "Generate calls that ended with an error, by gRPC status code.")),
      ready_(&prometheus::BuildGauge()
                  .Name("llmw_ready")
                  .Help("1 while grpc.health.v1 reports SERVING, else 0.")
                  .Register(*registry_)
                  .Add({})),
      ttft_(AddHistogram(*registry_, "llmw_time_to_first_token_seconds", "Submit to first token.")),
      itl_(AddHistogram(*registry_, "llmw_inter_token_latency_seconds",
                        "Time between consecutive tokens of a request.")),
      e2e_(AddHistogram(*registry_, "llmw_e2e_request_latency_seconds", "Submit to finish.")),
      queue_(AddHistogram(*registry_, "llmw_queue_time_seconds", "Submit to first scheduled.")),
      prompt_length_(
          AddHistogram(*registry_, "llmw_prompt_length_tokens", "Prompt tokens per request.")),
      generation_length_(AddHistogram(*registry_, "llmw_generation_length_tokens",
                                      "Generated tokens per request.")) {}

std::vector<std::shared_ptr<prometheus::Collectable>> ServiceMetrics::Collectables() const {
  return {registry_, load_};
}

void ServiceMetrics::OnEvent(const std::string& model, const GenerationEvent& event,
                             Stream& stream) {
  const prometheus::Labels labels = {{"model", model}};
  if (std::holds_alternative<TokenEvent>(event)) {
    const EngineClock::time_point now = EngineClock::now();
    if (stream.itl == nullptr) {
      stream.itl = &itl_.Add(labels, metrics::LatencyBuckets());
    } else {
      stream.itl->Observe(Seconds(now - stream.last_token));
    }
    stream.last_token = now;
  } else if (const auto* f = std::get_if<FinishedEvent>(&event)) {
    requests_.Add({{"model", model}, {"reason", FinishReasonName(f->reason)}}).Increment();
    prompt_tokens_.Add(labels).Increment(static_cast<double>(f->prompt_tokens));
    if (f->generated_tokens > 0) {
      ttft_.Add(labels, metrics::LatencyBuckets()).Observe(f->time_to_first_token_seconds);
    }
    e2e_.Add(labels, metrics::LatencyBuckets()).Observe(f->total_seconds);
    queue_.Add(labels, metrics::LatencyBuckets()).Observe(f->queue_seconds);
    prompt_length_.Add(labels, metrics::TokenCountBuckets())
        .Observe(static_cast<double>(f->prompt_tokens));
    generation_length_.Add(labels, metrics::TokenCountBuckets())
        .Observe(static_cast<double>(f->generated_tokens));
  }
}

void ServiceMetrics::OnError(const std::string& model, absl::StatusCode code) {
  errors_.Add({{"model", model}, {"code", absl::StatusCodeToString(code)}}).Increment();
}

}  // namespace llmw
