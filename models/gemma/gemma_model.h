// The Gemma 3 forward pass over a batch of sequence chunks and the paged KV cache.
#pragma once

#include <memory>
#include <vector>

#include "kernels/cpu/thread_pool.h"
#include "models/decoder_model.h"
#include "models/gemma/gemma_config.h"
#include "models/load_options.h"

namespace llmw {

class GemmaModel : public DecoderModel {
 public:
  // `storage` keeps the memory the weight tensors point into alive.
  GemmaModel(ModelInfo info, GemmaConfig config, GemmaWeights weights,
             std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> storage,
             cpu::ThreadPool& pool, const LoadOptions& options);

  KvCacheShape kv_shape() const override;
  absl::Status Forward(const ForwardBatch& batch, KvCache& kv, std::span<float> logits) override;

 private:
  struct Workspace {
    std::vector<float> x, xn, q, k, v, attn, gate, up;
    std::vector<float> cos_local, sin_local, cos_global, sin_global;
    std::vector<int32_t> tokens, positions;
    std::vector<float> inv_freq_local, inv_freq_global;
  };

  void AttentionBlock(const GemmaLayerWeights& w, int64_t layer, const ForwardBatch& batch,
                      KvCache& kv);
  void MlpBlock(const GemmaLayerWeights& w, int64_t n_tokens);
  void Logits(const ForwardBatch& batch, std::span<float> logits);

  GemmaConfig config_;
  GemmaWeights weights_;
  Workspace ws_;
};

}  // namespace llmw
