// config.json keys → Phi2Config, Hugging Face tensor names → Phi2Weights.
#include "models/phi/hf_phi2.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "kernels/cpu/attention.h"
#include "kernels/status_macros.h"
#include "models/phi/phi2_model.h"
#include "models/weight_table.h"

namespace llmw {
namespace {

absl::StatusOr<Phi2Config> ReadConfig(const HfConfig& config) {
  Phi2Config c;
  ASSIGN_OR_RETURN(c.n_layers, config.Int("num_hidden_layers"));
  ASSIGN_OR_RETURN(c.hidden, config.Int("hidden_size"));
  ASSIGN_OR_RETURN(c.ffn_hidden, config.Int("intermediate_size"));
  ASSIGN_OR_RETURN(c.n_heads, config.Int("num_attention_heads"));
  ASSIGN_OR_RETURN(c.n_kv_heads, config.IntOr("num_key_value_heads", c.n_heads));
  ASSIGN_OR_RETURN(c.vocab_size, config.Int("vocab_size"));
  ASSIGN_OR_RETURN(c.context_length, config.Int("max_position_embeddings"));
  ASSIGN_OR_RETURN(double eps, config.FloatOr("layer_norm_eps", 1e-5));
  c.norm_eps = static_cast<float>(eps);
  c.head_dim = c.n_heads > 0 ? c.hidden / c.n_heads : 0;
  // rope_parameters (transformers 5) or top-level keys (earlier files).
  ASSIGN_OR_RETURN(double base, config.FloatOr("rope_theta", 10000.0));
  ASSIGN_OR_RETURN(double partial, config.FloatOr("partial_rotary_factor", 0.5));
  ASSIGN_OR_RETURN(std::optional<HfConfig> rope, config.ObjectOr("rope_parameters"));
  if (rope) {
    ASSIGN_OR_RETURN(base, rope->FloatOr("rope_theta", base));
    ASSIGN_OR_RETURN(partial, rope->FloatOr("partial_rotary_factor", partial));
    ASSIGN_OR_RETURN(std::string type, rope->StringOr("rope_type", "default"));
    if (type != "default") {
      return absl::UnimplementedError(absl::StrCat(rope->source(), ": RoPE scaling type '", type,
                                                   "' is not supported for phi"));
    }
  }
  c.rope_base = static_cast<float>(base);
  c.rope_dim = static_cast<int64_t>(std::lround(static_cast<double>(c.head_dim) * partial));
  ASSIGN_OR_RETURN(bool qk_norm, config.BoolOr("qk_layernorm", false));
  if (qk_norm) {
    return absl::UnimplementedError(
        absl::StrCat(config.source(), ": qk_layernorm is not supported"));
  }
  if (c.n_layers <= 0 || c.hidden <= 0 || c.ffn_hidden <= 0 || c.vocab_size <= 0 ||
      c.context_length <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
      c.n_heads % c.n_kv_heads != 0 || c.hidden % c.n_heads != 0 ||
      c.head_dim > cpu::kMaxAttentionHeadDim || c.rope_dim <= 0 || c.rope_dim > c.head_dim ||
      c.rope_dim % 2 != 0 || !(c.norm_eps > 0) || !(base > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        config.source(), ": inconsistent phi hyper-parameters (layers ", c.n_layers, ", hidden ",
        c.hidden, ", heads ", c.n_heads, "/", c.n_kv_heads, ", rotary width ", c.rope_dim, ")"));
  }
  return c;
}

absl::StatusOr<Phi2LayerWeights> LoadLayer(const WeightTable& weights, const Phi2Config& c,
                                           int64_t layer) {
  const std::string p = absl::StrCat("model.layers.", layer, ".");
  const int64_t q_width = c.n_heads * c.head_dim;
  const int64_t kv_width = c.n_kv_heads * c.head_dim;
  Phi2LayerWeights w;
  ASSIGN_OR_RETURN(w.norm_w, weights.Vector(p + "input_layernorm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.norm_b, weights.Vector(p + "input_layernorm.bias", c.hidden));
  ASSIGN_OR_RETURN(w.wq, weights.Matrix(p + "self_attn.q_proj.weight", {q_width, c.hidden}));
  ASSIGN_OR_RETURN(w.wk, weights.Matrix(p + "self_attn.k_proj.weight", {kv_width, c.hidden}));
  ASSIGN_OR_RETURN(w.wv, weights.Matrix(p + "self_attn.v_proj.weight", {kv_width, c.hidden}));
  ASSIGN_OR_RETURN(w.bq, weights.Vector(p + "self_attn.q_proj.bias", q_width));
  ASSIGN_OR_RETURN(w.bk, weights.Vector(p + "self_attn.k_proj.bias", kv_width));
  ASSIGN_OR_RETURN(w.bv, weights.Vector(p + "self_attn.v_proj.bias", kv_width));
  ASSIGN_OR_RETURN(w.wo, weights.Matrix(p + "self_attn.dense.weight", {c.hidden, q_width}));
  ASSIGN_OR_RETURN(w.bo, weights.Vector(p + "self_attn.dense.bias", c.hidden));
  ASSIGN_OR_RETURN(w.w_up, weights.Matrix(p + "mlp.fc1.weight", {c.ffn_hidden, c.hidden}));
  ASSIGN_OR_RETURN(w.b_up, weights.Vector(p + "mlp.fc1.bias", c.ffn_hidden));
  ASSIGN_OR_RETURN(w.w_down, weights.Matrix(p + "mlp.fc2.weight", {c.hidden, c.ffn_hidden}));
  ASSIGN_OR_RETURN(w.b_down, weights.Vector(p + "mlp.fc2.bias", c.hidden));
  return w;
}

absl::StatusOr<Phi2Weights> LoadWeights(const SafetensorsCheckpoint& checkpoint,
                                        const Phi2Config& c) {
  const WeightTable weights = SafetensorsWeightTable(checkpoint);
  Phi2Weights w;
  ASSIGN_OR_RETURN(w.token_embd,
                   weights.Matrix("model.embed_tokens.weight", {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_norm_w, weights.Vector("model.final_layernorm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.output_norm_b, weights.Vector("model.final_layernorm.bias", c.hidden));
  ASSIGN_OR_RETURN(w.output, weights.Matrix("lm_head.weight", {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_b, weights.Vector("lm_head.bias", c.vocab_size));
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    ASSIGN_OR_RETURN(Phi2LayerWeights lw, LoadLayer(weights, c, layer));
    w.layers.push_back(std::move(lw));
  }
  return w;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadHfPhi2(HfCheckpoint checkpoint,
                                                  const LoadOptions& options) {
  ASSIGN_OR_RETURN(Phi2Config config, ReadConfig(checkpoint.config));
  ASSIGN_OR_RETURN(Phi2Weights weights, LoadWeights(*checkpoint.weights, config));
  ASSIGN_OR_RETURN(ModelInfo info,
                   HfModelInfo(checkpoint, config.context_length, config.vocab_size));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                   HfTokenizerFor(checkpoint, config.vocab_size, info));
  return std::unique_ptr<Model>(new Phi2Model(std::move(info), config, std::move(weights),
                                              std::move(tokenizer), checkpoint.weights,
                                              *options.pool, options));
}

}  // namespace llmw
