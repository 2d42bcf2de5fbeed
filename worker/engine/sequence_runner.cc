// Single-sequence prefill and decode on top of ModelRunner::Forward.
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

absl::StatusOr<std::unique_ptr<SequenceRunner>> SequenceRunner::Create(ModelRunner& runner,
                                                                       int64_t max_tokens) {
  if (max_tokens <= 0) return absl::InvalidArgumentError("SequenceRunner: max_tokens must be > 0");
  RETURN_IF_ERROR(CheckFitsContext(max_tokens, 0, runner.info().context_length));
  return std::unique_ptr<SequenceRunner>(new SequenceRunner(runner, max_tokens));
}

SequenceRunner::~SequenceRunner() { runner_.kv_cache().Release(blocks_); }

absl::StatusOr<std::span<const float>> SequenceRunner::Append(std::span<const int32_t> tokens,
                                                              bool all_logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return absl::InvalidArgumentError("SequenceRunner: no tokens to append");
  if (length_ + n > capacity_) {
    return absl::OutOfRangeError(
        absl::StrCat("sequence of ", length_ + n, " tokens exceeds its capacity of ", capacity_));
  }
  RETURN_IF_ERROR(runner_.kv_cache().Reserve(blocks_, length_ + n));
  const int64_t vocab = runner_.info().vocab_size;
  // Every token of an all-logits chunk takes a logit row.
  const int64_t chunk_max = all_logits
                                ? std::min(runner_.max_batch_tokens(), runner_.max_sequences())
                                : runner_.max_batch_tokens();
  all_logits_.clear();
  for (int64_t done = 0; done < n;) {
    const int64_t len = std::min(chunk_max, n - done);
    const bool last = done + len == n;
    ForwardBatch batch;
    batch.chunks.push_back(SequenceChunk{
        tokens.subspan(done, len), length_, &blocks_,
        all_logits ? ChunkLogits::kAll : (last ? ChunkLogits::kLast : ChunkLogits::kNone)});
    RETURN_IF_ERROR(runner_.Forward(batch));
    length_ += len;
    done += len;
    if (all_logits) {
      for (int64_t r = 0; r < len; ++r) {
        const std::span<const float> row = runner_.LogitRow(r);
        all_logits_.insert(all_logits_.end(), row.begin(), row.end());
      }
    }
  }
  if (all_logits) return std::span<const float>(all_logits_);
  return runner_.LogitRow(0).subspan(0, vocab);
}

}  // namespace llmw
