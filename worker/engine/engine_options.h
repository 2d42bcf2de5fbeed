// Limits and sizes of one engine (one model).
#pragma once

#include <cstdint>

namespace llmw {

struct EngineOptions {
  int64_t max_batch_tokens = 512;  // tokens per forward pass (decode tokens + prefill chunks)
  int32_t max_running = 64;        // sequences in the batch at once
  int32_t max_waiting = 256;       // queued requests beyond which Submit answers "overloaded"
  int64_t block_size = 16;         // tokens per KV-cache block
  int64_t kv_cache_bytes = 0;      // KV-cache size; 0 = derived from available memory
  bool enable_prefix_caching = true;
};

}  // namespace llmw
