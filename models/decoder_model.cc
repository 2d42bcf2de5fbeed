// The forward-pass steps every decoder family shares.
#include "models/decoder_model.h"

#include "kernels/status_macros.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<Model>> DecoderModel::Placed(std::unique_ptr<DecoderModel> model) {
  RETURN_IF_ERROR(model->backend_.PlaceWeights(model->WeightSlots()));
  return std::unique_ptr<Model>(std::move(model));
}

void DecoderModel::EmbedTokens(const StepLayout& step, Workspace& ws, const Tensor& token_embd,
                               float embed_scale, std::span<const Tensor> rope_inv_freqs) {
  const int64_t n = step.n_tokens;
  backend_.Embed(Rows(ws.x, n), token_embd, step, embed_scale);
  for (size_t i = 0; i < rope_inv_freqs.size(); ++i) {
    backend_.RopeAngles(Rows(ws.cos[i], n), Rows(ws.sin[i], n), step, rope_inv_freqs[i]);
  }
}

void DecoderModel::Attend(const StepLayout& step, KvCache& kv, int64_t layer, const Tensor& q,
                          const Tensor& k, const Tensor& v, const Rotation& rope,
                          const AttentionParams& params, const Tensor& out) {
  const PagedKvLayer cache = kv.Layer(layer);
  backend_.RopeWriteKv(cache, q, k, v, rope.cos, rope.sin, step, rope.rot_dim, rope.pairing);
  backend_.PagedAttention(out, q, cache, step, params);
}

}  // namespace llmw
