// config.json keys → LlamaConfig, Hugging Face tensor names → LlamaWeights.
// Safetensors keep the Hugging Face Q/K layout, so RoPE rotates halves.
#include "models/llama/hf_llama.h"

#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/llama/llama_model.h"
#include "models/llama/llama_weights.h"
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

// The RoPE settings: rope_parameters (transformers 5) or rope_theta +
// rope_scaling (earlier files). Sets c.rope_base and c.rope_dim and returns
// the scaling object (nullopt when there is none).
absl::StatusOr<std::optional<HfConfig>> ReadRope(const HfConfig& config, LlamaConfig& c,
                                                 std::string& type) {
  ASSIGN_OR_RETURN(std::optional<HfConfig> rope, config.ObjectOr("rope_parameters"));
  if (!rope) {
    ASSIGN_OR_RETURN(rope, config.ObjectOr("rope_scaling"));
  }
  ASSIGN_OR_RETURN(double base, config.FloatOr("rope_theta", 10000.0));
  ASSIGN_OR_RETURN(double partial, config.FloatOr("partial_rotary_factor", 1.0));
  type = "default";
  if (rope) {
    ASSIGN_OR_RETURN(base, rope->FloatOr("rope_theta", base));
    ASSIGN_OR_RETURN(partial, rope->FloatOr("partial_rotary_factor", partial));
    ASSIGN_OR_RETURN(type, rope->StringOr("type", type));
    ASSIGN_OR_RETURN(type, rope->StringOr("rope_type", type));
  }
  if (type != "default" && type != "linear" && type != "llama3") {
    return absl::UnimplementedError(
        absl::StrCat(config.source(), ": RoPE scaling type '", type,
                     "' is not supported (supported: default, linear, llama3)"));
  }
  c.rope_base = static_cast<float>(base);
  c.rope_dim = static_cast<int64_t>(std::lround(static_cast<double>(c.head_dim) * partial));
  return rope;
}

// Inverse frequencies after the scaling of `type`; `c` is checked.
absl::StatusOr<std::vector<float>> RopeFrequencies(const std::optional<HfConfig>& rope,
                                                   const std::string& type, const LlamaConfig& c) {
  std::vector<float> factors;
  if (type == "llama3") {
    ASSIGN_OR_RETURN(factors, Llama3RopeFactors(*rope, c.rope_dim, c.rope_base));
  } else if (type == "linear") {
    ASSIGN_OR_RETURN(double factor, rope->FloatOr("factor", 1.0));
    if (!(factor > 0)) {
      return absl::InvalidArgumentError(absl::StrCat(rope->source(), ": factor must be positive"));
    }
    factors.assign(c.rope_dim / 2, static_cast<float>(factor));
  }
  return RopeInverseFrequencies(c.rope_dim, c.rope_base, factors);
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
  c.rope_pairing = RopePairing::kRotateHalf;
  std::string rope_type;
  ASSIGN_OR_RETURN(std::optional<HfConfig> rope, ReadRope(config, c, rope_type));
  RETURN_IF_ERROR(CheckLlamaConfig(c, config.source()));
  ASSIGN_OR_RETURN(*rope_inv_freq, RopeFrequencies(rope, rope_type, c));
  return c;
}

absl::StatusOr<std::unique_ptr<Model>> LoadHfLlama(HfCheckpoint checkpoint, Backend& backend) {
  std::vector<float> rope_inv_freq;
  ASSIGN_OR_RETURN(LlamaConfig config, ReadHfLlamaConfig(checkpoint, &rope_inv_freq));
  ASSIGN_OR_RETURN(bool tied, checkpoint.config.BoolOr("tie_word_embeddings", false));
  ASSIGN_OR_RETURN(LlamaWeights weights,
                   LoadLlamaWeights(SafetensorsWeightTable(*checkpoint.weights), config,
                                    HfLlamaNames(), /*fused=*/checkpoint.model_type == "phi3",
                                    /*require_output=*/!tied));
  weights.rope_inv_freq = weights.host.AddF32(rope_inv_freq);
  ASSIGN_OR_RETURN(HfModelParts parts,
                   LoadHfModelParts(checkpoint, config.context_length, config.vocab_size));
  return DecoderModel::Placed(
      std::make_unique<LlamaModel>(std::move(parts.info), config, std::move(weights),
                                   std::move(parts.tokenizer), checkpoint.weights, backend));
}

}  // namespace llmw
