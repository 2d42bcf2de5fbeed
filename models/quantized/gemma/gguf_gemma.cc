// GGUF `gemma3` checkpoints: metadata keys → GemmaConfig, tensor names →
// GemmaWeights. Local layers use RoPE base 10 000 (not stored in the file).
#include "models/quantized/gemma/gguf_gemma.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "kernels/cpu/attention.h"
#include "kernels/status_macros.h"
#include "models/gemma/gemma_model.h"
#include "models/quantized/gguf_model_info.h"
#include "models/weight_table.h"

namespace llmw {
namespace {

constexpr float kLocalRopeBase = 10000.0f;
constexpr int64_t kGlobalEvery = 6;
constexpr int64_t kMaxLayers = 1024;

absl::StatusOr<GemmaLayerWeights> LoadLayer(const WeightTable& weights, const GemmaConfig& c,
                                            int64_t layer) {
  const std::string p = absl::StrCat("blk.", layer, ".");
  const int64_t q_width = c.n_heads * c.head_dim;
  const int64_t kv_width = c.n_kv_heads * c.head_dim;
  GemmaLayerWeights w;
  ASSIGN_OR_RETURN(w.attn_norm, weights.Vector(p + "attn_norm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.wq, weights.Matrix(p + "attn_q.weight", {q_width, c.hidden}));
  ASSIGN_OR_RETURN(w.wk, weights.Matrix(p + "attn_k.weight", {kv_width, c.hidden}));
  ASSIGN_OR_RETURN(w.wv, weights.Matrix(p + "attn_v.weight", {kv_width, c.hidden}));
  ASSIGN_OR_RETURN(w.q_norm, weights.Vector(p + "attn_q_norm.weight", c.head_dim));
  ASSIGN_OR_RETURN(w.k_norm, weights.Vector(p + "attn_k_norm.weight", c.head_dim));
  ASSIGN_OR_RETURN(w.wo, weights.Matrix(p + "attn_output.weight", {c.hidden, q_width}));
  ASSIGN_OR_RETURN(w.post_attention_norm,
                   weights.Vector(p + "post_attention_norm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.ffn_norm, weights.Vector(p + "ffn_norm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.w_gate, weights.Matrix(p + "ffn_gate.weight", {c.ffn_hidden, c.hidden}));
  ASSIGN_OR_RETURN(w.w_up, weights.Matrix(p + "ffn_up.weight", {c.ffn_hidden, c.hidden}));
  ASSIGN_OR_RETURN(w.w_down, weights.Matrix(p + "ffn_down.weight", {c.hidden, c.ffn_hidden}));
  ASSIGN_OR_RETURN(w.post_ffw_norm, weights.Vector(p + "post_ffw_norm.weight", c.hidden));
  return w;
}

absl::StatusOr<GemmaWeights> LoadWeights(const GgufFile& file, const GemmaConfig& c) {
  const WeightTable weights = GgufWeightTable(file);
  GemmaWeights w;
  ASSIGN_OR_RETURN(w.token_embd, weights.Matrix("token_embd.weight", {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_norm, weights.Vector("output_norm.weight", c.hidden));
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    ASSIGN_OR_RETURN(GemmaLayerWeights lw, LoadLayer(weights, c, layer));
    w.layers.push_back(std::move(lw));
  }
  return w;
}

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
  if (c.n_layers <= 0 || c.hidden <= 0 || c.ffn_hidden <= 0 || c.context_length <= 0 ||
      c.n_heads <= 0 || c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0 || c.head_dim <= 0 ||
      c.head_dim % 2 != 0 || c.head_dim > cpu::kMaxAttentionHeadDim || !(c.rms_eps > 0) ||
      !(c.rope_base_global > 0) || !(c.rope_scale_global > 0) || c.n_layers > kMaxLayers) {
    return absl::InvalidArgumentError(absl::StrCat(
        file.path(), ": inconsistent gemma3 hyper-parameters (layers ", c.n_layers, ", hidden ",
        c.hidden, ", heads ", c.n_heads, "/", c.n_kv_heads, ", head_dim ", c.head_dim, ")"));
  }
  // llama.cpp's rule for gemma3 files: every 6th layer is global.
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    c.global_layers.push_back((layer + 1) % kGlobalEvery == 0);
  }
  return c;
}

absl::StatusOr<std::unique_ptr<Model>> LoadGgufGemma(std::shared_ptr<GgufFile> file,
                                                     const LoadOptions& options) {
  ASSIGN_OR_RETURN(GemmaConfig config, ReadGgufGemmaConfig(*file));
  ASSIGN_OR_RETURN(GemmaWeights weights, LoadWeights(*file, config));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                   GgufTokenizerFor(*file, config.vocab_size));
  ModelInfo info = GgufModelInfo(*file, "gemma3", config.context_length, config.vocab_size);
  return std::unique_ptr<Model>(new GemmaModel(std::move(info), config, std::move(weights),
                                               std::move(tokenizer), std::move(file), *options.pool,
                                               options));
}

}  // namespace llmw
