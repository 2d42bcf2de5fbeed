// What every decoder family's model holds beyond its config and weights: its ModelInfo,
// tokenizer and shape, the checkpoint its host weights point into, and the backend its weights
// were placed on; and the steps of a forward pass every family takes the same way.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "models/model.h"

namespace llmw {

class DecoderModel : public Model {
 public:
  const ModelInfo& info() const override { return info_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  const ModelShape& shape() const override { return shape_; }

  // Places the weights `model` lists (WeightSlots) on its backend, once, at load; the model runs
  // after that.
  static absl::StatusOr<std::unique_ptr<Model>> Placed(std::unique_ptr<DecoderModel> model);

 protected:
  // `checkpoint` keeps the memory the weight tensors were read from alive (the mapped file);
  // `backend` must outlive the model.
  DecoderModel(ModelInfo info, std::unique_ptr<Tokenizer> tokenizer,
               std::shared_ptr<const void> checkpoint, Backend& backend, const ModelShape& shape)
      : info_(std::move(info)),
        tokenizer_(std::move(tokenizer)),
        checkpoint_(std::move(checkpoint)),
        backend_(backend),
        shape_(shape) {}

  // Every weight tensor of the family and how the forward pass uses it.
  virtual std::vector<WeightSlot> WeightSlots() = 0;

  // The forward pass's first steps: x = token_embd[tokens] · embed_scale, and the RoPE cos/sin
  // tables of the step's positions for each set of inverse frequencies (ws.cos[i], ws.sin[i]).
  void EmbedTokens(const StepLayout& step, Workspace& ws, const Tensor& token_embd,
                   float embed_scale, std::span<const Tensor> rope_inv_freqs);

  // How a layer's queries and keys are rotated: by the step's cos/sin tables (RopeAngles), the
  // first rot_dim dims of every head.
  struct Rotation {
    Tensor cos, sin;
    int64_t rot_dim;
    RopePairing pairing;
  };

  // Rotates q and k in place, stores the step's keys and values of `layer` in the cache (one op,
  // RopeWriteKv), then attends every token's queries over its sequence:
  // out = attention(q, cached k, cached v).
  void Attend(const StepLayout& step, KvCache& kv, int64_t layer, const Tensor& q, const Tensor& k,
              const Tensor& v, const Rotation& rope, const AttentionParams& params,
              const Tensor& out);

  ModelInfo info_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<const void> checkpoint_;
  Backend& backend_;
  ModelShape shape_;
};

// The sizes a family's config names the way every decoder config does (n_layers, hidden, n_heads,
// n_kv_heads, head_dim, ffn_hidden, vocab_size), with the family's RoPE and MLP kind.
template <typename Config>
ModelShape DecoderShape(const Config& c, int64_t rope_dim, int64_t rope_tables, bool gated_ffn) {
  return ModelShape{.n_layers = c.n_layers,
                    .hidden = c.hidden,
                    .n_heads = c.n_heads,
                    .n_kv_heads = c.n_kv_heads,
                    .head_dim = c.head_dim,
                    .ffn_hidden = c.ffn_hidden,
                    .gated_ffn = gated_ffn,
                    .vocab_size = c.vocab_size,
                    .rope_dim = rope_dim,
                    .rope_tables = rope_tables};
}

}  // namespace llmw
