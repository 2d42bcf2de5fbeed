// The llama forward pass, top to bottom:
//   x = embed(tokens)
//   per layer:  x += Wo · attention(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x))   n = RMSNorm
//               x += Wdown · (silu(Wgate·n(x)) * (Wup·n(x)))
//   logits = Woutput · n(x)
// Activations are [tokens, width] row-major; one row per token of the batch.
#include "models/llama/llama_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "kernels/block_formats.h"
#include "kernels/cpu/attention.h"

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

LlamaModel::LlamaModel(ModelInfo info, LlamaConfig config, LlamaWeights weights,
                       std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> storage,
                       cpu::ThreadPool& pool, const LoadOptions& options)
    : DecoderModel(std::move(info), std::move(tokenizer), std::move(storage), pool, options),
      config_(config),
      weights_(std::move(weights)) {
  const int64_t n = max_batch_tokens_;
  const int64_t q_width = config_.n_heads * config_.head_dim;
  const int64_t kv_width = config_.n_kv_heads * config_.head_dim;
  ws_.x.resize(n * config_.hidden);
  ws_.xn.resize(n * std::max(config_.hidden, q_width));
  ws_.q.resize(n * q_width);
  ws_.k.resize(n * kv_width);
  ws_.v.resize(n * kv_width);
  ws_.attn.resize(n * q_width);
  ws_.gate.resize(n * config_.ffn_hidden);
  ws_.up.resize(n * config_.ffn_hidden);
  ws_.cos.resize(n * config_.rope_dim / 2);
  ws_.sin.resize(n * config_.rope_dim / 2);
  ws_.tokens.resize(n);
  ws_.positions.resize(n);
  matmul_.Reserve(n, std::max({config_.hidden, config_.ffn_hidden, q_width}));
  for (const LlamaLayerWeights& w : weights_.layers) {
    for (const Tensor* t : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down}) {
      matmul_.Prepare(*t);
    }
  }
  matmul_.Prepare(weights_.output);
}

KvCacheShape LlamaModel::kv_shape() const {
  return KvCacheShape{config_.n_layers, config_.n_kv_heads, config_.head_dim};
}

absl::Status LlamaModel::Forward(const ForwardBatch& batch, KvCache& kv, std::span<float> logits) {
  if (absl::Status s = Validate(batch, kv, logits); !s.ok()) return s;
  const int64_t n_tokens = batch.num_tokens();
  LayOutBatch(batch, ws_.tokens.data(), ws_.positions.data());
  EmbedTokens(weights_.token_embd, ws_.tokens.data(), n_tokens, config_.hidden, ws_.x.data());
  cpu::RopeAngles(ws_.positions.data(), n_tokens, weights_.rope_inv_freq.data(),
                  config_.rope_dim / 2, ws_.cos.data(), ws_.sin.data());
  for (int64_t layer = 0; layer < config_.n_layers; ++layer) {
    const LlamaLayerWeights& w = weights_.layers[layer];
    AttentionBlock(w, layer, batch, kv);
    MlpBlock(w, n_tokens);
  }
  Logits(batch, logits);
  return absl::OkStatus();
}

void LlamaModel::AttentionBlock(const LlamaLayerWeights& w, int64_t layer,
                                const ForwardBatch& batch, KvCache& kv) {
  const int64_t n = batch.num_tokens();
  const int64_t hd = config_.head_dim;

  cpu::RmsNorm(ws_.x.data(), w.attn_norm.data(), n, config_.hidden, config_.rms_eps, ws_.xn.data());
  matmul_({{w.wq, ws_.q.data()}, {w.wk, ws_.k.data()}, {w.wv, ws_.v.data()}}, ws_.xn.data(), n);
  if (config_.qkv_bias) {
    cpu::AddRowBias(ws_.q.data(), w.bq.data(), n, config_.n_heads * hd);
    cpu::AddRowBias(ws_.k.data(), w.bk.data(), n, config_.n_kv_heads * hd);
    cpu::AddRowBias(ws_.v.data(), w.bv.data(), n, config_.n_kv_heads * hd);
  }
  cpu::Rope(ws_.q.data(), n, config_.n_heads, hd, config_.rope_dim, config_.rope_pairing,
            ws_.cos.data(), ws_.sin.data());
  cpu::Rope(ws_.k.data(), n, config_.n_kv_heads, hd, config_.rope_dim, config_.rope_pairing,
            ws_.cos.data(), ws_.sin.data());

  const cpu::AttentionParams params{config_.n_heads, 1.0f / std::sqrt(static_cast<float>(hd)),
                                    config_.sliding_window};
  AttendChunks(batch, ws_.q.data(), ws_.k.data(), ws_.v.data(), kv, layer, params, ws_.attn.data(),
               pool_);
  matmul_(w.wo, ws_.attn.data(), n, ws_.xn.data());
  cpu::AddInPlace(ws_.x.data(), ws_.xn.data(), n * config_.hidden);
}

void LlamaModel::MlpBlock(const LlamaLayerWeights& w, int64_t n) {
  cpu::RmsNorm(ws_.x.data(), w.ffn_norm.data(), n, config_.hidden, config_.rms_eps, ws_.xn.data());
  matmul_({{w.w_gate, ws_.gate.data()}, {w.w_up, ws_.up.data()}}, ws_.xn.data(), n);
  cpu::SiluMul(ws_.gate.data(), ws_.up.data(), n * config_.ffn_hidden);
  matmul_(w.w_down, ws_.gate.data(), n, ws_.xn.data());
  cpu::AddInPlace(ws_.x.data(), ws_.xn.data(), n * config_.hidden);
}

void LlamaModel::Logits(const ForwardBatch& batch, std::span<float> logits) {
  // Norm and project only the rows that need logits.
  const int64_t h = config_.hidden;
  const int64_t rows = GatherLogitRows(batch, ws_.x.data(), h);
  cpu::RmsNorm(ws_.x.data(), weights_.output_norm.data(), rows, h, config_.rms_eps, ws_.xn.data());
  matmul_(weights_.output, ws_.xn.data(), rows, logits.data());
}

}  // namespace llmw
