// llm-worker: loads its models, serves llmworker.v1.Worker over gRPC (with
// grpc.health.v1 and server reflection), exports Prometheus metrics, and on
// SIGTERM/SIGINT stops taking requests and drains the live ones.
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "kernels/status_macros.h"
#include "worker/config/flags.h"
#include "worker/metrics/metrics_server.h"
#include "worker/metrics/process_metrics.h"
#include "worker/registration/endpoint.h"
#include "worker/registration/registrar.h"
#include "worker/service/library_logs.h"
#include "worker/service/load_tracker.h"
#include "worker/service/logger.h"
#include "worker/service/security.h"
#include "worker/service/served_model.h"
#include "worker/service/service_metrics.h"
#include "worker/service/worker_service.h"

namespace llmw {
namespace {

constexpr char kVersion[] = "0.1.0";
constexpr char kServiceName[] = "llmworker.v1.Worker";
// The health name for liveness probes: SERVING as long as the process answers gRPC, whatever the
// models, the queue or a drain are doing, so a busy or draining worker is never restarted.
constexpr char kLivenessName[] = "liveness";

const std::vector<cli::FlagSpec>& WorkerFlags() {
  static const auto* specs = new std::vector<cli::FlagSpec>{
      {"model", "NAME=PATH of a checkpoint to serve (repeatable; LLMW_MODEL: comma-separated)",
       false, true},
      {"listen", "gRPC address (default 0.0.0.0:50051)"},
      {"metrics-listen", "Prometheus /metrics address (default 0.0.0.0:9100; 'off' = none)"},
      {"device",
       "auto, cpu or cuda (default auto: CUDA when this build has it and a GPU is usable)"},
      {"gpu-memory-utilization",
       "share of the GPU's memory to fill with weights, workspaces and KV cache (default 0.9)"},
      {"threads", "CPU compute threads per model (default: all cores)"},
      {"max-batch-tokens", "tokens per forward pass (default 512)"},
      {"max-running", "sequences batched at once (default 64)"},
      {"max-waiting", "queued requests before 'overloaded' (default 256)"},
      {"kv-cache-memory", "KV-cache bytes per model (default: derived from free memory)"},
      {"kv-cache-dtype", "auto, f32, f16 or bf16 (default auto: bf16 on a GPU, f32 on the CPU)"},
      {"enforce-eager",
       "run every step op by op: no CUDA graphs for decode steps (LLMW_ENFORCE_EAGER=1)", true},
      {"drain-timeout", "seconds live requests get to finish on SIGTERM (default 30)"},
      {"scheduler", "scheduler address to register with (default: none, standalone)"},
      {"worker-id", "this worker's id at the scheduler (default: the host name)"},
      {"advertise",
       "endpoint the scheduler hands to clients (default: --listen with 0.0.0.0 as "
       "the host name)"},
      {"log-format", "text or json (default text)"},
      {"tls-cert", "server certificate chain (PEM); with --tls-key enables TLS"},
      {"tls-key", "server private key (PEM)"},
      {"tls-client-ca", "CA (PEM) that must have signed client certificates (mutual TLS)"},
      {"auth-token-file",
       "file holding a bearer token every Worker call must present (or the token itself in "
       "LLMW_AUTH_TOKEN)"},
  };
  return *specs;
}

struct WorkerConfig {
  std::vector<ModelSpec> models;
  std::string listen, metrics_listen;
  RunnerOptions runner;
  EngineOptions engine;
  int64_t drain_seconds = 30;
  std::string scheduler, worker_id, advertise;  // scheduler empty: standalone
  LogFormat log_format = LogFormat::kText;
  SecurityOptions security;
};

absl::StatusOr<WorkerConfig> ReadConfig(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(cli::ParsedFlags flags,
                   cli::ParseFlags(WorkerFlags(), args, /*use_environment=*/true));
  WorkerConfig c;
  for (const std::string& text : flags.GetAll("model")) {
    ASSIGN_OR_RETURN(ModelSpec spec, ParseModelSpec(text));
    c.models.push_back(std::move(spec));
  }
  c.listen = flags.Get("listen").value_or("0.0.0.0:50051");
  c.metrics_listen = flags.Get("metrics-listen").value_or("0.0.0.0:9100");
  ASSIGN_OR_RETURN(c.runner.backend.device, ParseDevice(flags.Get("device").value_or("auto")));
  ASSIGN_OR_RETURN(c.runner.backend.gpu_memory_utilization,
                   flags.GetDouble("gpu-memory-utilization", 0.9));
  if (!(c.runner.backend.gpu_memory_utilization > 0 &&
        c.runner.backend.gpu_memory_utilization <= 1)) {
    return absl::InvalidArgumentError("--gpu-memory-utilization must be in (0, 1]");
  }
  ASSIGN_OR_RETURN(int64_t threads, flags.GetInt("threads", 0));
  ASSIGN_OR_RETURN(c.engine.max_batch_tokens, flags.GetInt("max-batch-tokens", 512));
  ASSIGN_OR_RETURN(int64_t max_running, flags.GetInt("max-running", 64));
  ASSIGN_OR_RETURN(int64_t max_waiting, flags.GetInt("max-waiting", 256));
  ASSIGN_OR_RETURN(c.runner.kv.bytes, flags.GetInt("kv-cache-memory", 0));
  ASSIGN_OR_RETURN(c.runner.kv.dtype,
                   ParseKvCacheDType(flags.Get("kv-cache-dtype").value_or("auto")));
  ASSIGN_OR_RETURN(c.drain_seconds, flags.GetInt("drain-timeout", 30));
  const std::string eager = flags.Get("enforce-eager").value_or("false");
  c.runner.enforce_eager = eager != "false" && eager != "0";
  if (threads < 0 || threads > 1024)
    return absl::InvalidArgumentError("--threads must be in [0, 1024]");
  if (max_running < 1 || max_running > 4096 || max_waiting < 0 || max_waiting > 1000000) {
    return absl::InvalidArgumentError("--max-running must be in [1, 4096], --max-waiting >= 0");
  }
  if (c.drain_seconds < 0) return absl::InvalidArgumentError("--drain-timeout must be >= 0");
  const std::string log_format = flags.Get("log-format").value_or("text");
  if (log_format != "text" && log_format != "json") {
    return absl::InvalidArgumentError(
        absl::StrCat("--log-format must be text or json, got '", log_format, "'"));
  }
  c.log_format = log_format == "json" ? LogFormat::kJson : LogFormat::kText;
  c.security.tls_cert_file = flags.Get("tls-cert").value_or("");
  c.security.tls_key_file = flags.Get("tls-key").value_or("");
  c.security.tls_client_ca_file = flags.Get("tls-client-ca").value_or("");
  if (std::optional<std::string> token_file = flags.Get("auth-token-file")) {
    ASSIGN_OR_RETURN(c.security.auth_token, ReadTokenFile(*token_file));
  } else if (const char* token = std::getenv("LLMW_AUTH_TOKEN"); token && *token) {
    c.security.auth_token = token;  // the token itself, for secrets mounted as environment
  }
  c.scheduler = flags.Get("scheduler").value_or("");
  c.worker_id = flags.Get("worker-id").value_or(Hostname());
  c.advertise = flags.Get("advertise").value_or("");
  if (c.runner.kv.bytes < 0) return absl::InvalidArgumentError("--kv-cache-memory must be >= 0");
  c.runner.backend.threads = static_cast<int>(threads);
  c.engine.max_running = static_cast<int32_t>(max_running);
  c.engine.max_waiting = static_cast<int32_t>(max_waiting);
  c.runner.max_batch_tokens = c.engine.max_batch_tokens;
  c.runner.max_sequences = c.engine.max_running;
  return c;
}

// One short greedy request through each engine before serving, so that the
// first real request does not pay for first touches of weights and buffers.
absl::Status WarmUp(ServedModel& served, Logger& log) {
  GenerationRequest request;
  request.id = "warm-up";
  request.prompt = served.runner->tokenizer().Encode("Hello, world.", true, false);
  if (request.prompt.empty()) request.prompt = {0};
  request.sampling.temperature = 0;
  request.stop.max_tokens = 4;
  request.stop.ignore_eos = true;
  std::promise<FinishedEvent> done;
  std::future<FinishedEvent> finished = done.get_future();
  RETURN_IF_ERROR(served.engine->Submit(request, [&done](GenerationEvent event) {
    if (auto* f = std::get_if<FinishedEvent>(&event)) done.set_value(*f);
  }));
  const FinishedEvent f = finished.get();
  if (f.reason != FinishReason::kLength) {
    return absl::InternalError(
        absl::StrCat("model '", served.name, "': warm-up request failed: ", f.detail));
  }
  log.Info(absl::StrCat("warmed up ", served.name), {{"seconds", f.total_seconds}});
  return absl::OkStatus();
}

absl::Status Serve(const WorkerConfig& config, Logger& log) {
  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Bad TLS files fail before the (slow) model loading.
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   MakeServerCredentials(config.security));
  if (config.models.empty()) {
    return absl::InvalidArgumentError("no model to serve (--model NAME=PATH)");
  }
  ModelSet models;
  LoadTracker load(models);
  ServiceMetrics service_metrics(load);
  // Metrics are served from the start, so a loading worker shows its memory and llmw_ready 0.
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (config.metrics_listen != "off") {
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables =
        service_metrics.Collectables();
    collectables.push_back(std::make_shared<metrics::ProcessCollector>(kVersion));
    ASSIGN_OR_RETURN(metrics_server,
                     metrics::MetricsServer::Start(config.metrics_listen, std::move(collectables)));
    log.Info(absl::StrCat("metrics on port ", metrics_server->port()));
  }

