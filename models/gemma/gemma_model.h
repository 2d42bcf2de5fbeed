// The Gemma 3 forward pass over a step of sequence chunks and the paged KV cache.
#pragma once

#include <memory>

#include "models/decoder_model.h"
#include "models/gemma/gemma_config.h"

namespace llmw {

class GemmaModel : public DecoderModel {
 public:
  // `weights` are placed on `backend` (which must outlive the model) by DecoderModel::Placed,
  // before the model runs. `checkpoint` keeps the memory the weight tensors were read from alive
  // (e.g. the mapped file).
  GemmaModel(ModelInfo info, const GemmaConfig& config, GemmaWeights weights,
             std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> checkpoint,
             Backend& backend);

  absl::Status Forward(const StepLayout& step, Workspace& ws, KvCache& kv,
                       const Tensor& logits) override;

 protected:
  std::vector<WeightSlot> WeightSlots() override;

 private:
  // RoPE tables in the workspace: ws.cos[i], ws.sin[i].
  static constexpr int kLocalRope = 0;
  static constexpr int kGlobalRope = 1;

  void AttentionBlock(const GemmaLayerWeights& w, int64_t layer, const StepLayout& step,
                      Workspace& ws, KvCache& kv);
  // Ends with x += the block's output and, unless `next_norm` is null (the last layer),
  // xn = Norm(x) with `next_norm`: the next block's input.
  void MlpBlock(const GemmaLayerWeights& w, const Tensor* next_norm, int64_t n, Workspace& ws);
  // out = RMSNorm(x) · (w + the checkpoint's norm offset).
  void Norm(const Tensor& out, const Tensor& x, const Tensor& w);

  GemmaConfig config_;
  GemmaWeights weights_;
};

}  // namespace llmw
