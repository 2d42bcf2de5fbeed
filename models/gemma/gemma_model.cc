// The Gemma 3 forward pass, top to bottom:
//   x = embed(tokens) · √hidden
//   per layer:  a = Wo · attention(rope(qn(Wq·n(x))), rope(kn(Wk·n(x))), Wv·n(x))
//               x += post_attention_norm(a)
//               x += post_ffw_norm(Wdown · (gelu_tanh(Wgate·n(x)) * (Wup·n(x))))
//   logits = Wembᵀ · n(x)
// n = RMSNorm with the layer's weight; qn/kn = RMSNorm over each head.
// Local (sliding-window) layers rotate with their own RoPE base.
#include "models/gemma/gemma_model.h"

#include <cmath>

namespace llmw {
GemmaModel::GemmaModel(ModelInfo info, const GemmaConfig& config, GemmaWeights weights,
                       std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> checkpoint,
                       Backend& backend)
    : DecoderModel(std::move(info), std::move(tokenizer), std::move(checkpoint), backend,
                   DecoderShape(config, config.head_dim, /*rope_tables=*/2, /*gated_ffn=*/true)),
      config_(config),
      weights_(std::move(weights)) {}

std::vector<WeightSlot> GemmaModel::WeightSlots() {
  GemmaWeights& w = weights_;
  std::vector<WeightSlot> slots = {{&w.token_embd, WeightUse::kOther},
                                   {&w.token_embd, WeightUse::kMatmul},
                                   {&w.output_norm, WeightUse::kOther},
                                   {&w.rope_inv_freq_local, WeightUse::kOther},
                                   {&w.rope_inv_freq_global, WeightUse::kOther}};
  for (GemmaLayerWeights& l : w.layers) {
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      slots.push_back({t, WeightUse::kMatmul});
    }
    for (Tensor* t : {&l.attn_norm, &l.q_norm, &l.k_norm, &l.post_attention_norm, &l.ffn_norm,
                      &l.post_ffw_norm}) {
      slots.push_back({t, WeightUse::kOther});
    }
  }
  return slots;
}

void GemmaModel::Norm(const Tensor& out, const Tensor& x, const Tensor& w) {
  backend_.RmsNorm(out, x, w, config_.rms_eps, weights_.norm_offset);
}

absl::Status GemmaModel::Forward(const StepLayout& step, Workspace& ws, KvCache& kv,
                                 const Tensor& logits) {
  const int64_t n = step.n_tokens;
  const Tensor rope_inv_freqs[] = {weights_.rope_inv_freq_local, weights_.rope_inv_freq_global};
  EmbedTokens(step, ws, weights_.token_embd, std::sqrt(static_cast<float>(config_.hidden)),
              rope_inv_freqs);
  // Each block adds its output to x and norms the sum for the block after it in one op
  // (AddRmsNorm): the first block's norm runs here, the last one's on the gathered logit rows.
  const std::vector<GemmaLayerWeights>& layers = weights_.layers;
  if (!layers.empty()) Norm(Rows(ws.xn, n), Rows(ws.x, n), layers[0].attn_norm);
  for (size_t layer = 0; layer < layers.size(); ++layer) {
    const Tensor* next_norm = layer + 1 < layers.size() ? &layers[layer + 1].attn_norm : nullptr;
    AttentionBlock(layers[layer], static_cast<int64_t>(layer), step, ws, kv);
    MlpBlock(layers[layer], next_norm, n, ws);
  }
  if (step.n_logit_rows == 0) return absl::OkStatus();
  const Tensor rows = Rows(ws.xn, step.n_logit_rows);
  backend_.GatherRows(rows, Rows(ws.x, n), step);
  Norm(rows, rows, weights_.output_norm);
  backend_.Matmul(logits, rows, weights_.token_embd, {});
  return absl::OkStatus();
}

void GemmaModel::AttentionBlock(const GemmaLayerWeights& w, int64_t layer, const StepLayout& step,
                                Workspace& ws, KvCache& kv) {
  const int64_t n = step.n_tokens;
  const int64_t hd = config_.head_dim;
  const bool global = config_.IsGlobal(layer);
  const int rope = global ? kGlobalRope : kLocalRope;
  const Tensor x = Rows(ws.x, n), xn = Rows(ws.xn, n);
  const Tensor q = Rows(ws.q, n), k = Rows(ws.k, n), v = Rows(ws.v, n), attn = Rows(ws.attn, n);
  const Tensor cos = Rows(ws.cos[rope], n), sin = Rows(ws.sin[rope], n);

  // xn = attn_norm(x), from the block before.
  const MatmulOutput qkv[] = {{q, w.wq, {}}, {k, w.wk, {}}, {v, w.wv, {}}};
  backend_.MatmulShared(qkv, xn);
  const Tensor q_heads = q.Reshaped({n * config_.n_heads, hd});
  const Tensor k_heads = k.Reshaped({n * config_.n_kv_heads, hd});
  Norm(q_heads, q_heads, w.q_norm);
  Norm(k_heads, k_heads, w.k_norm);

  const AttentionParams params{.n_heads = config_.n_heads,
                               .scale = config_.attention_scale,
                               .window = global ? 0 : config_.sliding_window};
  Attend(step, kv, layer, q, k, v, {cos, sin, hd, RopePairing::kRotateHalf}, params, attn);
  backend_.Matmul(xn, attn, w.wo, {});
  Norm(xn, xn, w.post_attention_norm);
  backend_.AddRmsNorm(xn, x, xn, w.ffn_norm, config_.rms_eps, weights_.norm_offset);
}

void GemmaModel::MlpBlock(const GemmaLayerWeights& w, const Tensor* next_norm, int64_t n,
                          Workspace& ws) {
  const Tensor x = Rows(ws.x, n), xn = Rows(ws.xn, n);
  const Tensor gate = Rows(ws.gate, n), up = Rows(ws.up, n);
  // xn = ffn_norm(x), from the attention block.
  backend_.MatmulGated(gate, xn, w.w_gate, w.w_up, GatedActivation::kGeluTanh, up);
  backend_.Matmul(xn, gate, w.w_down, {});
  Norm(xn, xn, w.post_ffw_norm);
  if (next_norm == nullptr) return backend_.Add(x, x, xn);
  backend_.AddRmsNorm(xn, x, xn, *next_norm, config_.rms_eps, weights_.norm_offset);
}

}  // namespace llmw
