// The Gemma 3 forward pass, top to bottom:
//   x = embed(tokens) · √hidden
//   per layer:  a = Wo · attention(rope(qn(Wq·n(x))), rope(kn(Wk·n(x))), Wv·n(x))
//               x += post_attention_norm(a)
//               x += post_ffw_norm(Wdown · (gelu_tanh(Wgate·n(x)) * (Wup·n(x))))
//   logits = Wembᵀ · n(x)
// n = RMSNorm with the layer's weight; qn/kn = RMSNorm over each head.
// Local (sliding-window) layers rotate with their own RoPE base.
#include "models/gemma/gemma_model.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/ops.h"
#include "models/llama/llama_config.h"

namespace llmw {

GemmaModel::GemmaModel(ModelInfo info, GemmaConfig config, GemmaWeights weights,
                       std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> storage,
                       cpu::ThreadPool& pool, const LoadOptions& options)
    : DecoderModel(std::move(info), std::move(tokenizer), std::move(storage), pool, options),
      config_(config),
      weights_(std::move(weights)) {
  const int64_t n = max_batch_tokens_;
  const int64_t q_width = config_.n_heads * config_.head_dim;
  const int64_t kv_width = config_.n_kv_heads * config_.head_dim;
  const int64_t half = config_.head_dim / 2;
  ws_.x.resize(n * config_.hidden);
  ws_.xn.resize(n * std::max(config_.hidden, q_width));
  ws_.q.resize(n * q_width);
  ws_.k.resize(n * kv_width);
  ws_.v.resize(n * kv_width);
  ws_.attn.resize(n * q_width);
  ws_.gate.resize(n * config_.ffn_hidden);
  ws_.up.resize(n * config_.ffn_hidden);
  for (auto* table : {&ws_.cos_local, &ws_.sin_local, &ws_.cos_global, &ws_.sin_global}) {
    table->resize(n * half);
  }
  ws_.tokens.resize(n);
  ws_.positions.resize(n);
  ws_.inv_freq_local = RopeInverseFrequencies(config_.head_dim, config_.rope_base_local, {});
  ws_.inv_freq_global = RopeInverseFrequencies(config_.head_dim, config_.rope_base_global, {});
  for (float& f : ws_.inv_freq_global) f /= config_.rope_scale_global;
  matmul_.Reserve(n, std::max({config_.hidden, config_.ffn_hidden, q_width}));
  for (const GemmaLayerWeights& w : weights_.layers) {
    for (const Tensor* t : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down}) {
      matmul_.Prepare(*t);
    }
  }
  matmul_.Prepare(weights_.token_embd);
}

KvCacheShape GemmaModel::kv_shape() const {
  return KvCacheShape{config_.n_layers, config_.n_kv_heads, config_.head_dim};
}

absl::Status GemmaModel::Forward(const ForwardBatch& batch, KvCache& kv, std::span<float> logits) {
  if (absl::Status s = Validate(batch, kv, logits); !s.ok()) return s;
  const int64_t n = batch.num_tokens();
  LayOutBatch(batch, ws_.tokens.data(), ws_.positions.data());
  EmbedTokens(weights_.token_embd, ws_.tokens.data(), n, config_.hidden, ws_.x.data());
  cpu::Scale(ws_.x.data(), std::sqrt(static_cast<float>(config_.hidden)), n * config_.hidden);
  const int64_t half = config_.head_dim / 2;
  cpu::RopeAngles(ws_.positions.data(), n, ws_.inv_freq_local.data(), half, ws_.cos_local.data(),
                  ws_.sin_local.data());
  cpu::RopeAngles(ws_.positions.data(), n, ws_.inv_freq_global.data(), half, ws_.cos_global.data(),
                  ws_.sin_global.data());
  for (int64_t layer = 0; layer < config_.n_layers; ++layer) {
    const GemmaLayerWeights& w = weights_.layers[layer];
    AttentionBlock(w, layer, batch, kv);
    MlpBlock(w, n);
  }
  Logits(batch, logits);
  return absl::OkStatus();
}

void GemmaModel::AttentionBlock(const GemmaLayerWeights& w, int64_t layer,
                                const ForwardBatch& batch, KvCache& kv) {
  const int64_t n = batch.num_tokens();
  const int64_t hd = config_.head_dim;
  const bool global = config_.IsGlobal(layer);

  cpu::RmsNorm(ws_.x.data(), w.attn_norm.data(), n, config_.hidden, config_.rms_eps, ws_.xn.data());
  matmul_({{w.wq, ws_.q.data()}, {w.wk, ws_.k.data()}, {w.wv, ws_.v.data()}}, ws_.xn.data(), n);
  cpu::RmsNorm(ws_.q.data(), w.q_norm.data(), n * config_.n_heads, hd, config_.rms_eps,
               ws_.q.data());
  cpu::RmsNorm(ws_.k.data(), w.k_norm.data(), n * config_.n_kv_heads, hd, config_.rms_eps,
               ws_.k.data());
  const float* cos = global ? ws_.cos_global.data() : ws_.cos_local.data();
  const float* sin = global ? ws_.sin_global.data() : ws_.sin_local.data();
  cpu::Rope(ws_.q.data(), n, config_.n_heads, hd, hd, cpu::RopePairing::kRotateHalf, cos, sin);
  cpu::Rope(ws_.k.data(), n, config_.n_kv_heads, hd, hd, cpu::RopePairing::kRotateHalf, cos, sin);

  const cpu::AttentionParams params{config_.n_heads, config_.attention_scale,
                                    global ? 0 : config_.sliding_window};
  AttendChunks(batch, ws_.q.data(), ws_.k.data(), ws_.v.data(), kv, layer, params, ws_.attn.data(),
               pool_);
  matmul_(w.wo, ws_.attn.data(), n, ws_.xn.data());
  cpu::RmsNorm(ws_.xn.data(), w.post_attention_norm.data(), n, config_.hidden, config_.rms_eps,
               ws_.xn.data());
  cpu::AddInPlace(ws_.x.data(), ws_.xn.data(), n * config_.hidden);
}

void GemmaModel::MlpBlock(const GemmaLayerWeights& w, int64_t n) {
  cpu::RmsNorm(ws_.x.data(), w.ffn_norm.data(), n, config_.hidden, config_.rms_eps, ws_.xn.data());
  matmul_({{w.w_gate, ws_.gate.data()}, {w.w_up, ws_.up.data()}}, ws_.xn.data(), n);
  cpu::GeluTanhMul(ws_.gate.data(), ws_.up.data(), n * config_.ffn_hidden);
  matmul_(w.w_down, ws_.gate.data(), n, ws_.xn.data());
  cpu::RmsNorm(ws_.xn.data(), w.post_ffw_norm.data(), n, config_.hidden, config_.rms_eps,
               ws_.xn.data());
  cpu::AddInPlace(ws_.x.data(), ws_.xn.data(), n * config_.hidden);
}

void GemmaModel::Logits(const ForwardBatch& batch, std::span<float> logits) {
  const int64_t h = config_.hidden;
  const int64_t rows = GatherLogitRows(batch, ws_.x.data(), h);
  cpu::RmsNorm(ws_.x.data(), weights_.output_norm.data(), rows, h, config_.rms_eps, ws_.xn.data());
  matmul_(weights_.token_embd, ws_.xn.data(), rows, logits.data());
}

}  // namespace llmw
