// The gRPC Worker service (llmworker.v1.Worker) over the served models'
// engines, on gRPC's callback API: Generate streams each request's events as
// the engine produces them, one write in flight at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "llmworker/v1/worker.grpc.pb.h"
#include "worker/service/load_tracker.h"
#include "worker/service/logger.h"
#include "worker/service/security.h"
#include "worker/service/served_model.h"
#include "worker/service/service_metrics.h"

namespace llmw {

// Every method takes its request as raw bytes and parses it itself, so that a
// request that does not parse gets INVALID_ARGUMENT naming the field (gRPC's
// own parsing would answer UNIMPLEMENTED with no message).
using RawWorkerService = llmworker::v1::Worker::WithRawCallbackMethod_Generate<
    llmworker::v1::Worker::WithRawCallbackMethod_Abort<
        llmworker::v1::Worker::WithRawCallbackMethod_Tokenize<
            llmworker::v1::Worker::WithRawCallbackMethod_Detokenize<
                llmworker::v1::Worker::WithRawCallbackMethod_ListModels<
                    llmworker::v1::Worker::WithRawCallbackMethod_GetLoad<
                        llmworker::v1::Worker::Service>>>>>>;

class WorkerService final : public RawWorkerService {
 public:
  // `load`, `metrics` and `log` must outlive the service; `metrics` and `log`
  // may be null. With an `auth_token`, every call must carry
  // "authorization: Bearer <token>".
  WorkerService(ModelSet& models, const LoadTracker& load, ServiceMetrics* metrics, Logger* log,
                std::string auth_token = "");

  // STARTING (models loading) refuses every call but GetLoad with UNAVAILABLE;
  // DRAINING refuses new Generate calls with UNAVAILABLE; live ones go on.
  void set_state(llmworker::v1::WorkerState state) { state_.store(state); }
  llmworker::v1::WorkerState state() const { return state_.load(); }
  // Live Generate streams.
  int64_t active_streams() const { return active_streams_.load(); }
  // Cancels every live stream; each ends with its Finished event and then
  // status UNAVAILABLE (used when the drain timeout runs out).
  void CancelAllStreams();

  grpc::ServerWriteReactor<grpc::ByteBuffer>* Generate(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Detokenize(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetLoad(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;

  // The load report of every model (what GetLoad and heartbeats carry).
  void FillLoad(llmworker::v1::GetLoadResponse* response) const;

 private:
  class GenerateReactor;

  // Parses the request, runs `handler` on it and serializes its response.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Unary(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer& request_bytes,
      grpc::ByteBuffer* response_bytes,
      absl::Status (WorkerService::*handler)(const grpc::CallbackServerContext&, const Request&,
                                             Response*));
  absl::Status DoAbort(const grpc::CallbackServerContext& context,
                       const llmworker::v1::AbortRequest& request,
                       llmworker::v1::AbortResponse* response);
  absl::Status DoTokenize(const grpc::CallbackServerContext& context,
                          const llmworker::v1::TokenizeRequest& request,
                          llmworker::v1::TokenizeResponse* response);
  absl::Status DoDetokenize(const grpc::CallbackServerContext& context,
                            const llmworker::v1::DetokenizeRequest& request,
                            llmworker::v1::DetokenizeResponse* response);
  absl::Status DoListModels(const grpc::CallbackServerContext& context,
                            const llmworker::v1::ListModelsRequest& request,
                            llmworker::v1::ListModelsResponse* response);
  absl::Status DoGetLoad(const grpc::CallbackServerContext& context,
                         const llmworker::v1::GetLoadRequest& request,
                         llmworker::v1::GetLoadResponse* response);
  // Checks a Generate call up to the point of submitting it: the caller, the
  // state, the request's bytes and id, and the model; reserves the id.
  // `named` is set to the served model the request names as soon as it parses (for the error
  // count of a refusal), else left alone.
  absl::StatusOr<ServedModel*> AdmitGenerate(const grpc::CallbackServerContext& context,
                                             const grpc::ByteBuffer& request_bytes,
                                             llmworker::v1::GenerateRequest* request,
                                             std::string* id, const ServedModel** named);

  // The caller's token, then whether the models are loaded: UNAUTHENTICATED or
  // UNAVAILABLE (while STARTING the model set is still being filled).
  absl::Status Admit(const grpc::CallbackServerContext& context) const;
  // The model `name` names, or NOT_FOUND listing the served ones.
  absl::StatusOr<ServedModel*> FindModel(const std::string& name) const;
  std::string NewRequestId();
  // Counts a Generate call that ends with `status` (when not OK).
  void CountError(const std::string& model, const grpc::Status& status);
  // Claims `id` for a live stream of `model`: ALREADY_EXISTS when a live
  // stream on this worker has it.
  absl::Status ClaimId(const std::string& id, ServedModel* model);
  void ReleaseId(const std::string& id);

  ModelSet& models_;
  const LoadTracker& load_;
  ServiceMetrics* metrics_;
  Logger* log_;
  const TokenAuthenticator auth_;
  std::atomic<llmworker::v1::WorkerState> state_{llmworker::v1::WORKER_STATE_STARTING};
  std::atomic<uint64_t> next_request_{1};
  std::atomic<int64_t> active_streams_{0};
  std::atomic<bool> shutting_down_{false};
  std::mutex live_mu_;
  std::map<std::string, ServedModel*> live_;  // request id → model, of live streams
  const uint64_t id_salt_;
};

// absl status → gRPC status (the codes share their numbering).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace llmw
