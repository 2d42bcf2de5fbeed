// Worker RPCs. Requests arrive as bytes and are parsed here (see
// request_parsing.h). A Generate call is a reactor that owns a queue of
// serialized responses: the engine thread appends events, gRPC's OnWriteDone
// drains them one write at a time. A client that stops reading is cut off
// once the queue holds kMaxQueuedResponses, so that it holds neither the
// engine nor unbounded memory.
#include "worker/service/worker_service.h"

#include <chrono>
#include <deque>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kernels/status_macros.h"
#include "models/tokenizer/stream_decoder.h"
#include "worker/service/proto_convert.h"
#include "worker/service/request_parsing.h"

namespace llmw {
namespace {

namespace pb = ::llmworker::v1;

// Responses a stream may have queued beyond what gRPC's flow-control window
// holds, for a client that is not reading.
constexpr size_t kMaxQueuedResponses = 1024;

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

absl::Status Parse(const grpc::ByteBuffer& bytes, google::protobuf::Message* message) {
  grpc::Slice slice;
  if (!bytes.DumpToSingleSlice(&slice).ok()) {
    return absl::InvalidArgumentError("the request's bytes cannot be read");
  }
  return ParseRequest(std::string_view(reinterpret_cast<const char*>(slice.begin()), slice.size()),
                      message);
}

grpc::ByteBuffer Serialize(const google::protobuf::Message& message) {
  grpc::Slice slice(message.SerializeAsString());
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

class WorkerService::GenerateReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // `id` has been claimed (ClaimId) for this stream, which releases it.
  GenerateReactor(WorkerService& service, grpc::CallbackServerContext& context, ServedModel& model,
                  std::string id)
      : service_(service), context_(context), model_(model), id_(std::move(id)) {
    ++service_.active_streams_;
  }

  // Submits the request; on failure the stream ends with that status.
  void Start(const pb::GenerateRequest& request) {
    absl::StatusOr<GenerationRequest> converted = ToEngineRequest(request, model_, id_);
    if (!converted.ok()) {
      FinishWith(ToGrpcStatus(converted.status()));
      return;
    }
    converted->deadline = SteadyDeadline(context_);
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
    service_.ReleaseId(id_);
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
    bool stalled = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const bool last = std::holds_alternative<FinishedEvent>(event);
      if (last) {
        engine_finished_ = true;
        cancelled_ = std::get<FinishedEvent>(event).reason == FinishReason::kCancelled;
      }
      if (!client_gone_) {
        queue_.push_back(Serialize(ToResponse(event, id_, model_)));
        if (queue_.size() > kMaxQueuedResponses && !last) {
          stalled = client_gone_ = true;  // not reading: treat as gone
          queue_.clear();
        }
      }
      WriteNextLocked();
    }
    if (stalled) {
      model_.engine->Cancel(id_);
      // Ends the call now: the write the client never accepted completes (not ok).
      context_.TryCancel();
    }
  }

