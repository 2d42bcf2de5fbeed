// The llama forward pass over a batch of sequence chunks and the paged KV cache.
#pragma once

#include <memory>
#include <vector>

#include "kernels/cpu/thread_pool.h"
#include "models/decoder_model.h"
#include "models/llama/llama_config.h"
#include "models/load_options.h"

namespace llmw {

class LlamaModel : public DecoderModel {
 public:
  // `storage` keeps the memory the weight tensors point into alive (e.g. the
  // mapped checkpoint). `pool` must outlive the model.
  LlamaModel(ModelInfo info, LlamaConfig config, LlamaWeights weights,
             std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> storage,
             cpu::ThreadPool& pool, const LoadOptions& options);

  KvCacheShape kv_shape() const override;
  absl::Status Forward(const ForwardBatch& batch, KvCache& kv, std::span<float> logits) override;

  const LlamaConfig& config() const { return config_; }

 private:
  // Activations for up to max_batch_tokens tokens, allocated once.
  struct Workspace {
    std::vector<float> x, xn, q, k, v, attn, gate, up, cos, sin;
    std::vector<int32_t> tokens, positions;
  };

  void AttentionBlock(const LlamaLayerWeights& w, int64_t layer, const ForwardBatch& batch,
                      KvCache& kv);
  void MlpBlock(const LlamaLayerWeights& w, int64_t n_tokens);
  void Logits(const ForwardBatch& batch, std::span<float> logits);

  LlamaConfig config_;
  LlamaWeights weights_;
  Workspace ws_;
};

}  // namespace llmw
