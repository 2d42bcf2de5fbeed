// The Phi-2 forward pass, top to bottom:
//   x = embed(tokens)
//   per layer:  h = LayerNorm(x)
//               x += Wo·attention(rope(Wq h + bq), rope(Wk h + bk), Wv h + bv) + bo
//                    + Wdown·gelu_tanh(Wup h + bup) + bdown
//   logits = Wout · LayerNorm(x) + bout
#include "models/phi/phi2_model.h"

#include <cmath>

namespace llmw {
Phi2Model::Phi2Model(ModelInfo info, const Phi2Config& config, Phi2Weights weights,
                     std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> checkpoint,
                     Backend& backend)
    : DecoderModel(std::move(info), std::move(tokenizer), std::move(checkpoint), backend,
                   DecoderShape(config, config.rope_dim, /*rope_tables=*/1, /*gated_ffn=*/false)),
      config_(config),
      weights_(std::move(weights)) {}

std::vector<WeightSlot> Phi2Model::WeightSlots() {
  Phi2Weights& w = weights_;
  std::vector<WeightSlot> slots = {
      {&w.token_embd, WeightUse::kOther},    {&w.output_norm_w, WeightUse::kOther},
      {&w.output_norm_b, WeightUse::kOther}, {&w.output, WeightUse::kMatmul},
      {&w.output_b, WeightUse::kOther},      {&w.rope_inv_freq, WeightUse::kOther}};
  for (Phi2LayerWeights& l : w.layers) {
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_up, &l.w_down}) {
      slots.push_back({t, WeightUse::kMatmul});
    }
    for (Tensor* t : {&l.norm_w, &l.norm_b, &l.bq, &l.bk, &l.bv, &l.bo, &l.b_up, &l.b_down}) {
      slots.push_back({t, WeightUse::kOther});
    }
  }
  return slots;
}

absl::Status Phi2Model::Forward(const StepLayout& step, Workspace& ws, KvCache& kv,
                                const Tensor& logits) {
  const int64_t n = step.n_tokens;
  EmbedTokens(step, ws, weights_.token_embd, 1.0f, {&weights_.rope_inv_freq, 1});
  // Each layer adds its output to x and norms the sum for the layer after it in one op
  // (AddLayerNorm): the first layer's norm runs here, the last one's on the gathered logit rows.
  const std::vector<Phi2LayerWeights>& layers = weights_.layers;
  if (!layers.empty()) {
    backend_.LayerNorm(Rows(ws.xn, n), Rows(ws.x, n), layers[0].norm_w, layers[0].norm_b,
                       config_.norm_eps);
  }
  for (size_t layer = 0; layer < layers.size(); ++layer) {
    const Phi2LayerWeights* next = layer + 1 < layers.size() ? &layers[layer + 1] : nullptr;
    Layer(layers[layer], next, static_cast<int64_t>(layer), step, ws, kv);
  }
  if (step.n_logit_rows == 0) return absl::OkStatus();
  const Tensor rows = Rows(ws.xn, step.n_logit_rows);
  backend_.GatherRows(rows, Rows(ws.x, n), step);
  backend_.LayerNorm(rows, rows, weights_.output_norm_w, weights_.output_norm_b, config_.norm_eps);
  backend_.Matmul(logits, rows, weights_.output, weights_.output_b);
  return absl::OkStatus();
}

void Phi2Model::Layer(const Phi2LayerWeights& w, const Phi2LayerWeights* next, int64_t layer,
                      const StepLayout& step, Workspace& ws, KvCache& kv) {
  const int64_t n = step.n_tokens;
  const int64_t hd = config_.head_dim;
  const Tensor x = Rows(ws.x, n), xn = Rows(ws.xn, n), out = Rows(ws.out, n);
  const Tensor q = Rows(ws.q, n), k = Rows(ws.k, n), v = Rows(ws.v, n), attn = Rows(ws.attn, n);
  const Tensor cos = Rows(ws.cos[0], n), sin = Rows(ws.sin[0], n), up = Rows(ws.up, n);

  // Attention branch.
  const MatmulOutput qkv[] = {{q, w.wq, w.bq}, {k, w.wk, w.bk}, {v, w.wv, w.bv}};
  backend_.MatmulShared(qkv, xn);
  const AttentionParams params{.n_heads = config_.n_heads,
                               .scale = 1.0f / std::sqrt(static_cast<float>(hd))};
  Attend(step, kv, layer, q, k, v, {cos, sin, config_.rope_dim, RopePairing::kRotateHalf}, params,
         attn);
  backend_.Matmul(out, attn, w.wo, w.bo);
  backend_.Add(x, x, out);

  // MLP branch, from the same normed input.
  backend_.Matmul(up, xn, w.w_up, w.b_up);
  backend_.GeluTanh(up, up);
  backend_.Matmul(out, up, w.w_down, w.b_down);
  if (next == nullptr) return backend_.Add(x, x, out);
  backend_.AddLayerNorm(xn, x, out, next->norm_w, next->norm_b, config_.norm_eps);
}

}  // namespace llmw
