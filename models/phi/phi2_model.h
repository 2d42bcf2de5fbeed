// The Phi-2 forward pass over a step of sequence chunks and the paged KV cache.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "models/decoder_model.h"
#include "models/phi/phi2_config.h"

namespace llmw {

class Phi2Model : public DecoderModel {
 public:
  // Places `weights` on `backend` (which must outlive the model). `checkpoint` keeps the memory
  // the weight tensors were read from alive.
  static absl::StatusOr<std::unique_ptr<Model>> Create(ModelInfo info, const Phi2Config& config,
                                                       Phi2Weights weights,
                                                       std::unique_ptr<Tokenizer> tokenizer,
                                                       std::shared_ptr<const void> checkpoint,
                                                       Backend& backend);

  absl::Status Forward(const StepLayout& step, Workspace& ws, KvCache& kv,
                       const Tensor& logits) override;

 private:
  Phi2Model(ModelInfo info, const Phi2Config& config, Phi2Weights weights,
            std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> checkpoint,
            Backend& backend);

  void Layer(const Phi2LayerWeights& w, int64_t layer, const StepLayout& step, Workspace& ws,
             KvCache& kv);

  Phi2Config config_;
  Phi2Weights weights_;
};

}  // namespace llmw