  // The server answers from the start: health NOT_SERVING and UNAVAILABLE
  // while the models load, so probes and clients see a loading worker.
  WorkerService service(models, load, &service_metrics, &log, config.security.auth_token);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, credentials, &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(16 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  const auto set_serving = [&](bool serving) {
    health->SetServingStatus("", serving);
    health->SetServingStatus(kServiceName, serving);
    service_metrics.SetReady(serving);
  };
  set_serving(false);
  health->SetServingStatus(kLivenessName, true);
  log.Info(absl::StrCat("listening on port ", port, "; loading models"));

  for (const ModelSpec& spec : config.models) {
    log.Info(absl::StrCat("loading ", spec.name, " from ", spec.path));
    RETURN_IF_ERROR(models.Add(spec, config.runner, config.engine));
    ServedModel& m = *models.models().back();
    const ModelInfo& info = m.runner->info();
    const KvCache& kv = m.runner->kv_cache();
    const ModelRunner::MemoryUse memory = m.runner->memory_use();
    log.Info(absl::StrCat("loaded ", m.name),
             {{"architecture", info.architecture},
              {"quantization", info.quantization},
              {"context", info.context_length},
              {"device", m.runner->backend().Describe()},
              {"weight_bytes", memory.weights},
              {"workspace_bytes", memory.workspace},
              {"kv_cache_bytes", memory.kv_cache},
              {"kv_cache_dtype", std::string(DTypeName(kv.shape().dtype))},
              {"kv_cache_tokens", m.engine->kv_capacity_tokens()}});
    RETURN_IF_ERROR(WarmUp(m, log));
  }

  load.StartCounting();
  service.set_state(llmworker::v1::WORKER_STATE_SERVING);
  set_serving(true);
  log.Info(absl::StrCat("serving on port ", port));

  // After `service`, which its callbacks use, so that it is destroyed first.
  std::unique_ptr<Registrar> registrar;
  if (config.scheduler.empty()) {
    log.Info("standalone: no --scheduler");
  } else {
    RegistrarOptions options;
    options.scheduler_address = config.scheduler;
    options.worker_id = config.worker_id;
    options.advertised_endpoint = config.advertise.empty()
                                      ? AdvertisedEndpoint(config.listen, port, Hostname())
                                      : config.advertise;
    options.version = kVersion;
    for (const auto& m : models.models()) {
      const EngineStats stats = m->engine->stats();
      llmworker::v1::ModelCapacity& capacity = options.models.emplace_back();
      capacity.set_name(m->name);
      capacity.set_max_context(m->runner->info().context_length);
      capacity.set_kv_blocks_total(stats.kv_blocks_total);
      capacity.set_kv_block_size(stats.block_size);
      capacity.set_max_running(config.engine.max_running);
      capacity.set_max_waiting(config.engine.max_waiting);
    }
    registrar = std::make_unique<Registrar>(
        std::move(options),
        [&service](llmworker::v1::HeartbeatRequest* request) {
          llmworker::v1::GetLoadResponse load;
          service.FillLoad(&load);
          request->set_state(load.state());
          request->mutable_models()->Swap(load.mutable_models());
        },
        // DRAIN from the scheduler drains like SIGTERM: SIGTERM is blocked in every thread, so
        // it stays pending for the process and the sigwait below takes it.
        [] { kill(getpid(), SIGTERM); },
        [&log](const std::string& line) { log.Info(absl::StrCat("registration: ", line)); });
    RETURN_IF_ERROR(registrar->Start());
  }

  int signal = 0;
  sigwait(&stop_signals, &signal);
  log.Info("draining", {{"signal", static_cast<int64_t>(signal)},
                        {"drain_timeout_s", config.drain_seconds},
                        {"active_streams", service.active_streams()}});
  service.set_state(llmworker::v1::WORKER_STATE_DRAINING);
  set_serving(false);
  // Deregister before finishing the live requests, so that nothing new is routed here.
  if (registrar != nullptr) registrar->Stop(std::chrono::seconds(2), "shutdown");
  // Live streams get the drain timeout to finish; the rest end with UNAVAILABLE.
  const auto drain_deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(config.drain_seconds);
  while (service.active_streams() > 0 && std::chrono::steady_clock::now() < drain_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (service.active_streams() > 0) {
    log.Info("drain timeout: cancelling the remaining streams",
             {{"active_streams", service.active_streams()}});
    service.CancelAllStreams();
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  log.Info("stopped");
  return absl::OkStatus();
}

}  // namespace
}  // namespace llmw

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("usage: llm-worker --model NAME=PATH [flags]\n%s",
                  llmw::cli::FlagsHelp(llmw::WorkerFlags()).c_str());
      return 0;
    }
  }
  absl::StatusOr<llmw::WorkerConfig> config = llmw::ReadConfig(args);
  llmw::Logger log(config.ok() ? config->log_format : llmw::LogFormat::kText);
  const llmw::LibraryLogRoute library_logs(&log);
  absl::Status status = config.ok() ? llmw::Serve(*config, log) : config.status();
  if (!status.ok()) {
    log.Error(std::string(status.message()));
    return 1;
  }
  return 0;
}
