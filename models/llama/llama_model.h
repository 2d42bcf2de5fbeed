// The llama forward pass over a batch of sequence chunks and the paged KV cache.
#pragma once

#include <memory>
#include <vector>

#include "kernels/cpu/thread_pool.h"
#include "models/decoder_steps.h"
#include "models/llama/llama_config.h"
#include "models/load_options.h"
#include "models/model.h"

namespace llmw {

class LlamaModel : public Model {
 public:
  // `storage` keeps the memory the weight tensors point into alive (e.g. the
  // mapped checkpoint). `pool` must outlive the model.
  LlamaModel(ModelInfo info, LlamaConfig config, LlamaWeights weights,
             std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> storage,
             cpu::ThreadPool& pool, const LoadOptions& options);

  const ModelInfo& info() const override { return info_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  KvCacheShape kv_shape() const override;
  int64_t max_batch_tokens() const override { return max_batch_tokens_; }
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

  ModelInfo info_;
  LlamaConfig config_;
  LlamaWeights weights_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<const void> storage_;
  cpu::ThreadPool& pool_;
  int64_t max_batch_tokens_;
  LayerMatmul matmul_;
  Workspace ws_;
};

}  // namespace llmw
