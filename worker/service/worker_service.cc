// Worker RPCs. A Generate call is a reactor that owns a queue of responses:
// the engine thread appends events, gRPC's OnWriteDone drains them one write
// at a time. A client that reads too slowly is cancelled rather than letting
// the queue grow without bound.
#include "worker/service/worker_service.h"

#include <chrono>
#include <deque>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "models/tokenizer/stream_decoder.h"
#include "worker/service/proto_convert.h"

namespace llmw {
namespace {

namespace pb = ::llmworker::v1;

// Responses a stream may have queued for a client that is not reading.
constexpr size_t kMaxQueuedResponses = 4096;

// A unary reactor that has already finished with `status`.
grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                   const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

std::optional<EngineClock::time_point> SteadyDeadline(const grpc::CallbackServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return std::nullopt;
  const auto remaining = deadline - std::chrono::system_clock::now();
  return EngineClock::now() + std::chrono::duration_cast<EngineClock::duration>(remaining);
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

class WorkerService::GenerateReactor final : public grpc::ServerWriteReactor<pb::GenerateResponse> {
 public:
  GenerateReactor(WorkerService& service, ServedModel& model, std::string id)
      : service_(service), model_(model), id_(std::move(id)) {
    ++service_.active_streams_;
    std::lock_guard<std::mutex> lock(service_.live_mu_);
    service_.live_[id_] = &model_;
  }

  // Submits the request; on failure the stream ends with that status.
  void Start(const grpc::CallbackServerContext& context, const pb::GenerateRequest& request) {
    absl::StatusOr<GenerationRequest> converted = ToEngineRequest(request, model_, id_);
    if (!converted.ok()) {
      FinishWith(ToGrpcStatus(converted.status()));
      return;
    }
    converted->deadline = SteadyDeadline(context);
    const absl::Status submitted = model_.engine->Submit(
        std::move(*converted), [this](GenerationEvent event) { OnEngineEvent(std::move(event)); });
    if (!submitted.ok()) FinishWith(ToGrpcStatus(submitted));
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      // The client is gone: stop generating; finish once the engine is done.
      client_gone_ = true;
      queue_.clear();
      model_.engine->Cancel(id_);
    }
    WriteNextLocked();
  }

  void OnCancel() override { model_.engine->Cancel(id_); }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(service_.live_mu_);
      if (auto it = service_.live_.find(id_); it != service_.live_.end() && it->second == &model_) {
        service_.live_.erase(it);
      }
    }
    --service_.active_streams_;
    delete this;
  }

 private:
  // Engine thread.
  void OnEngineEvent(GenerationEvent event) {
    if (service_.metrics_ != nullptr) service_.metrics_->OnEvent(model_.name, event, metrics_);
    if (const auto* f = std::get_if<FinishedEvent>(&event); f && service_.log_ != nullptr) {
      service_.log_->Info("request finished", {{"request_id", id_},
                                               {"model", model_.name},
                                               {"reason", FinishReasonName(f->reason)},
                                               {"detail", f->detail},
                                               {"prompt_tokens", f->prompt_tokens},
                                               {"generated_tokens", f->generated_tokens},
                                               {"cached_prompt_tokens", f->cached_prompt_tokens},
                                               {"queue_s", f->queue_seconds},
                                               {"ttft_s", f->time_to_first_token_seconds},
                                               {"total_s", f->total_seconds}});
    }
    std::lock_guard<std::mutex> lock(mu_);
    const bool last = std::holds_alternative<FinishedEvent>(event);
    if (last) {
      engine_finished_ = true;
      cancelled_ = std::get<FinishedEvent>(event).reason == FinishReason::kCancelled;
    }
    if (!client_gone_) {
      queue_.push_back(ToResponse(event, id_, model_));
      if (queue_.size() > kMaxQueuedResponses && !last) {
        client_gone_ = true;  // too slow: treat as gone
        queue_.clear();
        model_.engine->Cancel(id_);
      }
    }
    WriteNextLocked();
  }

  void FinishWith(const grpc::Status& status) {
    service_.CountError(model_.name, status);
    Finish(status);
  }

