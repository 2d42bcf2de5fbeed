// Wire messages ↔ engine types.
#include "worker/service/proto_convert.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/status_macros.h"
#include "models/tokenizer/chat_prompt.h"
#include "models/tokenizer/stream_decoder.h"

namespace llmw {
namespace {

namespace pb = ::llmworker::v1;

constexpr int kMaxRequestIdBytes = 128;

template <typename Request>
absl::StatusOr<std::vector<int32_t>> TextOrChatTokens(const Request& request,
                                                      const ServedModel& model, bool add_special) {
  const Tokenizer& tokenizer = model.runner->tokenizer();
  if (request.has_chat()) {
    if (request.chat().messages().empty()) {
      return absl::InvalidArgumentError("chat.messages is empty: send at least one message");
    }
    if (model.chat_template == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model '", model.name, "' cannot take chat messages: ", model.chat_template_error));
    }
    std::vector<ChatMessage> messages;
    for (const pb::ChatMessage& m : request.chat().messages()) {
      messages.push_back({m.role(), m.content()});
    }
    ASSIGN_OR_RETURN(const std::string prompt,
                     model.chat_template->Render(messages, /*add_generation_prompt=*/true));
    return EncodeChatPrompt(tokenizer, prompt, add_special);
  }
  return tokenizer.Encode(request.prompt(), add_special, !request.special_tokens_as_text());
}

pb::FinishReason ToProto(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return pb::FINISH_REASON_STOP;
    case FinishReason::kLength:
      return pb::FINISH_REASON_LENGTH;
    case FinishReason::kCancelled:
      return pb::FINISH_REASON_CANCELLED;
    case FinishReason::kError:
      return pb::FINISH_REASON_ERROR;
  }
  return pb::FINISH_REASON_UNSPECIFIED;
}

void SetLogprob(const TokenLogprob& from, const Tokenizer& tokenizer, pb::TokenLogprob* to) {
  to->set_id(from.id);
  to->set_text(ToValidUtf8(tokenizer.TokenText(from.id)));
  to->set_logprob(from.logprob);
}

absl::StatusOr<std::shared_ptr<const structured::Grammar>> FormatGrammar(
    const pb::ResponseFormat& format, const ServedModel& model) {
  structured::ResponseFormat f;
  switch (format.format_case()) {
    case pb::ResponseFormat::kJsonObject:
      f.kind = structured::ResponseFormat::Kind::kJsonObject;
      break;
    case pb::ResponseFormat::kJsonSchema:
      f.kind = structured::ResponseFormat::Kind::kJsonSchema;
      f.text = format.json_schema();
      break;
    case pb::ResponseFormat::kGrammar:
      f.kind = structured::ResponseFormat::Kind::kGrammar;
      f.text = format.grammar();
      break;
    case pb::ResponseFormat::FORMAT_NOT_SET:
      return absl::InvalidArgumentError(
          "response_format is set but empty: set json_object, json_schema or grammar");
  }
  absl::StatusOr<std::shared_ptr<const structured::Grammar>> grammar =
      model.grammars != nullptr ? model.grammars->Get(f) : structured::CompileResponseFormat(f);
  if (!grammar.ok()) {
    return absl::Status(grammar.status().code(),
                        absl::StrCat("response_format.", grammar.status().message()));
  }
  return grammar;
}

}  // namespace

absl::Status CheckRequestId(std::string_view id, const char* field) {
  if (id.size() > kMaxRequestIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be at most ", kMaxRequestIdBytes, " bytes, got ", id.size()));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s must be printable ASCII; byte %d is 0x%02x", field, i, c));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> PromptTokens(const pb::GenerateRequest& request,
                                                  const ServedModel& model) {
  switch (request.input_case()) {
    case pb::GenerateRequest::kTokenIds: {
      const auto& ids = request.token_ids().ids();
      if (ids.empty()) return absl::InvalidArgumentError("token_ids.ids is empty");
      const int32_t vocab = model.runner->tokenizer().vocab_size();
      for (int i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= vocab) {
          return absl::InvalidArgumentError(absl::StrCat(
              "token_ids.ids[", i, "] = ", ids[i], " is outside the vocabulary [0, ", vocab, ")"));
        }
      }
      return std::vector<int32_t>(ids.begin(), ids.end());
    }
    case pb::GenerateRequest::kPrompt:
      if (request.prompt().empty()) return absl::InvalidArgumentError("prompt is empty");
      return TextOrChatTokens(request, model, /*add_special=*/true);
    case pb::GenerateRequest::kChat:
      return TextOrChatTokens(request, model, /*add_special=*/true);
    case pb::GenerateRequest::INPUT_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("the request has no input: set prompt, chat or token_ids");
}

