// The interface every loaded model exposes: what it is, its tokenizer, its shape, and one forward
// pass over a step of many sequences' tokens, run on the backend its weights were placed on.
// A ModelRunner (model_runner.h) owns a model with its backend, KV cache, workspace and logits,
// and is what the engine and the tools drive.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kernels/step_layout.h"
#include "kernels/tensor.h"
#include "models/kv_cache/kv_cache.h"
#include "models/tokenizer/tokenizer.h"
#include "models/workspace.h"

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

// Which logits a chunk asks for.
enum class ChunkLogits {
  kNone,  // none (a prefill chunk that is not the prompt's last)
  kLast,  // its last token's
  kAll,   // every token's
};

// New tokens of one sequence to run through the model in this step.
struct SequenceChunk {
  std::span<const int32_t> tokens;
  int64_t start_pos = 0;               // position of tokens[0] within the sequence
  const BlockTable* blocks = nullptr;  // must cover start_pos + tokens.size() positions
  ChunkLogits logits = ChunkLogits::kLast;
};

// How the host reads one logit row back after a step: the whole row, or only what sampling from
// candidates needs of it (its `top_n` largest logits with their ids and the logits at
// `extra_ids`), so that a GPU sends a few candidates instead of the row.
struct LogitReadback {
  int64_t top_n = 0;  // 0: the whole row
  std::span<const int32_t> extra_ids;
  // With top_n > 0: a token mask (bit id % 64 of word id / 64 set for the allowed ids) applied to
  // the row before its candidates are selected, so that forbidden tokens are -inf among them.
  // Empty: none. A row read whole is never masked: the host sees the model's raw logits.
  std::span<const uint64_t> allowed;
};

struct ForwardBatch {
  std::vector<SequenceChunk> chunks;
  // Per logit row, in order; rows past its end are read whole.
  std::vector<LogitReadback> readback;

  int64_t num_tokens() const;
  // Rows of logits the step produces: per chunk 0, 1 or tokens.size().
  int64_t num_logit_rows() const;
};

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelInfo& info() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;
  virtual const ModelShape& shape() const = 0;

  // Runs one step on the model's backend: writes each token's keys and values into `kv` and the
  // logits of step.logit_rows, in order, into `logits` ([n_logit_rows, vocab_size]). `step` and
  // `ws` hold at least the step's tokens (the runner checked the batch). Ops may still be running
  // when it returns; the runner synchronizes. Reads no activation data on the host.
  virtual absl::Status Forward(const StepLayout& step, Workspace& ws, KvCache& kv,
                               const Tensor& logits) = 0;
};

}  // namespace llmw