  void WriteNextLocked() {
    if (writing_ || finish_called_) return;
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      StartWrite(&current_);
      return;
    }
    if (engine_finished_) {
      finish_called_ = true;
      if (client_gone_) {
        FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "the stream was cancelled"));
      } else if (cancelled_ && service_.shutting_down_.load()) {
        FinishWith(
            grpc::Status(grpc::StatusCode::UNAVAILABLE,
                         "the worker shut down before this request finished; retry elsewhere"));
      } else {
        Finish(grpc::Status::OK);
      }
    }
  }

  WorkerService& service_;
  ServedModel& model_;
  const std::string id_;
  ServiceMetrics::Stream metrics_;  // engine thread only
  std::mutex mu_;
  std::deque<pb::GenerateResponse> queue_;
  pb::GenerateResponse current_;  // the write in flight
  bool writing_ = false;
  bool engine_finished_ = false;
  bool client_gone_ = false;
  bool cancelled_ = false;
  bool finish_called_ = false;
};

void WorkerService::CancelAllStreams() {
  shutting_down_.store(true);
  std::lock_guard<std::mutex> lock(live_mu_);
  for (const auto& [id, model] : live_) model->engine->Cancel(id);
}

WorkerService::WorkerService(ModelSet& models, const LoadTracker& load, ServiceMetrics* metrics,
                             Logger* log, std::string auth_token)
    : models_(models),
      load_(load),
      metrics_(metrics),
      log_(log),
      auth_(std::move(auth_token)),
      id_salt_(std::random_device()()) {}

void WorkerService::CountError(const std::string& model, const grpc::Status& status) {
  if (metrics_ != nullptr && !status.ok()) {
    metrics_->OnError(model, static_cast<absl::StatusCode>(status.error_code()));
  }
}

std::string WorkerService::NewRequestId() {
  return absl::StrFormat("req-%08x-%d", static_cast<uint32_t>(id_salt_), next_request_++);
}

absl::StatusOr<ServedModel*> WorkerService::FindModel(const std::string& name) const {
  ServedModel* model = models_.Find(name);
  if (model != nullptr) return model;
  std::vector<std::string> names;
  for (const auto& m : models_.models()) names.push_back(m->name);
  return absl::NotFoundError(
      absl::StrCat("unknown model '", name, "'; this worker serves: ", absl::StrJoin(names, ", ")));
}

