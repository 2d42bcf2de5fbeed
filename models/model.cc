// Batch bookkeeping shared by every model.
#include "models/model.h"

#include "absl/strings/str_cat.h"

namespace llmw {

int64_t ForwardBatch::num_tokens() const {
  int64_t n = 0;
  for (const SequenceChunk& c : chunks) n += static_cast<int64_t>(c.tokens.size());
  return n;
}

int64_t ForwardBatch::num_logit_rows() const {
  int64_t n = 0;
  for (const SequenceChunk& c : chunks) {
    n += c.all_logits ? static_cast<int64_t>(c.tokens.size()) : 1;
  }
  return n;
}

absl::Status ValidateBatch(const ForwardBatch& batch, const KvCache& kv, std::span<float> logits,
                           int64_t max_batch_tokens, int64_t context_length, int64_t vocab_size) {
  const int64_t n_tokens = batch.num_tokens();
  if (n_tokens == 0) return absl::InvalidArgumentError("forward: empty batch");
  if (n_tokens > max_batch_tokens) {
    return absl::InvalidArgumentError(absl::StrCat(
        "forward: batch of ", n_tokens, " tokens exceeds max_batch_tokens ", max_batch_tokens));
  }
  const int64_t logit_elems = batch.num_logit_rows() * vocab_size;
  if (static_cast<int64_t>(logits.size()) < logit_elems) {
    return absl::InvalidArgumentError(absl::StrCat("forward: logits buffer holds ", logits.size(),
                                                   " floats, ", logit_elems, " needed"));
  }
  for (const SequenceChunk& chunk : batch.chunks) {
    if (chunk.tokens.empty() || chunk.blocks == nullptr) {
      return absl::InvalidArgumentError("forward: chunk without tokens or block table");
    }
    const int64_t end = chunk.start_pos + static_cast<int64_t>(chunk.tokens.size());
    if (chunk.start_pos < 0 || end > context_length) {
      return absl::InvalidArgumentError(absl::StrCat(
          "forward: positions up to ", end, " exceed the context length ", context_length));
    }
    if (chunk.blocks->capacity_tokens(kv.block_size()) < end) {
      return absl::InvalidArgumentError(absl::StrCat("forward: block table covers ",
                                                     chunk.blocks->capacity_tokens(kv.block_size()),
                                                     " positions, ", end, " needed"));
    }
    for (int32_t token : chunk.tokens) {
      if (token < 0 || token >= vocab_size) {
        return absl::InvalidArgumentError(
            absl::StrCat("forward: token id ", token, " outside the vocabulary of ", vocab_size));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace llmw
