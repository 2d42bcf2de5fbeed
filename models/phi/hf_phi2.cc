// config.json keys → Phi2Config, Hugging Face tensor names → Phi2Weights.
#include "models/phi/hf_phi2.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/phi/phi2_model.h"
#include "models/phi/phi2_weights.h"
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
  RETURN_IF_ERROR(CheckPhi2Config(c, config.source()));
  return c;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadHfPhi2(HfCheckpoint checkpoint, Backend& backend) {
  ASSIGN_OR_RETURN(Phi2Config config, ReadConfig(checkpoint.config));
  ASSIGN_OR_RETURN(Phi2Weights weights, LoadPhi2Weights(SafetensorsWeightTable(*checkpoint.weights),
                                                        config, HfPhi2Names()));
  ASSIGN_OR_RETURN(HfModelParts parts,
                   LoadHfModelParts(checkpoint, config.context_length, config.vocab_size));
  return DecoderModel::Placed(
      std::make_unique<Phi2Model>(std::move(parts.info), config, std::move(weights),
                                  std::move(parts.tokenizer), checkpoint.weights, backend));
}

}  // namespace llmw
