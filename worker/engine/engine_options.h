// Limits and sizes of one engine (one model).
#pragma once

#include <cstdint>

namespace llmw {

// The KV cache's size and block size belong to the model's runner (RunnerOptions).
struct EngineOptions {
  int64_t max_batch_tokens = 512;  // tokens per forward pass (decode tokens + prefill chunks)
  int32_t max_running = 64;        // sequences in the batch at once
  int32_t max_waiting = 256;       // queued requests beyond which Submit answers "overloaded"
  bool enable_prefix_caching = true;
};

}  // namespace llmw
