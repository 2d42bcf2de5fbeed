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
  // Each block adds its output to x and norms the sum for the block after it in one op
  // (AddRmsNorm): the first block's norm runs here, the last one's on the gathered logit rows.
  const std::vector<LlamaLayerWeights>& layers = weights_.layers;
  if (!layers.empty()) {
    backend_.RmsNorm(Rows(ws.xn, n), Rows(ws.x, n), layers[0].attn_norm, config_.rms_eps, 0.0f);
  }
  for (size_t layer = 0; layer < layers.size(); ++layer) {
    const Tensor* next_norm = layer + 1 < layers.size() ? &layers[layer + 1].attn_norm : nullptr;
    AttentionBlock(layers[layer], static_cast<int64_t>(layer), step, ws, kv);
    MlpBlock(layers[layer], next_norm, n, ws);
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

  // xn = attn_norm(x), from the block before.
  const MatmulOutput qkv[] = {{q, w.wq, w.bq}, {k, w.wk, w.bk}, {v, w.wv, w.bv}};
  backend_.MatmulShared(qkv, xn);
  const AttentionParams params{.n_heads = config_.n_heads,
                               .scale = 1.0f / std::sqrt(static_cast<float>(hd)),
                               .window = config_.sliding_window};
  Attend(step, kv, layer, q, k, v, {cos, sin, config_.rope_dim, config_.rope_pairing}, params,
         attn);
  backend_.Matmul(xn, attn, w.wo, {});
  backend_.AddRmsNorm(xn, x, xn, w.ffn_norm, config_.rms_eps, 0.0f);
}

void LlamaModel::MlpBlock(const LlamaLayerWeights& w, const Tensor* next_norm, int64_t n,
                          Workspace& ws) {
  const Tensor x = Rows(ws.x, n), xn = Rows(ws.xn, n);
  const Tensor gate = Rows(ws.gate, n), up = Rows(ws.up, n);
  // xn = ffn_norm(x), from the attention block.
  backend_.MatmulGated(gate, xn, w.w_gate, w.w_up, GatedActivation::kSilu, up);
  backend_.Matmul(xn, gate, w.w_down, {});
  if (next_norm == nullptr) return backend_.Add(x, x, xn);
  backend_.AddRmsNorm(xn, x, xn, *next_norm, config_.rms_eps, 0.0f);
}

}  // namespace llmw
