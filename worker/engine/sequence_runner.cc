// Single-sequence prefill and decode on top of Model::Forward.
#include "worker/engine/sequence_runner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"

namespace llmw {

absl::Status CheckFitsContext(int64_t prompt_tokens, int64_t max_new_tokens,
                              int64_t context_length) {
  if (prompt_tokens + max_new_tokens > context_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompt of ", prompt_tokens, " tokens + ", max_new_tokens,
                     " new tokens exceeds the model's context length of ", context_length));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SequenceRunner>> SequenceRunner::Create(Model& model,
                                                                       int64_t max_tokens) {
  if (max_tokens <= 0) return absl::InvalidArgumentError("SequenceRunner: max_tokens must be > 0");
  RETURN_IF_ERROR(CheckFitsContext(max_tokens, 0, model.info().context_length));
  const int64_t block_size = KvCache::kDefaultBlockSize;
  const int64_t blocks = (max_tokens + block_size - 1) / block_size;
  ASSIGN_OR_RETURN(std::unique_ptr<KvCache> kv,
                   KvCache::Create(model.kv_shape(), block_size, static_cast<int32_t>(blocks)));
  return std::unique_ptr<SequenceRunner>(new SequenceRunner(model, std::move(kv), max_tokens));
}

SequenceRunner::SequenceRunner(Model& model, std::unique_ptr<KvCache> kv, int64_t capacity)
    : model_(model), kv_(std::move(kv)), capacity_(capacity) {}

absl::StatusOr<std::span<const float>> SequenceRunner::Append(std::span<const int32_t> tokens,
                                                              bool all_logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return absl::InvalidArgumentError("SequenceRunner: no tokens to append");
  if (length_ + n > capacity_) {
    return absl::OutOfRangeError(
        absl::StrCat("sequence of ", length_ + n, " tokens exceeds its capacity of ", capacity_));
  }
  RETURN_IF_ERROR(kv_->Reserve(blocks_, length_ + n));
  const int64_t vocab = model_.info().vocab_size;
  logits_.resize((all_logits ? n : 1) * vocab);
  const int64_t chunk_max = model_.max_batch_tokens();
  for (int64_t done = 0; done < n;) {
    const int64_t len = std::min(chunk_max, n - done);
    ForwardBatch batch;
    batch.chunks.push_back(SequenceChunk{tokens.subspan(done, len), length_, &blocks_, all_logits});
    // Intermediate chunks of a last-token-only request still produce one row;
    // it lands in the output row and is overwritten by the final chunk.
    std::span<float> out(logits_.data() + (all_logits ? done * vocab : 0),
                         (all_logits ? len : 1) * vocab);
    RETURN_IF_ERROR(model_.Forward(batch, *kv_, out));
    length_ += len;
    done += len;
  }
  return std::span<const float>(logits_);
}

}  // namespace llmw