absl::StatusOr<std::vector<int32_t>> PromptTokens(const pb::TokenizeRequest& request,
                                                  const ServedModel& model) {
  if (request.input_case() == pb::TokenizeRequest::INPUT_NOT_SET) {
    return absl::InvalidArgumentError("the request has no input: set prompt or chat");
  }
  return TextOrChatTokens(request, model,
                          !request.has_add_special_tokens() || request.add_special_tokens());
}

absl::StatusOr<GenerationRequest> ToEngineRequest(const pb::GenerateRequest& request,
                                                  const ServedModel& model, std::string id) {
  GenerationRequest r;
  r.id = std::move(id);
  ASSIGN_OR_RETURN(r.prompt, PromptTokens(request, model));
  SamplingParams& s = r.sampling;
  const GenerationDefaults& d = model.runner->info().generation_defaults;
  s.temperature =
      request.has_temperature() ? request.temperature() : d.temperature.value_or(s.temperature);
  s.top_k = request.has_top_k() ? request.top_k() : d.top_k.value_or(s.top_k);
  s.top_p = request.has_top_p() ? request.top_p() : d.top_p.value_or(s.top_p);
  s.min_p = request.has_min_p() ? request.min_p() : d.min_p.value_or(s.min_p);
  s.typical_p = request.has_typical_p() ? request.typical_p() : d.typical_p.value_or(s.typical_p);
  s.repetition_penalty = request.has_repetition_penalty()
                             ? request.repetition_penalty()
                             : d.repetition_penalty.value_or(s.repetition_penalty);
  if (request.has_presence_penalty()) s.presence_penalty = request.presence_penalty();
  if (request.has_frequency_penalty()) s.frequency_penalty = request.frequency_penalty();
  for (const auto& [token, bias] : request.logit_bias()) s.logit_bias.emplace_back(token, bias);
  if (request.has_seed()) s.seed = request.seed();
  StopParams& stop = r.stop;
  if (request.has_max_tokens()) stop.max_tokens = request.max_tokens();
  if (request.has_min_tokens()) stop.min_tokens = request.min_tokens();
  stop.ignore_eos = request.ignore_eos();
  stop.stop_token_ids.assign(request.stop_token_ids().begin(), request.stop_token_ids().end());
  stop.stop_strings.assign(request.stop().begin(), request.stop().end());
  if (request.has_logprobs()) r.logprobs = request.logprobs();
  if (request.has_response_format()) {
    ASSIGN_OR_RETURN(r.grammar, FormatGrammar(request.response_format(), model));
  }
  return r;
}

pb::GenerateResponse ToResponse(const GenerationEvent& event, const std::string& id,
                                const ServedModel& model) {
  pb::GenerateResponse response;
  if (const auto* started = std::get_if<StartedEvent>(&event)) {
    pb::Started* out = response.mutable_started();
    out->set_request_id(id);
    out->set_model(model.name);
    out->set_prompt_tokens(started->prompt_tokens);
    out->set_cached_prompt_tokens(started->cached_prompt_tokens);
  } else if (const auto* token = std::get_if<TokenEvent>(&event)) {
    pb::Token* out = response.mutable_token();
    out->set_id(token->id);
    out->set_text(token->text);
    if (token->logprobs) {
      const Tokenizer& tokenizer = model.runner->tokenizer();
      SetLogprob(token->logprobs->chosen, tokenizer, out->mutable_logprobs()->mutable_chosen());
      for (const TokenLogprob& alt : token->logprobs->top) {
        SetLogprob(alt, tokenizer, out->mutable_logprobs()->add_top());
      }
    }
  } else if (const auto* finished = std::get_if<FinishedEvent>(&event)) {
    pb::Finished* out = response.mutable_finished();
    out->set_reason(ToProto(finished->reason));
    out->set_detail(finished->detail);
    out->set_text(finished->text);
    out->mutable_usage()->set_prompt_tokens(finished->prompt_tokens);
    out->mutable_usage()->set_completion_tokens(finished->generated_tokens);
    out->mutable_usage()->set_cached_prompt_tokens(finished->cached_prompt_tokens);
    out->mutable_timings()->set_queue_seconds(finished->queue_seconds);
    out->mutable_timings()->set_time_to_first_token_seconds(finished->time_to_first_token_seconds);
    out->mutable_timings()->set_total_seconds(finished->total_seconds);
  }
  return response;
}

}  // namespace llmw
