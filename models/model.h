// The interface every loaded model exposes to the engine and the tools: what
// it is, its tokenizer, and one forward pass over a batch of sequences.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "models/kv_cache/kv_cache.h"
#include "models/tokenizer/tokenizer.h"

namespace llmw {

// Sampling settings the checkpoint recommends (generation_config.json); a
// request's own settings win, and unset ones fall back to the engine's.
struct GenerationDefaults {
  std::optional<float> temperature;  // 0 when the file sets do_sample false
  std::optional<int32_t> top_k;
  std::optional<float> top_p, min_p, typical_p, repetition_penalty;
};

struct ModelInfo {
  std::string name;          // general.name, or the file name
  std::string architecture;  // "llama", ...
  std::string quantization;  // dominant weight type, e.g. "Q4_1"
  int64_t context_length = 0;
  int64_t vocab_size = 0;
  int64_t n_params = 0;
  std::string chat_template;  // Jinja text from the checkpoint; empty when none
  GenerationDefaults generation_defaults;
};

// New tokens of one sequence to run through the model in this step.
struct SequenceChunk {
  std::span<const int32_t> tokens;
  int64_t start_pos = 0;               // position of tokens[0] within the sequence
  const BlockTable* blocks = nullptr;  // must cover start_pos + tokens.size() positions
  bool all_logits = false;             // logits of every token, not only the last
};

struct ForwardBatch {
  std::vector<SequenceChunk> chunks;

  int64_t num_tokens() const;
  // Rows of logits Forward writes: per chunk, 1 or tokens.size() when all_logits.
  int64_t num_logit_rows() const;
};

// Checks a batch against a model's limits: token count within
// `max_batch_tokens`, positions within `context_length`, token ids within
// `vocab_size`, block tables covering every position, a large enough logits
// buffer. Shared by every family's Forward.
absl::Status ValidateBatch(const ForwardBatch& batch, const KvCache& kv, std::span<float> logits,
                           int64_t max_batch_tokens, int64_t context_length, int64_t vocab_size);

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelInfo& info() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;
  // Shape of the KV cache this model needs (per token, per layer).
  virtual KvCacheShape kv_shape() const = 0;
  // Most tokens one Forward call may carry (the workspace was sized for it).
  virtual int64_t max_batch_tokens() const = 0;

  // Runs the batch: writes each token's keys and values into `kv` and the
  // logits rows (num_logit_rows() × vocab_size, chunk order) into `logits`.
  virtual absl::Status Forward(const ForwardBatch& batch, KvCache& kv, std::span<float> logits) = 0;
};

}  // namespace llmw
