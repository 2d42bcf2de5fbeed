// config.json keys → LlamaConfig, Hugging Face tensor names → LlamaWeights.
// Safetensors keep the Hugging Face Q/K layout, so RoPE rotates halves.
#include "models/llama/hf_llama.h"

#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "kernels/cpu/attention.h"
#include "kernels/status_macros.h"
#include "models/llama/llama_model.h"
#include "models/weight_table.h"

namespace llmw {
namespace {

// Divisors of each RoPE frequency for Llama 3.x scaling: long wavelengths
// are slowed by `factor`, short ones kept, and the band between blended.
absl::StatusOr<std::vector<float>> Llama3RopeFactors(const HfConfig& rope, int64_t rope_dim,
                                                     double base) {
  ASSIGN_OR_RETURN(double factor, rope.FloatOr("factor", 8.0));
  ASSIGN_OR_RETURN(double low, rope.FloatOr("low_freq_factor", 1.0));
  ASSIGN_OR_RETURN(double high, rope.FloatOr("high_freq_factor", 4.0));
  ASSIGN_OR_RETURN(double original, rope.FloatOr("original_max_position_embeddings", 8192));
  if (!(factor > 0) || !(high > low) || !(original > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        rope.source(), ": llama3 scaling needs factor > 0, high_freq_factor > low_freq_factor"));
  }
  std::vector<float> factors(rope_dim / 2);
  for (int64_t i = 0; i < rope_dim / 2; ++i) {
    const double inv_freq = std::pow(base, -2.0 * static_cast<double>(i) / rope_dim);
    const double wavelen = 2 * std::numbers::pi / inv_freq;
    if (wavelen < original / high) {
      factors[i] = 1;
    } else if (wavelen > original / low) {
      factors[i] = static_cast<float>(factor);
    } else {
      const double smooth = (original / wavelen - low) / (high - low);
      factors[i] = static_cast<float>(1 / ((1 - smooth) / factor + smooth));
    }
  }
  return factors;
}

// rope_parameters (transformers 5) or rope_theta + rope_scaling (earlier files).
absl::StatusOr<std::vector<float>> RopeFrequencies(const HfConfig& config, LlamaConfig& c) {
  ASSIGN_OR_RETURN(std::optional<HfConfig> rope, config.ObjectOr("rope_parameters"));
  if (!rope) {
    ASSIGN_OR_RETURN(rope, config.ObjectOr("rope_scaling"));
  }
  ASSIGN_OR_RETURN(double base, config.FloatOr("rope_theta", 10000.0));
  ASSIGN_OR_RETURN(double partial, config.FloatOr("partial_rotary_factor", 1.0));
  std::string type = "default";
  if (rope) {
    ASSIGN_OR_RETURN(base, rope->FloatOr("rope_theta", base));
    ASSIGN_OR_RETURN(partial, rope->FloatOr("partial_rotary_factor", partial));
    ASSIGN_OR_RETURN(type, rope->StringOr("type", type));
    ASSIGN_OR_RETURN(type, rope->StringOr("rope_type", type));
  }
  c.rope_base = static_cast<float>(base);
  c.rope_dim = static_cast<int64_t>(std::lround(static_cast<double>(c.head_dim) * partial));
  if (!(base > 0) || c.rope_dim <= 0 || c.rope_dim > c.head_dim || c.rope_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.source(), ": rope_theta must be positive and the rotary width (",
                     c.rope_dim, ") even and at most head_dim (", c.head_dim, ")"));
  }
  std::vector<float> factors;
  if (type == "llama3") {
    ASSIGN_OR_RETURN(factors, Llama3RopeFactors(*rope, c.rope_dim, base));
  } else if (type == "linear") {
    ASSIGN_OR_RETURN(double factor, rope->FloatOr("factor", 1.0));
    factors.assign(c.rope_dim / 2, static_cast<float>(factor));
  } else if (type != "default") {
    return absl::UnimplementedError(
        absl::StrCat(config.source(), ": RoPE scaling type '", type,
                     "' is not supported (supported: default, linear, llama3)"));
  }
  return RopeInverseFrequencies(c.rope_dim, c.rope_base, factors);
}

