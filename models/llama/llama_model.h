// The llama forward pass over a step of sequence chunks and the paged KV cache.
#pragma once

#include <memory>

#include "models/decoder_model.h"
#include "models/llama/llama_config.h"

namespace llmw {

class LlamaModel : public DecoderModel {
 public:
  // `weights` are placed on `backend` (which must outlive the model) by DecoderModel::Placed,
  // before the model runs. `checkpoint` keeps the memory the weight tensors were read from alive
  // (e.g. the mapped file).
  LlamaModel(ModelInfo info, const LlamaConfig& config, LlamaWeights weights,
             std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> checkpoint,
             Backend& backend);

  absl::Status Forward(const StepLayout& step, Workspace& ws, KvCache& kv,
                       const Tensor& logits) override;

 protected:
  std::vector<WeightSlot> WeightSlots() override;

 private:
  void AttentionBlock(const LlamaLayerWeights& w, int64_t layer, const StepLayout& step,
                      Workspace& ws, KvCache& kv);
  // Ends with x += the block's output and, unless `next_norm` is null (the last layer),
  // xn = RmsNorm(x) with `next_norm`: the next block's input.
  void MlpBlock(const LlamaLayerWeights& w, const Tensor* next_norm, int64_t n, Workspace& ws);

  LlamaConfig config_;
  LlamaWeights weights_;
};

}  // namespace llmw
