// The engine's state for one request: its tokens so far, how many of them are
// in the KV cache, its blocks, and its per-request sampling and stopping state.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/kv_cache/kv_cache.h"
#include "models/tokenizer/stream_decoder.h"
#include "worker/engine/request.h"
#include "worker/engine/sampler.h"
#include "worker/engine/stop_matcher.h"
#include "worker/structured/matcher.h"
#include "worker/structured/token_trie.h"

namespace llmw {

struct Sequence {
  GenerationRequest request;
  EventCallback on_event;

  std::vector<int32_t> tokens;  // the prompt, then every generated token
  int64_t prompt_len = 0;
  int64_t num_computed = 0;  // leading tokens whose keys and values are in the cache
  BlockTable blocks;

  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<StreamDecoder> decoder;
  std::unique_ptr<StopStringMatcher> stop_matcher;
  // With a response format: the output so far through its grammar, the masks of recent states,
  // and why the next token cannot be sampled (empty while it can).
  std::unique_ptr<structured::GrammarMatcher> format;
  std::unique_ptr<structured::MaskCache> format_masks;
  std::string format_error;

  bool started = false;           // the StartedEvent was sent
  bool cancel_requested = false;  // finish as cancelled at the next step
  int64_t cached_prompt_tokens = 0;
  int32_t preemptions = 0;
  EngineClock::time_point submitted;
  EngineClock::time_point first_scheduled;
  EngineClock::time_point first_token;

  int64_t generated() const { return static_cast<int64_t>(tokens.size()) - prompt_len; }
  // Tokens still to feed through the model before the next sample.
  int64_t pending() const { return static_cast<int64_t>(tokens.size()) - num_computed; }
};

}  // namespace llmw