absl::StatusOr<LlamaLayerWeights> LoadLayer(const WeightTable& weights, const LlamaConfig& c,
                                            bool fused, int64_t layer) {
  const std::string p = absl::StrCat("model.layers.", layer, ".");
  const int64_t q_width = c.n_heads * c.head_dim;
  const int64_t kv_width = c.n_kv_heads * c.head_dim;
  LlamaLayerWeights w;
  ASSIGN_OR_RETURN(w.attn_norm, weights.Vector(p + "input_layernorm.weight", c.hidden));
  if (fused) {
    ASSIGN_OR_RETURN(Tensor qkv, weights.Matrix(p + "self_attn.qkv_proj.weight",
                                                {q_width + 2 * kv_width, c.hidden}));
    w.wq = qkv.SliceRows(0, q_width);
    w.wk = qkv.SliceRows(q_width, kv_width);
    w.wv = qkv.SliceRows(q_width + kv_width, kv_width);
    ASSIGN_OR_RETURN(Tensor gate_up,
                     weights.Matrix(p + "mlp.gate_up_proj.weight", {2 * c.ffn_hidden, c.hidden}));
    w.w_gate = gate_up.SliceRows(0, c.ffn_hidden);
    w.w_up = gate_up.SliceRows(c.ffn_hidden, c.ffn_hidden);
  } else {
    ASSIGN_OR_RETURN(w.wq, weights.Matrix(p + "self_attn.q_proj.weight", {q_width, c.hidden}));
    ASSIGN_OR_RETURN(w.wk, weights.Matrix(p + "self_attn.k_proj.weight", {kv_width, c.hidden}));
    ASSIGN_OR_RETURN(w.wv, weights.Matrix(p + "self_attn.v_proj.weight", {kv_width, c.hidden}));
    ASSIGN_OR_RETURN(w.w_gate,
                     weights.Matrix(p + "mlp.gate_proj.weight", {c.ffn_hidden, c.hidden}));
    ASSIGN_OR_RETURN(w.w_up, weights.Matrix(p + "mlp.up_proj.weight", {c.ffn_hidden, c.hidden}));
  }
  if (c.qkv_bias) {
    ASSIGN_OR_RETURN(w.bq, weights.Vector(p + "self_attn.q_proj.bias", q_width));
    ASSIGN_OR_RETURN(w.bk, weights.Vector(p + "self_attn.k_proj.bias", kv_width));
    ASSIGN_OR_RETURN(w.bv, weights.Vector(p + "self_attn.v_proj.bias", kv_width));
  }
  ASSIGN_OR_RETURN(w.wo, weights.Matrix(p + "self_attn.o_proj.weight", {c.hidden, q_width}));
  ASSIGN_OR_RETURN(w.ffn_norm, weights.Vector(p + "post_attention_layernorm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.w_down, weights.Matrix(p + "mlp.down_proj.weight", {c.hidden, c.ffn_hidden}));
  return w;
}

absl::StatusOr<LlamaWeights> LoadWeights(const SafetensorsCheckpoint& checkpoint,
                                         const LlamaConfig& c, bool fused, bool tied) {
  const WeightTable weights = SafetensorsWeightTable(checkpoint);
  LlamaWeights w;
  ASSIGN_OR_RETURN(w.token_embd,
                   weights.Matrix("model.embed_tokens.weight", {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_norm, weights.Vector("model.norm.weight", c.hidden));
  if (tied && !weights.Has("lm_head.weight")) {
    w.output = w.token_embd;
  } else {
    ASSIGN_OR_RETURN(w.output, weights.Matrix("lm_head.weight", {c.vocab_size, c.hidden}));
  }
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    ASSIGN_OR_RETURN(LlamaLayerWeights lw, LoadLayer(weights, c, fused, layer));
    w.layers.push_back(std::move(lw));
  }
  return w;
}

}  // namespace

absl::StatusOr<LlamaConfig> ReadHfLlamaConfig(const HfCheckpoint& checkpoint,
                                              std::vector<float>* rope_inv_freq) {
  const HfConfig& config = checkpoint.config;
  LlamaConfig c;
  ASSIGN_OR_RETURN(c.n_layers, config.Int("num_hidden_layers"));
  ASSIGN_OR_RETURN(c.hidden, config.Int("hidden_size"));
  ASSIGN_OR_RETURN(c.ffn_hidden, config.Int("intermediate_size"));
  ASSIGN_OR_RETURN(c.n_heads, config.Int("num_attention_heads"));
  ASSIGN_OR_RETURN(c.n_kv_heads, config.IntOr("num_key_value_heads", c.n_heads));
  ASSIGN_OR_RETURN(c.vocab_size, config.Int("vocab_size"));
  ASSIGN_OR_RETURN(c.context_length, config.Int("max_position_embeddings"));
  ASSIGN_OR_RETURN(c.head_dim, config.IntOr("head_dim", c.n_heads > 0 ? c.hidden / c.n_heads : 0));
  ASSIGN_OR_RETURN(double eps, config.FloatOr("rms_norm_eps", 1e-6));
  c.rms_eps = static_cast<float>(eps);
  // Qwen2 configs carry a sliding_window that only applies with use_sliding_window.
  ASSIGN_OR_RETURN(bool use_window, config.BoolOr("use_sliding_window", true));
  if (use_window) {
    ASSIGN_OR_RETURN(c.sliding_window, config.IntOr("sliding_window", 0));
  }
  c.qkv_bias = checkpoint.model_type == "qwen2";
  if (!c.qkv_bias) {
    ASSIGN_OR_RETURN(c.qkv_bias, config.BoolOr("attention_bias", false));
  }
  c.rope_pairing = cpu::RopePairing::kRotateHalf;
  if (c.n_layers <= 0 || c.hidden <= 0 || c.ffn_hidden <= 0 || c.vocab_size <= 0 ||
      c.context_length <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
      c.n_heads % c.n_kv_heads != 0 || c.head_dim <= 0 || c.head_dim % 2 != 0 ||
      c.head_dim > cpu::kMaxAttentionHeadDim || !(c.rms_eps > 0) || c.sliding_window < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        config.source(), ": inconsistent ", checkpoint.model_type, " hyper-parameters (layers ",
        c.n_layers, ", hidden ", c.hidden, ", intermediate ", c.ffn_hidden, ", heads ", c.n_heads,
        "/", c.n_kv_heads, ", head_dim ", c.head_dim, ", vocab ", c.vocab_size, ")"));
  }
  ASSIGN_OR_RETURN(*rope_inv_freq, RopeFrequencies(config, c));
  return c;
}

absl::StatusOr<std::unique_ptr<Model>> LoadHfLlama(HfCheckpoint checkpoint,
                                                   const LoadOptions& options) {
  std::vector<float> rope_inv_freq;
  ASSIGN_OR_RETURN(LlamaConfig config, ReadHfLlamaConfig(checkpoint, &rope_inv_freq));
  ASSIGN_OR_RETURN(bool tied, checkpoint.config.BoolOr("tie_word_embeddings", false));
  ASSIGN_OR_RETURN(LlamaWeights weights,
                   LoadWeights(*checkpoint.weights, config,
                               /*fused=*/checkpoint.model_type == "phi3", tied));
  weights.rope_inv_freq = std::move(rope_inv_freq);
  ASSIGN_OR_RETURN(ModelInfo info,
                   HfModelInfo(checkpoint, config.context_length, config.vocab_size));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                   HfTokenizerFor(checkpoint, config.vocab_size, info));
  return std::unique_ptr<Model>(new LlamaModel(std::move(info), config, std::move(weights),
                                               std::move(tokenizer), checkpoint.weights,
                                               *options.pool, options));
}

}  // namespace llmw
