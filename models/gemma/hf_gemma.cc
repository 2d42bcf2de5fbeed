// config.json keys → GemmaConfig, Hugging Face tensor names → GemmaWeights.
#include "models/gemma/hf_gemma.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/gemma/gemma_model.h"
#include "models/gemma/gemma_weights.h"
#include "models/weight_table.h"

namespace llmw {
namespace {

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
    c.global_layers = EveryNthLayerGlobal(c.n_layers, pattern);
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
  RETURN_IF_ERROR(ReadRope(config, c));
  RETURN_IF_ERROR(ReadLayerTypes(config, c));
  RETURN_IF_ERROR(CheckGemmaConfig(c, config.source()));
  return c;
}

absl::StatusOr<std::unique_ptr<Model>> LoadHfGemma(HfCheckpoint checkpoint, Backend& backend) {
  ASSIGN_OR_RETURN(GemmaConfig config, ReadHfGemmaConfig(checkpoint));
  ASSIGN_OR_RETURN(
      GemmaWeights weights,
      LoadGemmaWeights(SafetensorsWeightTable(*checkpoint.weights), config, HfGemmaNames()));
  ASSIGN_OR_RETURN(HfModelParts parts,
                   LoadHfModelParts(checkpoint, config.context_length, config.vocab_size));
  return DecoderModel::Placed(
      std::make_unique<GemmaModel>(std::move(parts.info), config, std::move(weights),
                                   std::move(parts.tokenizer), checkpoint.weights, backend));
}

}  // namespace llmw
