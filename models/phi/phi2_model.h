// The Phi-2 forward pass over a batch of sequence chunks and the paged KV cache.
#pragma once

#include <memory>
#include <vector>

#include "kernels/cpu/thread_pool.h"
#include "models/decoder_model.h"
#include "models/load_options.h"
#include "models/phi/phi2_config.h"

namespace llmw {

class Phi2Model : public DecoderModel {
 public:
  // `storage` keeps the memory the weight tensors point into alive.
  Phi2Model(ModelInfo info, Phi2Config config, Phi2Weights weights,
            std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> storage,
            cpu::ThreadPool& pool, const LoadOptions& options);

  KvCacheShape kv_shape() const override;
  absl::Status Forward(const ForwardBatch& batch, KvCache& kv, std::span<float> logits) override;

 private:
  struct Workspace {
    std::vector<float> x, xn, q, k, v, attn, out, up, cos, sin, inv_freq;
    std::vector<int32_t> tokens, positions;
  };

  void Layer(const Phi2LayerWeights& w, int64_t layer, const ForwardBatch& batch, KvCache& kv);

  Phi2Config config_;
  Phi2Weights weights_;
  Workspace ws_;
};

}  // namespace llmw
