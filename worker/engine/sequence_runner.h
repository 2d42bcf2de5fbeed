// Runs one sequence through a model step by step: a prefill of the prompt (in chunks of the
// runner's max batch), then one token per decode step, on blocks of the runner's KV cache that
// it holds until destroyed. The engine batches many sequences; this is the single-stream path
// used by tests and benchmarks.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "models/kv_cache/kv_cache.h"
#include "models/model_runner.h"

namespace llmw {

class SequenceRunner {
 public:
  // Sized for `max_tokens` positions (prompt plus generated); refuses more
  // than the model's context length. `runner` must outlive it.
  static absl::StatusOr<std::unique_ptr<SequenceRunner>> Create(ModelRunner& runner,
                                                                int64_t max_tokens);
  ~SequenceRunner();

  // Appends `tokens` (at least one) and returns the logits after the last of
  // them, or of every one of them when `all_logits` (rows of vocab_size).
  // Valid until the next call.
  absl::StatusOr<std::span<const float>> Append(std::span<const int32_t> tokens,
                                                bool all_logits = false);

  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }

 private:
  SequenceRunner(ModelRunner& runner, int64_t capacity) : runner_(runner), capacity_(capacity) {}

  ModelRunner& runner_;
  BlockTable blocks_;
  int64_t capacity_;
  int64_t length_ = 0;
  std::vector<float> all_logits_;
};

// "prompt of N tokens + M new tokens exceeds the context length of C" when
// the sum does not fit.
absl::Status CheckFitsContext(int64_t prompt_tokens, int64_t max_new_tokens,
                              int64_t context_length);

}  // namespace llmw
