// What every family's model holds beyond its config and weights: its
// ModelInfo and tokenizer, the mapped checkpoint the weights point into, the
// thread pool, the batch budget and the matmul; and the batch check.
#pragma once

#include <memory>
#include <span>

#include "kernels/cpu/thread_pool.h"
#include "models/decoder_steps.h"
#include "models/load_options.h"
#include "models/model.h"

namespace llmw {

class DecoderModel : public Model {
 public:
  const ModelInfo& info() const override { return info_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  int64_t max_batch_tokens() const override { return max_batch_tokens_; }

 protected:
  // `storage` keeps the memory the weight tensors point into alive; `pool`
  // must outlive the model.
  DecoderModel(ModelInfo info, std::unique_ptr<Tokenizer> tokenizer,
               std::shared_ptr<const void> storage, cpu::ThreadPool& pool,
               const LoadOptions& options)
      : info_(std::move(info)),
        tokenizer_(std::move(tokenizer)),
        storage_(std::move(storage)),
        pool_(pool),
        max_batch_tokens_(options.max_batch_tokens),
        matmul_(pool, options.reference_matmul) {}

  // ValidateBatch against this model's limits.
  absl::Status Validate(const ForwardBatch& batch, const KvCache& kv,
                        std::span<float> logits) const {
    return ValidateBatch(batch, kv, logits, max_batch_tokens_, info_.context_length,
                         info_.vocab_size);
  }

  ModelInfo info_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<const void> storage_;
  cpu::ThreadPool& pool_;
  int64_t max_batch_tokens_;
  LayerMatmul matmul_;
};

}  // namespace llmw
