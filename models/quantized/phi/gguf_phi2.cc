// GGUF `phi2` checkpoints: `phi2.*` keys → Phi2Config; QKV fused (attn_qkv)
// or separate, every linear with its bias.
#include "models/quantized/phi/gguf_phi2.h"

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/phi/phi2_model.h"
#include "models/phi/phi2_weights.h"
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
  RETURN_IF_ERROR(CheckPhi2Config(c, file.path()));
  return c;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadGgufPhi2(std::shared_ptr<GgufFile> file,
                                                    Backend& backend) {
  ASSIGN_OR_RETURN(Phi2Config config, ReadConfig(*file));
  ASSIGN_OR_RETURN(Phi2Weights weights,
                   LoadPhi2Weights(GgufWeightTable(*file), config, GgufPhi2Names()));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                   GgufTokenizerFor(*file, config.vocab_size));
  ModelInfo info = GgufModelInfo(*file, "phi2", config.context_length, config.vocab_size);
  return DecoderModel::Placed(std::make_unique<Phi2Model>(
      std::move(info), config, std::move(weights), std::move(tokenizer), std::move(file), backend));
}

}  // namespace llmw
