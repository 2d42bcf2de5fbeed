// config.json keys → GemmaConfig, Hugging Face tensor names → GemmaWeights.
// Safetensors store Gemma's RMSNorm weights as w of (1 + w): the 1 is added here.
#include "models/gemma/hf_gemma.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "kernels/cpu/attention.h"
#include "kernels/status_macros.h"
#include "models/gemma/gemma_model.h"
#include "models/weight_table.h"

namespace llmw {
namespace {

constexpr int64_t kMaxLayers = 1024;

absl::StatusOr<std::vector<float>> Norm(const WeightTable& weights, const std::string& name,
                                        int64_t n) {
  ASSIGN_OR_RETURN(std::vector<float> w, weights.Vector(name, n));
  for (float& v : w) v += 1.0f;
  return w;
}

absl::StatusOr<GemmaLayerWeights> LoadLayer(const WeightTable& weights, const GemmaConfig& c,
                                            int64_t layer) {
  const std::string p = absl::StrCat("model.layers.", layer, ".");
  const int64_t q_width = c.n_heads * c.head_dim;
  const int64_t kv_width = c.n_kv_heads * c.head_dim;
  GemmaLayerWeights w;
  ASSIGN_OR_RETURN(w.attn_norm, Norm(weights, p + "input_layernorm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.wq, weights.Matrix(p + "self_attn.q_proj.weight", {q_width, c.hidden}));
  ASSIGN_OR_RETURN(w.wk, weights.Matrix(p + "self_attn.k_proj.weight", {kv_width, c.hidden}));
  ASSIGN_OR_RETURN(w.wv, weights.Matrix(p + "self_attn.v_proj.weight", {kv_width, c.hidden}));
  ASSIGN_OR_RETURN(w.q_norm, Norm(weights, p + "self_attn.q_norm.weight", c.head_dim));
  ASSIGN_OR_RETURN(w.k_norm, Norm(weights, p + "self_attn.k_norm.weight", c.head_dim));
  ASSIGN_OR_RETURN(w.wo, weights.Matrix(p + "self_attn.o_proj.weight", {c.hidden, q_width}));
  ASSIGN_OR_RETURN(w.post_attention_norm,
                   Norm(weights, p + "post_attention_layernorm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.ffn_norm, Norm(weights, p + "pre_feedforward_layernorm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.w_gate, weights.Matrix(p + "mlp.gate_proj.weight", {c.ffn_hidden, c.hidden}));
  ASSIGN_OR_RETURN(w.w_up, weights.Matrix(p + "mlp.up_proj.weight", {c.ffn_hidden, c.hidden}));
  ASSIGN_OR_RETURN(w.w_down, weights.Matrix(p + "mlp.down_proj.weight", {c.hidden, c.ffn_hidden}));
  ASSIGN_OR_RETURN(w.post_ffw_norm,
                   Norm(weights, p + "post_feedforward_layernorm.weight", c.hidden));
  return w;
}

absl::StatusOr<GemmaWeights> LoadWeights(const SafetensorsCheckpoint& checkpoint,
                                         const GemmaConfig& c) {
  const WeightTable weights = SafetensorsWeightTable(checkpoint);
  GemmaWeights w;
  ASSIGN_OR_RETURN(w.token_embd,
                   weights.Matrix("model.embed_tokens.weight", {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_norm, Norm(weights, "model.norm.weight", c.hidden));
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    ASSIGN_OR_RETURN(GemmaLayerWeights lw, LoadLayer(weights, c, layer));
    w.layers.push_back(std::move(lw));
  }
  return w;
}

// RoPE bases and the global layers' linear scaling: rope_parameters keyed by
// layer type (transformers 5), or rope_theta, rope_local_base_freq and
// rope_scaling (earlier files).
absl::Status ReadRope(const HfConfig& config, GemmaConfig& c) {
  ASSIGN_OR_RETURN(double global_base, config.FloatOr("rope_theta", 1e6));
  ASSIGN_OR_RETURN(double local_base, config.FloatOr("rope_local_base_freq", 10000.0));
  ASSIGN_OR_RETURN(std::optional<HfConfig> global, config.ObjectOr("rope_scaling"));
  ASSIGN_OR_RETURN(std::optional<HfConfig> params, config.ObjectOr("rope_parameters"));
  if (params) {
    ASSIGN_OR_RETURN(std::optional<HfConfig> local, params->ObjectOr("sliding_attention"));
    ASSIGN_OR_RETURN(global, params->ObjectOr("full_attention"));
    if (local) {
      ASSIGN_OR_RETURN(local_base, local->FloatOr("rope_theta", local_base));
    }
    if (global) {
      ASSIGN_OR_RETURN(global_base, global->FloatOr("rope_theta", global_base));
    }
  }
  double factor = 1.0;
  if (global) {
    ASSIGN_OR_RETURN(std::string type, global->StringOr("rope_type", "default"));
    if (type == "linear") {
      ASSIGN_OR_RETURN(factor, global->FloatOr("factor", 1.0));
    } else if (type != "default") {
      return absl::UnimplementedError(absl::StrCat(global->source(), ": RoPE scaling type '", type,
                                                   "' is not supported for gemma3"));
    }
  }
  c.rope_base_global = static_cast<float>(global_base);
  c.rope_base_local = static_cast<float>(local_base);
  c.rope_scale_global = static_cast<float>(factor);
  return absl::OkStatus();
}

// layer_types, or every sliding_window_pattern-th layer global (earlier files).
absl::Status ReadLayerTypes(const HfConfig& config, GemmaConfig& c) {
  ASSIGN_OR_RETURN(std::vector<std::string> types, config.StringListOr("layer_types"));
  if (types.empty()) {
    ASSIGN_OR_RETURN(int64_t pattern, config.IntOr("sliding_window_pattern", 6));
    if (pattern <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(config.source(), ": sliding_window_pattern must be positive"));
    }
    for (int64_t layer = 0; layer < c.n_layers; ++layer) {
      c.global_layers.push_back((layer + 1) % pattern == 0);
    }
    return absl::OkStatus();
  }
  if (static_cast<int64_t>(types.size()) != c.n_layers) {
    return absl::InvalidArgumentError(absl::StrCat(config.source(), ": layer_types lists ",
                                                   types.size(), " layers, expected ", c.n_layers));
  }
  for (const std::string& type : types) {
    if (type != "sliding_attention" && type != "full_attention") {
      return absl::InvalidArgumentError(
          absl::StrCat(config.source(), ": unknown layer type '", type, "'"));
    }
    c.global_layers.push_back(type == "full_attention");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GemmaConfig> ReadHfGemmaConfig(const HfCheckpoint& checkpoint) {
  const HfConfig& config = checkpoint.config;
  GemmaConfig c;
  ASSIGN_OR_RETURN(c.n_layers, config.Int("num_hidden_layers"));
  ASSIGN_OR_RETURN(c.hidden, config.Int("hidden_size"));
  ASSIGN_OR_RETURN(c.ffn_hidden, config.Int("intermediate_size"));
  ASSIGN_OR_RETURN(c.n_heads, config.Int("num_attention_heads"));
  ASSIGN_OR_RETURN(c.n_kv_heads, config.IntOr("num_key_value_heads", c.n_heads));
  ASSIGN_OR_RETURN(c.head_dim, config.IntOr("head_dim", 256));
  ASSIGN_OR_RETURN(c.vocab_size, config.Int("vocab_size"));
  ASSIGN_OR_RETURN(c.context_length, config.Int("max_position_embeddings"));
  ASSIGN_OR_RETURN(c.sliding_window, config.IntOr("sliding_window", 0));
  ASSIGN_OR_RETURN(double eps, config.FloatOr("rms_norm_eps", 1e-6));
  c.rms_eps = static_cast<float>(eps);
  ASSIGN_OR_RETURN(double scalar, config.FloatOr("query_pre_attn_scalar", c.head_dim));
  c.attention_scale = static_cast<float>(1.0 / std::sqrt(scalar));
  for (const char* key : {"final_logit_softcapping", "attn_logit_softcapping"}) {
    if (config.Has(key)) {
      return absl::UnimplementedError(
          absl::StrCat(config.source(), ": '", key, "' is not supported"));
    }
  }
  ASSIGN_OR_RETURN(std::string activation,
                   config.StringOr("hidden_activation", "gelu_pytorch_tanh"));
  if (activation != "gelu_pytorch_tanh") {
    return absl::UnimplementedError(
        absl::StrCat(config.source(), ": hidden_activation '", activation, "' is not supported"));
  }
  if (c.n_layers <= 0 || c.n_layers > kMaxLayers || c.hidden <= 0 || c.ffn_hidden <= 0 ||
      c.vocab_size <= 0 || c.context_length <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
      c.n_heads % c.n_kv_heads != 0 || c.head_dim <= 0 || c.head_dim % 2 != 0 ||
      c.head_dim > cpu::kMaxAttentionHeadDim || !(c.rms_eps > 0) || !(scalar > 0) ||
      c.sliding_window < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        config.source(), ": inconsistent gemma3 hyper-parameters (layers ", c.n_layers, ", hidden ",
        c.hidden, ", heads ", c.n_heads, "/", c.n_kv_heads, ", head_dim ", c.head_dim, ")"));
  }
  RETURN_IF_ERROR(ReadRope(config, c));
  if (!(c.rope_base_global > 0) || !(c.rope_base_local > 0) || !(c.rope_scale_global > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.source(), ": RoPE bases and scaling factor must be positive"));
  }
  RETURN_IF_ERROR(ReadLayerTypes(config, c));
  return c;
}

absl::StatusOr<std::unique_ptr<Model>> LoadHfGemma(HfCheckpoint checkpoint,
                                                   const LoadOptions& options) {
  ASSIGN_OR_RETURN(GemmaConfig config, ReadHfGemmaConfig(checkpoint));
  ASSIGN_OR_RETURN(GemmaWeights weights, LoadWeights(*checkpoint.weights, config));
  ASSIGN_OR_RETURN(ModelInfo info,
                   HfModelInfo(checkpoint, config.context_length, config.vocab_size));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                   HfTokenizerFor(checkpoint, config.vocab_size, info));
  return std::unique_ptr<Model>(new GemmaModel(std::move(info), config, std::move(weights),
                                               std::move(tokenizer), checkpoint.weights,
                                               *options.pool, options));
}

}  // namespace llmw
