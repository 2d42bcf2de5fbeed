// A generation request as the engine takes it, and the events it streams back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "worker/engine/logprobs.h"
#include "worker/engine/sampling_params.h"
#include "worker/structured/grammar.h"

namespace llmw {

using EngineClock = std::chrono::steady_clock;

struct GenerationRequest {
  std::string id;               // unique among live requests
  std::vector<int32_t> prompt;  // token ids, at least one
  SamplingParams sampling;
  StopParams stop;
  std::optional<int32_t> logprobs;  // unset: none; n: the chosen token's and the top n (≤ 20)
  std::optional<EngineClock::time_point> deadline;
  // The output must be a string of this grammar (a response format's); null: free text.
  std::shared_ptr<const structured::Grammar> grammar;
};

enum class FinishReason {
  kStop,       // end-of-generation token, stop token, stop string, or the format complete
  kLength,     // max_tokens or the context length reached
  kCancelled,  // Cancel() or the deadline passed
  kError,
};

const char* FinishReasonName(FinishReason reason);

struct StartedEvent {
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // served from the prefix cache
};

struct TokenEvent {
  int32_t id = 0;
  std::string text;  // new text; may be empty while a stop string might still match
  std::optional<TokenLogprobs> logprobs;
};

struct FinishedEvent {
  FinishReason reason = FinishReason::kStop;
  // why: "eos", "stop string", "format complete", "max_tokens", "deadline exceeded", an error
  std::string detail;
  // Text released at the end: held back while it could still have become a
  // stop string or was an incomplete UTF-8 character. Usually empty.
  std::string text;
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  int64_t cached_prompt_tokens = 0;
  double queue_seconds = 0;                // submit → first scheduled
  double time_to_first_token_seconds = 0;  // submit → first token (0 when none)
  double total_seconds = 0;                // submit → finish
  int32_t preemptions = 0;
};

using GenerationEvent = std::variant<StartedEvent, TokenEvent, FinishedEvent>;

// Called on the engine thread, in order, for each event of one request; the
// FinishedEvent is always last. It must return quickly (queue and return).
using EventCallback = std::function<void(GenerationEvent)>;

}  // namespace llmw