  // Ends the stream with `status`, counting it when it is an error.
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
  grpc::CallbackServerContext& context_;
  ServedModel& model_;
  const std::string id_;
  ServiceMetrics::Stream metrics_;  // engine thread only
  std::mutex mu_;
  std::deque<grpc::ByteBuffer> queue_;
  grpc::ByteBuffer current_;  // the write in flight
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

absl::Status WorkerService::ClaimId(const std::string& id, ServedModel* model) {
  std::lock_guard<std::mutex> lock(live_mu_);
  if (!live_.emplace(id, model).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("request_id '", id, "' is the id of a request still in flight here"));
  }
  return absl::OkStatus();
}

void WorkerService::ReleaseId(const std::string& id) {
  std::lock_guard<std::mutex> lock(live_mu_);
  live_.erase(id);
}

absl::StatusOr<ServedModel*> WorkerService::AdmitGenerate(
    const grpc::CallbackServerContext& context, const grpc::ByteBuffer& request_bytes,
    pb::GenerateRequest* request, std::string* id, const ServedModel** named) {
  RETURN_IF_ERROR(Admit(context));
  RETURN_IF_ERROR(Parse(request_bytes, request));
  *named = models_.Find(request->model());
  if (state() == pb::WORKER_STATE_DRAINING) {
    return absl::UnavailableError("the worker is draining; retry on another worker");
  }
  RETURN_IF_ERROR(CheckRequestId(request->request_id(), "request_id"));
  ASSIGN_OR_RETURN(ServedModel * model, FindModel(request->model()));
  *id = request->request_id().empty() ? NewRequestId() : request->request_id();
  RETURN_IF_ERROR(ClaimId(*id, model));
  return model;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* WorkerService::Generate(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes) {
  pb::GenerateRequest request;
  std::string id;
  const ServedModel* named = nullptr;  // the model the call names, once known
  absl::StatusOr<ServedModel*> model =
      AdmitGenerate(*context, *request_bytes, &request, &id, &named);
  if (!model.ok()) {
    CountError(named != nullptr ? named->name : "", ToGrpcStatus(model.status()));
    // A stream that ends at once with the error.
    class Refusal : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
     public:
      explicit Refusal(grpc::Status status) { Finish(status); }
      void OnDone() override { delete this; }
    };
    return new Refusal(ToGrpcStatus(model.status()));
  }
  auto* reactor = new GenerateReactor(*this, *context, **model, std::move(id));
  reactor->Start(request);
  return reactor;
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* WorkerService::Unary(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer& request_bytes,
    grpc::ByteBuffer* response_bytes,
    absl::Status (WorkerService::*handler)(const grpc::CallbackServerContext&, const Request&,
                                           Response*)) {
  Request request;
  Response response;
  absl::Status status = auth_.Check(*context);
  if (status.ok()) status = Parse(request_bytes, &request);
  if (status.ok()) status = (this->*handler)(*context, request, &response);
  if (status.ok()) *response_bytes = Serialize(response);
  return Finished(context, ToGrpcStatus(status));
}

grpc::ServerUnaryReactor* WorkerService::Abort(grpc::CallbackServerContext* context,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) {
  return Unary(context, *request, response, &WorkerService::DoAbort);
}

grpc::ServerUnaryReactor* WorkerService::Tokenize(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Unary(context, *request, response, &WorkerService::DoTokenize);
}

grpc::ServerUnaryReactor* WorkerService::Detokenize(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return Unary(context, *request, response, &WorkerService::DoDetokenize);
}

grpc::ServerUnaryReactor* WorkerService::ListModels(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return Unary(context, *request, response, &WorkerService::DoListModels);
}

grpc::ServerUnaryReactor* WorkerService::GetLoad(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) {
  return Unary(context, *request, response, &WorkerService::DoGetLoad);
}

absl::Status WorkerService::DoAbort(const grpc::CallbackServerContext& context,
                                    const pb::AbortRequest& request, pb::AbortResponse* response) {
  RETURN_IF_ERROR(Admit(context));
  RETURN_IF_ERROR(CheckRequestId(request.request_id(), "request_id"));
  bool found = false;
  for (const auto& model : models_.models()) {
    found = model->engine->Cancel(request.request_id()) || found;
  }
  response->set_found(found);
  return absl::OkStatus();
}

absl::Status WorkerService::DoTokenize(const grpc::CallbackServerContext& context,
                                       const pb::TokenizeRequest& request,
                                       pb::TokenizeResponse* response) {
  RETURN_IF_ERROR(Admit(context));
  ASSIGN_OR_RETURN(ServedModel * model, FindModel(request.model()));
  ASSIGN_OR_RETURN(const std::vector<int32_t> ids, PromptTokens(request, *model));
  const Tokenizer& tokenizer = model->runner->tokenizer();
  for (int32_t id : ids) {
    response->add_ids(id);
    response->add_pieces(ToValidUtf8(tokenizer.TokenText(id)));
  }
  return absl::OkStatus();
}

absl::Status WorkerService::DoDetokenize(const grpc::CallbackServerContext& context,
                                         const pb::DetokenizeRequest& request,
                                         pb::DetokenizeResponse* response) {
  RETURN_IF_ERROR(Admit(context));
  ASSIGN_OR_RETURN(ServedModel * model, FindModel(request.model()));
  const Tokenizer& tokenizer = model->runner->tokenizer();
  for (int i = 0; i < request.ids_size(); ++i) {
    const int32_t id = request.ids(i);
    if (id < 0 || id >= tokenizer.vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ids[", i, "] = ", id, " is outside the vocabulary [0, ", tokenizer.vocab_size(), ")"));
    }
  }
  const std::vector<int32_t> ids(request.ids().begin(), request.ids().end());
  const bool skip_special = !request.has_skip_special_tokens() || request.skip_special_tokens();
  response->set_text(ToValidUtf8(tokenizer.Decode(ids, /*render_special=*/!skip_special)));
  return absl::OkStatus();
}

absl::Status WorkerService::DoListModels(const grpc::CallbackServerContext& context,
                                         const pb::ListModelsRequest&,
                                         pb::ListModelsResponse* response) {
  RETURN_IF_ERROR(Admit(context));
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
  return absl::OkStatus();
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
    report->set_device(load.device);
    report->set_weight_bytes(load.memory.weights);
    report->set_workspace_bytes(load.memory.workspace);
    report->set_kv_cache_bytes(load.memory.kv_cache);
  }
}

absl::Status WorkerService::DoGetLoad(const grpc::CallbackServerContext&, const pb::GetLoadRequest&,
                                      pb::GetLoadResponse* response) {
  FillLoad(response);  // answered while STARTING too
  return absl::OkStatus();
}

}  // namespace llmw
