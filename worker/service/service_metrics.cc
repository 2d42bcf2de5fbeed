// Metric families of the worker and how engine events and stats feed them.
#include "worker/service/service_metrics.h"

#include "kernels/status_macros.h"
#include "worker/metrics/buckets.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<ServiceMetrics>> ServiceMetrics::Create(metrics::Registry& registry,
                                                                       ModelSet& models) {
  std::unique_ptr<ServiceMetrics> m(new ServiceMetrics(registry, models));
  const std::vector<std::string> model = {"model"};
  ASSIGN_OR_RETURN(m->requests_,
                   registry.AddCounter("llmw_requests", "Finished requests by finish reason.",
                                       {"model", "reason"}));
  ASSIGN_OR_RETURN(
      m->prompt_tokens_,
      registry.AddCounter("llmw_prompt_tokens", "Prompt tokens of finished requests.", model));
  ASSIGN_OR_RETURN(m->generation_tokens_,
                   registry.AddCounter("llmw_generation_tokens",
                                       "Generated tokens of finished requests.", model));
  ASSIGN_OR_RETURN(m->prefix_hits_,
                   registry.AddCounter("llmw_prefix_cache_hit_tokens",
                                       "Prompt tokens served from the prefix cache.", model));
  ASSIGN_OR_RETURN(m->prefix_queries_,
                   registry.AddCounter("llmw_prefix_cache_query_tokens",
                                       "Prompt tokens looked up in the prefix cache.", model));
  ASSIGN_OR_RETURN(
      m->preemptions_,
      registry.AddCounter("llmw_preemptions", "Sequences preempted for KV blocks.", model));
  ASSIGN_OR_RETURN(m->running_,
                   registry.AddGauge("llmw_requests_running", "Requests in the batch.", model));
  ASSIGN_OR_RETURN(m->waiting_,
                   registry.AddGauge("llmw_requests_waiting", "Requests queued.", model));
  ASSIGN_OR_RETURN(m->kv_usage_,
                   registry.AddGauge("llmw_kv_cache_usage_ratio",
                                     "Share of KV-cache blocks in use (0 to 1).", model));
  ASSIGN_OR_RETURN(m->kv_blocks_used_, registry.AddGauge("llmw_kv_cache_blocks_used",
                                                         "KV-cache blocks in use.", model));
  ASSIGN_OR_RETURN(m->kv_blocks_total_, registry.AddGauge("llmw_kv_cache_blocks_capacity",
                                                          "KV-cache blocks in all.", model));
  const std::vector<double> latency = metrics::LatencyBuckets();
  ASSIGN_OR_RETURN(m->ttft_, registry.AddHistogram("llmw_time_to_first_token_seconds",
                                                   "Submit to first token.", latency, model));
  ASSIGN_OR_RETURN(m->itl_, registry.AddHistogram("llmw_inter_token_latency_seconds",
                                                  "Time between consecutive tokens of a request.",
                                                  latency, model));
  ASSIGN_OR_RETURN(m->e2e_, registry.AddHistogram("llmw_e2e_request_latency_seconds",
                                                  "Submit to finish.", latency, model));
  ASSIGN_OR_RETURN(m->queue_, registry.AddHistogram("llmw_queue_time_seconds",
                                                    "Submit to first scheduled.", latency, model));
  ASSIGN_OR_RETURN(std::vector<double> lengths, metrics::ExponentialBuckets(1, 2, 16));
  ASSIGN_OR_RETURN(m->prompt_length_,
                   registry.AddHistogram("llmw_prompt_length_tokens", "Prompt tokens per request.",
                                         lengths, model));
  ASSIGN_OR_RETURN(m->generation_length_,
                   registry.AddHistogram("llmw_generation_length_tokens",
                                         "Generated tokens per request.", lengths, model));
  ServiceMetrics* raw = m.get();
  m->collector_ = registry.AddCollector([raw] { raw->Collect(); });
  return m;
}

ServiceMetrics::~ServiceMetrics() { registry_.RemoveCollector(collector_); }

void ServiceMetrics::OnEvent(const std::string& model, const GenerationEvent& event,
                             Stream& stream) {
  if (std::holds_alternative<TokenEvent>(event)) {
    const EngineClock::time_point now = EngineClock::now();
    if (stream.has_token) {
      itl_->WithLabels({model}).Observe(
          std::chrono::duration<double>(now - stream.last_token).count());
    }
    stream.last_token = now;
    stream.has_token = true;
  } else if (const auto* f = std::get_if<FinishedEvent>(&event)) {
    requests_->WithLabels({model, FinishReasonName(f->reason)}).Inc();
    prompt_tokens_->WithLabels({model}).Inc(f->prompt_tokens);
    generation_tokens_->WithLabels({model}).Inc(f->generated_tokens);
    if (f->generated_tokens > 0) ttft_->WithLabels({model}).Observe(f->time_to_first_token_seconds);
    e2e_->WithLabels({model}).Observe(f->total_seconds);
    queue_->WithLabels({model}).Observe(f->queue_seconds);
    prompt_length_->WithLabels({model}).Observe(static_cast<double>(f->prompt_tokens));
    generation_length_->WithLabels({model}).Observe(static_cast<double>(f->generated_tokens));
  }
}

void ServiceMetrics::Collect() {
  for (const auto& served : models_.models()) {
    const EngineStats s = served->engine->stats();
    const std::string& name = served->name;
    running_->WithLabels({name}).Set(static_cast<double>(s.running));
    waiting_->WithLabels({name}).Set(static_cast<double>(s.waiting));
    kv_blocks_used_->WithLabels({name}).Set(static_cast<double>(s.kv_blocks_used));
    kv_blocks_total_->WithLabels({name}).Set(static_cast<double>(s.kv_blocks_total));
    kv_usage_->WithLabels({name}).Set(
        s.kv_blocks_total > 0 ? static_cast<double>(s.kv_blocks_used) / s.kv_blocks_total : 0.0);
    Exported& done = exported_[name];
    prefix_hits_->WithLabels({name}).Inc(s.prefix_hit_tokens - done.prefix_hits);
    prefix_queries_->WithLabels({name}).Inc(s.prefix_query_tokens - done.prefix_queries);
    preemptions_->WithLabels({name}).Inc(s.preemptions - done.preemptions);
    done = {s.prefix_hit_tokens, s.prefix_query_tokens, s.preemptions};
  }
}

}  // namespace llmw
