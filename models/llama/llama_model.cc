// The llama forward pass, top to bottom:
//   x = embed(tokens)
//   per layer:  x += Wo · attention(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x))   n = RMSNorm
//               x += Wdown · (silu(Wgate·n(x)) * (Wup·n(x)))
//   logits = Woutput · n(x)
// Activations are [tokens, width] row-major; one row per token of the step.
#include "models/llama/llama_model.h"

#include <cmath>

namespace llmw {
std::vector<float> RopeInverseFrequencies(int64_t rope_dim, float base,
                                          const std::vector<float>& factors) {
  std::vector<float> inv_freq(rope_dim / 2);
  for (int64_t i = 0; i < rope_dim / 2; ++i) {
    inv_freq[i] = static_cast<float>(
        std::pow(static_cast<double>(base), -2.0 * static_cast<double>(i) / rope_dim));
    if (!factors.empty()) inv_freq[i] /= factors[i];
  }
  return inv_freq;
}

LlamaModel::LlamaModel(ModelInfo info, const LlamaConfig& config, LlamaWeights weights,
                       std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> checkpoint,
                       Backend& backend)
    : DecoderModel(std::move(info), std::move(tokenizer), std::move(checkpoint), backend,
                   DecoderShape(config, config.rope_dim, /*rope_tables=*/1, /*gated_ffn=*/true)),
      config_(config),
      weights_(std::move(weights)) {}

std::vector<WeightSlot> LlamaModel::WeightSlots() {
  LlamaWeights& w = weights_;
  std::vector<WeightSlot> slots = {{&w.token_embd, WeightUse::kOther},
                                   {&w.output_norm, WeightUse::kOther},
                                   {&w.output, WeightUse::kMatmul},
                                   {&w.rope_inv_freq, WeightUse::kOther}};
  for (LlamaLayerWeights& l : w.layers) {
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      slots.push_back({t, WeightUse::kMatmul});
    }
    for (Tensor* t : {&l.attn_norm, &l.ffn_norm}) slots.push_back({t, WeightUse::kOther});
    if (config_.qkv_bias) {
      for (Tensor* t : {&l.bq, &l.bk, &l.bv}) slots.push_back({t, WeightUse::kOther});
    }
  }
  return slots;
}

absl::Status LlamaModel::Forward(const StepLayout& step, Workspace& ws, KvCache& kv,
                                 const Tensor& logits) {
  const int64_t n = step.n_tokens;
  EmbedTokens(step, ws, weights_.token_embd, 1.0f, {&weights_.rope_inv_freq, 1});
  for (int64_t layer = 0; layer < config_.n_layers; ++layer) {
    const LlamaLayerWeights& w = weights_.layers[layer];
    AttentionBlock(w, layer, step, ws, kv);
    MlpBlock(w, n, ws);
  }
  // Norm and project only the rows that need logits.
  if (step.n_logit_rows == 0) return absl::OkStatus();
  const Tensor rows = Rows(ws.xn, step.n_logit_rows);
  backend_.GatherRows(rows, Rows(ws.x, n), step);
  backend_.RmsNorm(rows, rows, weights_.output_norm, config_.rms_eps, 0.0f);
  backend_.Matmul(logits, rows, weights_.output, {});
  return absl::OkStatus();
}

void LlamaModel::AttentionBlock(const LlamaLayerWeights& w, int64_t layer, const StepLayout& step,
                                Workspace& ws, KvCache& kv) {
  const int64_t n = step.n_tokens;
  const int64_t hd = config_.head_dim;
  const Tensor x = Rows(ws.x, n), xn = Rows(ws.xn, n);
  const Tensor q = Rows(ws.q, n), k = Rows(ws.k, n), v = Rows(ws.v, n), attn = Rows(ws.attn, n);
  const Tensor cos = Rows(ws.cos[0], n), sin = Rows(ws.sin[0], n);

  backend_.RmsNorm(xn, x, w.attn_norm, config_.rms_eps, 0.0f);
  const MatmulOutput qkv[] = {{q, w.wq, w.bq}, {k, w.wk, w.bk}, {v, w.wv, w.bv}};
  backend_.MatmulShared(qkv, xn);
  backend_.Rope(q, cos, sin, hd, config_.rope_dim, config_.rope_pairing);
  backend_.Rope(k, cos, sin, hd, config_.rope_dim, config_.rope_pairing);

  const AttentionParams params{.n_heads = config_.n_heads,
                               .scale = 1.0f / std::sqrt(static_cast<float>(hd)),
                               .window = config_.sliding_window};
  Attend(step, kv, layer, q, k, v, params, attn);
  backend_.Matmul(xn, attn, w.wo, {});
  backend_.Add(x, x, xn);
}

void LlamaModel::MlpBlock(const LlamaLayerWeights& w, int64_t n, Workspace& ws) {
  const Tensor x = Rows(ws.x, n), xn = Rows(ws.xn, n);
  const Tensor gate = Rows(ws.gate, n), up = Rows(ws.up, n);
  backend_.RmsNorm(xn, x, w.ffn_norm, config_.rms_eps, 0.0f);
  const MatmulOutput gate_up[] = {{gate, w.w_gate, {}}, {up, w.w_up, {}}};
  backend_.MatmulShared(gate_up, xn);
  backend_.SiluMul(gate, gate, up);
  backend_.Matmul(xn, gate, w.w_down, {});
  backend_.Add(x, x, xn);
}

}  // namespace llmw
