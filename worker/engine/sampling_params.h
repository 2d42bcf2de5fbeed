// What a request asks of generation: how to pick each token, and when to stop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace llmw {

struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy (top_k, top_p, min_p and typical_p are then ignored)
  int32_t top_k = 0;         // keep the k most likely tokens; 0 = all
  float top_p = 1.0f;        // nucleus: smallest set with this probability mass, in (0, 1]
  float min_p = 0.0f;        // drop tokens below min_p × p(most likely), in [0, 1]
  float typical_p = 1.0f;    // locally typical sampling mass, in (0, 1]; 1 = off
  // Penalties (OpenAI / vLLM semantics): repetition divides positive logits and
  // multiplies negative ones of every token seen in the prompt or the output;
  // presence subtracts once and frequency per occurrence, for output tokens.
  float repetition_penalty = 1.0f;                    // > 0; 1 = off
  float presence_penalty = 0.0f;                      // in [-2, 2]
  float frequency_penalty = 0.0f;                     // in [-2, 2]
  std::vector<std::pair<int32_t, float>> logit_bias;  // token id → added to its logit
  std::optional<uint64_t> seed;                       // unset: the engine picks one
};

struct StopParams {
  int32_t max_tokens = 256;  // generated tokens at most (>= 1)
  int32_t min_tokens = 0;    // end-of-generation and stop tokens are suppressed before this
  bool ignore_eos = false;   // keep going past end-of-generation tokens
  std::vector<int32_t> stop_token_ids;    // finish (reason stop) when one is sampled
  std::vector<std::string> stop_strings;  // at most kMaxStopStrings; not emitted
};

inline constexpr int kMaxStopStrings = 8;
inline constexpr int kMaxLogprobs = 20;

}  // namespace llmw
