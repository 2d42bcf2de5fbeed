// GGUF `gemma3` checkpoints: metadata keys → GemmaConfig, tensor names →
// GemmaWeights. Local layers use RoPE base 10 000 (not stored in the file).
#include "models/quantized/gemma/gguf_gemma.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/gemma/gemma_model.h"
#include "models/gemma/gemma_weights.h"
#include "models/quantized/gguf_model_info.h"
#include "models/weight_table.h"

namespace llmw {
namespace {

constexpr float kLocalRopeBase = 10000.0f;
constexpr int64_t kGlobalEvery = 6;

}  // namespace

absl::StatusOr<GemmaConfig> ReadGgufGemmaConfig(const GgufFile& file) {
  GemmaConfig c;
  ASSIGN_OR_RETURN(c.n_layers, file.GetUint("gemma3.block_count"));
  ASSIGN_OR_RETURN(c.hidden, file.GetUint("gemma3.embedding_length"));
  ASSIGN_OR_RETURN(c.ffn_hidden, file.GetUint("gemma3.feed_forward_length"));
  ASSIGN_OR_RETURN(c.n_heads, file.GetUint("gemma3.attention.head_count"));
  ASSIGN_OR_RETURN(c.n_kv_heads, file.GetUintOr("gemma3.attention.head_count_kv", c.n_heads));
  ASSIGN_OR_RETURN(c.context_length, file.GetUint("gemma3.context_length"));
  ASSIGN_OR_RETURN(c.head_dim, file.GetUintOr("gemma3.attention.key_length",
                                              c.n_heads > 0 ? c.hidden / c.n_heads : 0));
  ASSIGN_OR_RETURN(double eps, file.GetFloat("gemma3.attention.layer_norm_rms_epsilon"));
  c.rms_eps = static_cast<float>(eps);
  ASSIGN_OR_RETURN(double base, file.GetFloatOr("gemma3.rope.freq_base", 1e6));
  c.rope_base_global = static_cast<float>(base);
  c.rope_base_local = kLocalRopeBase;
  ASSIGN_OR_RETURN(double factor, file.GetFloatOr("gemma3.rope.scaling.factor", 1.0));
  c.rope_scale_global = static_cast<float>(factor);
  ASSIGN_OR_RETURN(c.sliding_window, file.GetUintOr("gemma3.attention.sliding_window", 0));
  // Scale 1/√head_dim, as llama.cpp applies for every size but 27B
  // (query_pre_attn_scalar equals head_dim for those).
  c.attention_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  ASSIGN_OR_RETURN(c.vocab_size, GgufVocabSize(file));
  // llama.cpp's rule for gemma3 files: every 6th layer is global.
  c.global_layers = EveryNthLayerGlobal(c.n_layers, kGlobalEvery);
  RETURN_IF_ERROR(CheckGemmaConfig(c, file.path()));
  return c;
}

absl::StatusOr<std::unique_ptr<Model>> LoadGgufGemma(std::shared_ptr<GgufFile> file,
                                                     Backend& backend) {
  ASSIGN_OR_RETURN(GemmaConfig config, ReadGgufGemmaConfig(*file));
  ASSIGN_OR_RETURN(GemmaWeights weights,
                   LoadGemmaWeights(GgufWeightTable(*file), config, GgufGemmaNames()));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                   GgufTokenizerFor(*file, config.vocab_size));
  ModelInfo info = GgufModelInfo(*file, "gemma3", config.context_length, config.vocab_size);
  return DecoderModel::Placed(std::make_unique<GemmaModel>(
      std::move(info), config, std::move(weights), std::move(tokenizer), std::move(file), backend));
}

}  // namespace llmw