grpc::ServerWriteReactor<pb::GenerateResponse>* WorkerService::Generate(
    grpc::CallbackServerContext* context, const pb::GenerateRequest* request) {
  absl::Status refused = Admit(*context);
  absl::StatusOr<ServedModel*> model = absl::NotFoundError("");
  if (refused.ok() && state() == pb::WORKER_STATE_DRAINING) {
    refused = absl::UnavailableError("the worker is draining; retry on another worker");
  } else if (refused.ok()) {
    model = FindModel(request->model());
    refused = model.status();
  }
  if (!refused.ok()) {
    // The model the call named, where that is known (not while loading, not when unknown).
    ServedModel* named = model.ok() ? *model : nullptr;
    if (state() == pb::WORKER_STATE_DRAINING) named = models_.Find(request->model());
    CountError(named != nullptr ? named->name : "", ToGrpcStatus(refused));
    // A stream that ends at once with the error.
    class Refusal : public grpc::ServerWriteReactor<pb::GenerateResponse> {
     public:
      explicit Refusal(grpc::Status status) { Finish(status); }
      void OnDone() override { delete this; }
    };
    return new Refusal(ToGrpcStatus(refused));
  }
  std::string id = request->request_id().empty() ? NewRequestId() : request->request_id();
  auto* reactor = new GenerateReactor(*this, **model, std::move(id));
  reactor->Start(*context, *request);
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::Abort(grpc::CallbackServerContext* context,
                                               const pb::AbortRequest* request,
                                               pb::AbortResponse* response) {
  if (absl::Status auth = Admit(*context); !auth.ok()) {
    return Finished(context, ToGrpcStatus(auth));
  }
  bool found = false;
  for (const auto& model : models_.models()) {
    found = model->engine->Cancel(request->request_id()) || found;
  }
  response->set_found(found);
  return Finished(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* WorkerService::Tokenize(grpc::CallbackServerContext* context,
                                                  const pb::TokenizeRequest* request,
                                                  pb::TokenizeResponse* response) {
  if (absl::Status auth = Admit(*context); !auth.ok()) {
    return Finished(context, ToGrpcStatus(auth));
  }
  absl::StatusOr<ServedModel*> model = FindModel(request->model());
  if (!model.ok()) return Finished(context, ToGrpcStatus(model.status()));
  absl::StatusOr<std::vector<int32_t>> ids = PromptTokens(*request, **model);
  if (!ids.ok()) return Finished(context, ToGrpcStatus(ids.status()));
  const Tokenizer& tokenizer = (*model)->runner->tokenizer();
  for (int32_t id : *ids) {
    response->add_ids(id);
    response->add_pieces(ToValidUtf8(tokenizer.TokenText(id)));
  }
  return Finished(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* WorkerService::Detokenize(grpc::CallbackServerContext* context,
                                                    const pb::DetokenizeRequest* request,
                                                    pb::DetokenizeResponse* response) {
  if (absl::Status auth = Admit(*context); !auth.ok()) {
    return Finished(context, ToGrpcStatus(auth));
  }
  absl::StatusOr<ServedModel*> model = FindModel(request->model());
  if (!model.ok()) return Finished(context, ToGrpcStatus(model.status()));
  const Tokenizer& tokenizer = (*model)->runner->tokenizer();
  for (int32_t id : request->ids()) {
    if (id < 0 || id >= tokenizer.vocab_size()) {
      return Finished(context,
                      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   absl::StrCat("token id ", id, " is outside the vocabulary [0, ",
                                                tokenizer.vocab_size(), ")")));
    }
  }
  const std::vector<int32_t> ids(request->ids().begin(), request->ids().end());
  const bool skip_special = !request->has_skip_special_tokens() || request->skip_special_tokens();
  response->set_text(ToValidUtf8(tokenizer.Decode(ids, /*render_special=*/!skip_special)));
  return Finished(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* WorkerService::ListModels(grpc::CallbackServerContext* context,
                                                    const pb::ListModelsRequest*,
                                                    pb::ListModelsResponse* response) {
  if (absl::Status auth = Admit(*context); !auth.ok()) {
    return Finished(context, ToGrpcStatus(auth));
  }
  for (const auto& served : models_.models()) {
    const ModelInfo& info = served->runner->info();
    pb::ModelInfo* out = response->add_models();
    out->set_name(served->name);
    out->set_architecture(info.architecture);
    out->set_quantization(info.quantization);
    out->set_context_length(info.context_length);
    out->set_vocab_size(info.vocab_size);
    out->set_parameters(info.n_params);
    pb::ModelCapabilities* caps = out->mutable_capabilities();
    caps->set_chat_template(served->chat_template != nullptr);
    caps->set_max_logprobs(kMaxLogprobs);
    caps->set_max_stop_strings(kMaxStopStrings);
    const Tokenizer& tokenizer = served->runner->tokenizer();
    for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
      if (tokenizer.IsEndOfGeneration(id)) caps->add_end_of_generation_token_ids(id);
    }
  }
  return Finished(context, grpc::Status::OK);
}

absl::Status WorkerService::Admit(const grpc::CallbackServerContext& context) const {
  if (absl::Status auth = auth_.Check(context); !auth.ok()) return auth;
  if (state() == pb::WORKER_STATE_STARTING) {
    return absl::UnavailableError("the worker is still loading its models");
  }
  return absl::OkStatus();
}

void WorkerService::FillLoad(pb::GetLoadResponse* response) const {
  response->set_state(state());
  if (response->state() == pb::WORKER_STATE_STARTING) return;  // models still loading
  for (const LoadTracker::ModelLoad& load : load_.Read()) {
    const EngineStats& stats = load.stats;
    pb::LoadReport* report = response->add_models();
    report->set_model(load.model);
    report->set_running(stats.running);
    report->set_waiting(stats.waiting);
    report->set_kv_blocks_used(stats.kv_blocks_used);
    report->set_kv_blocks_total(stats.kv_blocks_total);
    report->set_prefix_cache_hit_tokens(stats.prefix_hit_tokens);
    report->set_prefix_cache_query_tokens(stats.prefix_query_tokens);
    report->set_generated_tokens(stats.generated_tokens);
  }
}

grpc::ServerUnaryReactor* WorkerService::GetLoad(grpc::CallbackServerContext* context,
                                                 const pb::GetLoadRequest*,
                                                 pb::GetLoadResponse* response) {
  if (absl::Status auth = auth_.Check(*context); !auth.ok()) {
    return Finished(context, ToGrpcStatus(auth));
  }
  FillLoad(response);
  return Finished(context, grpc::Status::OK);
}

}  // namespace llmw
