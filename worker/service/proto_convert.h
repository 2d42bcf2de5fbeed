// Between the wire messages of llmworker.v1 and the engine's request and
// event types.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "llmworker/v1/worker.pb.h"
#include "worker/engine/request.h"
#include "worker/service/served_model.h"

namespace llmw {

// Request ids are at most 128 bytes of printable ASCII (worker.proto), so
// that they can go into logs and metadata as they are; INVALID_ARGUMENT naming
// `field` otherwise.
absl::Status CheckRequestId(std::string_view id, const char* field);

// The prompt tokens of a Generate or Tokenize input: text (BOS added as the
// model asks, special-token text parsed unless the request asks otherwise),
// chat messages through the model's template, or token ids (each in the
// vocabulary). Errors name the field.
absl::StatusOr<std::vector<int32_t>> PromptTokens(const llmworker::v1::GenerateRequest& request,
                                                  const ServedModel& model);
absl::StatusOr<std::vector<int32_t>> PromptTokens(const llmworker::v1::TokenizeRequest& request,
                                                  const ServedModel& model);

// The engine request for `request` (sampling and stopping fields, defaults
// where unset); `id` is the request id to use. Range checks of the sampling
// and stopping fields are the engine's; their messages name the fields.
absl::StatusOr<GenerationRequest> ToEngineRequest(const llmworker::v1::GenerateRequest& request,
                                                  const ServedModel& model, std::string id);

// The wire form of one engine event.
llmworker::v1::GenerateResponse ToResponse(const GenerationEvent& event, const std::string& id,
                                           const ServedModel& model);

}  // namespace llmw
