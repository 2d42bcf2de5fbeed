// One request through a locally loaded model's engine.
#include "tools/llmw/local_generate.h"

#include <chrono>
#include <cstdio>
#include <future>

#include "kernels/status_macros.h"
#include "models/llama/random_llama.h"
#include "tools/llmw/generate_output.h"
#include "worker/engine/engine.h"
#include "worker/service/proto_convert.h"
#include "worker/service/served_model.h"

namespace llmw::cli {

namespace {

absl::Status AddModel(const LocalModel& model, const RunnerOptions& runner_options,
                      ModelSet& models) {
  EngineOptions engine_options;
  engine_options.max_batch_tokens = runner_options.max_batch_tokens;
  engine_options.max_running = static_cast<int32_t>(runner_options.max_sequences);
  if (model.random_shape.empty()) {
    std::fprintf(stderr, "llmw: loading %s\n", model.path.c_str());
    ASSIGN_OR_RETURN(const ModelSpec spec, ParseModelSpec(model.path));
    return models.Add(spec, runner_options, engine_options);
  }
  std::fprintf(stderr, "llmw: making random %s weights at the shape of %s\n",
               model.random_dtype.c_str(), model.random_shape.c_str());
  ASSIGN_OR_RETURN(std::unique_ptr<ModelRunner> runner,
                   RandomLlamaRunner(model.random_shape, model.random_dtype, runner_options));
  return models.Add(model.random_shape, std::move(runner), engine_options);
}

}  // namespace

absl::Status GenerateLocal(const LocalModel& model, const RunnerOptions& runner_options,
                           const llmworker::v1::GenerateRequest& request) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point load_start = Clock::now();
  ModelSet models;
  RETURN_IF_ERROR(AddModel(model, runner_options, models));
  ServedModel& served = *models.models().front();
  const ModelInfo& info = served.runner->info();
  std::fprintf(stderr, "llmw: loaded %s (%s, %s, %.1fM parameters, context %lld) on %s in %.2f s\n",
               info.name.c_str(), info.architecture.c_str(), info.quantization.c_str(),
               info.n_params / 1e6, static_cast<long long>(info.context_length),
               served.runner->backend().Describe().c_str(),
               std::chrono::duration<double>(Clock::now() - load_start).count());

  const std::string id = "llmw";
  ASSIGN_OR_RETURN(GenerationRequest engine_request, ToEngineRequest(request, served, id));
  std::promise<void> finished;
  RETURN_IF_ERROR(served.engine->Submit(std::move(engine_request), [&](GenerationEvent event) {
    const bool last = std::holds_alternative<FinishedEvent>(event);
    PrintGenerateResponse(ToResponse(event, id, served));
    if (last) finished.set_value();
  }));
  finished.get_future().wait();
  return absl::OkStatus();
}

}  // namespace llmw::cli
