// GGUF `phi2` checkpoints: `phi2.*` keys → Phi2Config; QKV fused (attn_qkv)
// or separate, every linear with its bias.
#include "models/quantized/phi/gguf_phi2.h"

#include "absl/strings/str_cat.h"
#include "kernels/cpu/attention.h"
#include "kernels/status_macros.h"
#include "models/phi/phi2_model.h"
#include "models/quantized/gguf_model_info.h"
#include "models/weight_table.h"

namespace llmw {
namespace {

absl::StatusOr<Phi2Config> ReadConfig(const GgufFile& file) {
  Phi2Config c;
  ASSIGN_OR_RETURN(c.n_layers, file.GetUint("phi2.block_count"));
  ASSIGN_OR_RETURN(c.hidden, file.GetUint("phi2.embedding_length"));
  ASSIGN_OR_RETURN(c.ffn_hidden, file.GetUint("phi2.feed_forward_length"));
  ASSIGN_OR_RETURN(c.n_heads, file.GetUint("phi2.attention.head_count"));
  ASSIGN_OR_RETURN(c.n_kv_heads, file.GetUintOr("phi2.attention.head_count_kv", c.n_heads));
  ASSIGN_OR_RETURN(c.context_length, file.GetUint("phi2.context_length"));
  c.head_dim = c.n_heads > 0 ? c.hidden / c.n_heads : 0;
  ASSIGN_OR_RETURN(c.rope_dim, file.GetUintOr("phi2.rope.dimension_count", c.head_dim));
  ASSIGN_OR_RETURN(double base, file.GetFloatOr("phi2.rope.freq_base", 10000.0));
  c.rope_base = static_cast<float>(base);
  ASSIGN_OR_RETURN(double eps, file.GetFloat("phi2.attention.layer_norm_epsilon"));
  c.norm_eps = static_cast<float>(eps);
  ASSIGN_OR_RETURN(c.vocab_size, GgufVocabSize(file));
  if (c.n_layers <= 0 || c.hidden <= 0 || c.ffn_hidden <= 0 || c.context_length <= 0 ||
      c.n_heads <= 0 || c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0 ||
      c.hidden % c.n_heads != 0 || c.head_dim > cpu::kMaxAttentionHeadDim || c.rope_dim <= 0 ||
      c.rope_dim > c.head_dim || c.rope_dim % 2 != 0 || !(c.norm_eps > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        file.path(), ": inconsistent phi2 hyper-parameters (layers ", c.n_layers, ", hidden ",
        c.hidden, ", heads ", c.n_heads, "/", c.n_kv_heads, ", rope_dim ", c.rope_dim, ")"));
  }
  return c;
}

absl::StatusOr<Phi2LayerWeights> LoadLayer(const WeightTable& weights, const Phi2Config& c,
                                           int64_t layer) {
  const std::string p = absl::StrCat("blk.", layer, ".");
  const int64_t q_width = c.n_heads * c.head_dim;
  const int64_t kv_width = c.n_kv_heads * c.head_dim;
  Phi2LayerWeights w;
  ASSIGN_OR_RETURN(w.norm_w, weights.Vector(p + "attn_norm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.norm_b, weights.Vector(p + "attn_norm.bias", c.hidden));
  if (weights.Has(p + "attn_qkv.weight")) {
    const int64_t fused = q_width + 2 * kv_width;
    ASSIGN_OR_RETURN(Tensor qkv, weights.Matrix(p + "attn_qkv.weight", {fused, c.hidden}));
    ASSIGN_OR_RETURN(std::vector<float> bias, weights.Vector(p + "attn_qkv.bias", fused));
    w.wq = qkv.SliceRows(0, q_width);
    w.wk = qkv.SliceRows(q_width, kv_width);
    w.wv = qkv.SliceRows(q_width + kv_width, kv_width);
    w.bq.assign(bias.begin(), bias.begin() + q_width);
    w.bk.assign(bias.begin() + q_width, bias.begin() + q_width + kv_width);
    w.bv.assign(bias.begin() + q_width + kv_width, bias.end());
  } else {
    ASSIGN_OR_RETURN(w.wq, weights.Matrix(p + "attn_q.weight", {q_width, c.hidden}));
    ASSIGN_OR_RETURN(w.wk, weights.Matrix(p + "attn_k.weight", {kv_width, c.hidden}));
    ASSIGN_OR_RETURN(w.wv, weights.Matrix(p + "attn_v.weight", {kv_width, c.hidden}));
    ASSIGN_OR_RETURN(w.bq, weights.Vector(p + "attn_q.bias", q_width));
    ASSIGN_OR_RETURN(w.bk, weights.Vector(p + "attn_k.bias", kv_width));
    ASSIGN_OR_RETURN(w.bv, weights.Vector(p + "attn_v.bias", kv_width));
  }
  ASSIGN_OR_RETURN(w.wo, weights.Matrix(p + "attn_output.weight", {c.hidden, q_width}));
  ASSIGN_OR_RETURN(w.bo, weights.Vector(p + "attn_output.bias", c.hidden));
  ASSIGN_OR_RETURN(w.w_up, weights.Matrix(p + "ffn_up.weight", {c.ffn_hidden, c.hidden}));
  ASSIGN_OR_RETURN(w.b_up, weights.Vector(p + "ffn_up.bias", c.ffn_hidden));
  ASSIGN_OR_RETURN(w.w_down, weights.Matrix(p + "ffn_down.weight", {c.hidden, c.ffn_hidden}));
  ASSIGN_OR_RETURN(w.b_down, weights.Vector(p + "ffn_down.bias", c.hidden));
  return w;
}

absl::StatusOr<Phi2Weights> LoadWeights(const GgufFile& file, const Phi2Config& c) {
  const WeightTable weights = GgufWeightTable(file);
  Phi2Weights w;
  ASSIGN_OR_RETURN(w.token_embd, weights.Matrix("token_embd.weight", {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_norm_w, weights.Vector("output_norm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.output_norm_b, weights.Vector("output_norm.bias", c.hidden));
  ASSIGN_OR_RETURN(w.output, weights.Matrix("output.weight", {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_b, weights.Vector("output.bias", c.vocab_size));
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    ASSIGN_OR_RETURN(Phi2LayerWeights lw, LoadLayer(weights, c, layer));
    w.layers.push_back(std::move(lw));
  }
  return w;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadGgufPhi2(std::shared_ptr<GgufFile> file,
                                                    const LoadOptions& options) {
  ASSIGN_OR_RETURN(Phi2Config config, ReadConfig(*file));
  ASSIGN_OR_RETURN(Phi2Weights weights, LoadWeights(*file, config));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                   GgufTokenizerFor(*file, config.vocab_size));
  ModelInfo info = GgufModelInfo(*file, "phi2", config.context_length, config.vocab_size);
  return std::unique_ptr<Model>(new Phi2Model(std::move(info), config, std::move(weights),
                                              std::move(tokenizer), std::move(file), *options.pool,
                                              options));
}

}  // namespace llmw
