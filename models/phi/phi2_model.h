// The Phi-2 forward pass over a step of sequence chunks and the paged KV cache.
#pragma once

#include <memory>

#include "models/decoder_model.h"
#include "models/phi/phi2_config.h"

namespace llmw {

class Phi2Model : public DecoderModel {
 public:
  // `weights` are placed on `backend` (which must outlive the model) by DecoderModel::Placed,
  // before the model runs. `checkpoint` keeps the memory the weight tensors were read from alive
  // (e.g. the mapped file).
  Phi2Model(ModelInfo info, const Phi2Config& config, Phi2Weights weights,
            std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> checkpoint,
            Backend& backend);

  absl::Status Forward(const StepLayout& step, Workspace& ws, KvCache& kv,
                       const Tensor& logits) override;

 protected:
  std::vector<WeightSlot> WeightSlots() override;

 private:
  // Reads xn = LayerNorm(x) with the layer's norm; ends with x += both branches' outputs and,
  // unless `next` is null (the last layer), xn = LayerNorm(x) with the next layer's norm.
  void Layer(const Phi2LayerWeights& w, const Phi2LayerWeights* next, int64_t layer,
             const StepLayout& step, Workspace& ws, KvCache& kv);

  Phi2Config config_;
  Phi2Weights weights_;
};

}  // namespace llmw
