// The Phi-2 forward pass, top to bottom:
//   x = embed(tokens)
//   per layer:  h = LayerNorm(x)
//               x += Wo·attention(rope(Wq h + bq), rope(Wk h + bk), Wv h + bv) + bo
//                    + Wdown·gelu_tanh(Wup h + bup) + bdown
//   logits = Wout · LayerNorm(x) + bout
#include "models/phi/phi2_model.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/ops.h"
#include "models/llama/llama_config.h"

namespace llmw {

Phi2Model::Phi2Model(ModelInfo info, Phi2Config config, Phi2Weights weights,
                     std::unique_ptr<Tokenizer> tokenizer, std::shared_ptr<const void> storage,
                     cpu::ThreadPool& pool, const LoadOptions& options)
    : DecoderModel(std::move(info), std::move(tokenizer), std::move(storage), pool, options),
      config_(config),
      weights_(std::move(weights)) {
  const int64_t n = max_batch_tokens_;
  const int64_t q_width = config_.n_heads * config_.head_dim;
  const int64_t kv_width = config_.n_kv_heads * config_.head_dim;
  ws_.x.resize(n * config_.hidden);
  ws_.xn.resize(n * config_.hidden);
  ws_.q.resize(n * q_width);
  ws_.k.resize(n * kv_width);
  ws_.v.resize(n * kv_width);
  ws_.attn.resize(n * q_width);
  ws_.out.resize(n * config_.hidden);
  ws_.up.resize(n * config_.ffn_hidden);
  ws_.cos.resize(n * config_.rope_dim / 2);
  ws_.sin.resize(n * config_.rope_dim / 2);
  ws_.tokens.resize(n);
  ws_.positions.resize(n);
  ws_.inv_freq = RopeInverseFrequencies(config_.rope_dim, config_.rope_base, {});
  matmul_.Reserve(n, std::max({config_.hidden, config_.ffn_hidden, q_width}));
  for (const Phi2LayerWeights& w : weights_.layers) {
    for (const Tensor* t : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_up, &w.w_down}) matmul_.Prepare(*t);
  }
  matmul_.Prepare(weights_.output);
}

KvCacheShape Phi2Model::kv_shape() const {
  return KvCacheShape{config_.n_layers, config_.n_kv_heads, config_.head_dim};
}

absl::Status Phi2Model::Forward(const ForwardBatch& batch, KvCache& kv, std::span<float> logits) {
  if (absl::Status s = Validate(batch, kv, logits); !s.ok()) return s;
  const int64_t n = batch.num_tokens();
  LayOutBatch(batch, ws_.tokens.data(), ws_.positions.data());
  EmbedTokens(weights_.token_embd, ws_.tokens.data(), n, config_.hidden, ws_.x.data());
  cpu::RopeAngles(ws_.positions.data(), n, ws_.inv_freq.data(), config_.rope_dim / 2,
                  ws_.cos.data(), ws_.sin.data());
  for (int64_t layer = 0; layer < config_.n_layers; ++layer) {
    Layer(weights_.layers[layer], layer, batch, kv);
  }
  const int64_t h = config_.hidden;
  const int64_t rows = GatherLogitRows(batch, ws_.x.data(), h);
  cpu::LayerNorm(ws_.x.data(), weights_.output_norm_w.data(), weights_.output_norm_b.data(), rows,
                 h, config_.norm_eps, ws_.xn.data());
  matmul_(weights_.output, ws_.xn.data(), rows, logits.data());
  cpu::AddRowBias(logits.data(), weights_.output_b.data(), rows, config_.vocab_size);
  return absl::OkStatus();
}

void Phi2Model::Layer(const Phi2LayerWeights& w, int64_t layer, const ForwardBatch& batch,
                      KvCache& kv) {
  const int64_t n = batch.num_tokens();
  const int64_t hd = config_.head_dim;
  const int64_t h = config_.hidden;
  cpu::LayerNorm(ws_.x.data(), w.norm_w.data(), w.norm_b.data(), n, h, config_.norm_eps,
                 ws_.xn.data());

  // Attention branch.
  matmul_({{w.wq, ws_.q.data()}, {w.wk, ws_.k.data()}, {w.wv, ws_.v.data()}}, ws_.xn.data(), n);
  cpu::AddRowBias(ws_.q.data(), w.bq.data(), n, config_.n_heads * hd);
  cpu::AddRowBias(ws_.k.data(), w.bk.data(), n, config_.n_kv_heads * hd);
  cpu::AddRowBias(ws_.v.data(), w.bv.data(), n, config_.n_kv_heads * hd);
  cpu::Rope(ws_.q.data(), n, config_.n_heads, hd, config_.rope_dim, cpu::RopePairing::kRotateHalf,
            ws_.cos.data(), ws_.sin.data());
  cpu::Rope(ws_.k.data(), n, config_.n_kv_heads, hd, config_.rope_dim,
            cpu::RopePairing::kRotateHalf, ws_.cos.data(), ws_.sin.data());
  const cpu::AttentionParams params{config_.n_heads, 1.0f / std::sqrt(static_cast<float>(hd)), 0};
  AttendChunks(batch, ws_.q.data(), ws_.k.data(), ws_.v.data(), kv, layer, params, ws_.attn.data(),
               pool_);
  matmul_(w.wo, ws_.attn.data(), n, ws_.out.data());
  cpu::AddRowBias(ws_.out.data(), w.bo.data(), n, h);
  cpu::AddInPlace(ws_.x.data(), ws_.out.data(), n * h);

  // MLP branch, from the same normed input.
  matmul_(w.w_up, ws_.xn.data(), n, ws_.up.data());
  cpu::AddRowBias(ws_.up.data(), w.b_up.data(), n, config_.ffn_hidden);
  cpu::GeluTanh(ws_.up.data(), n * config_.ffn_hidden);
  matmul_(w.w_down, ws_.up.data(), n, ws_.out.data());
  cpu::AddRowBias(ws_.out.data(), w.b_down.data(), n, h);
  cpu::AddInPlace(ws_.x.data(), ws_.out.data(), n * h);
}

}  // namespace llmw
