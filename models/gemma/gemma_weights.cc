// Gemma 3's weights by tensor name, with their shapes checked.
#include "models/gemma/gemma_weights.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "kernels/op_params.h"
#include "kernels/status_macros.h"
#include "models/llama/llama_config.h"

namespace llmw {
namespace {

absl::StatusOr<GemmaLayerWeights> LoadLayer(const WeightTable& weights, const GemmaConfig& c,
                                            const GemmaTensorNames& n, int64_t layer,
                                            HostArena& arena) {
  const std::string p = absl::StrCat(n.layer_prefix, layer, ".");
  const int64_t q_width = c.n_heads * c.head_dim;
  const int64_t kv_width = c.n_kv_heads * c.head_dim;
  GemmaLayerWeights w;
  ASSIGN_OR_RETURN(w.attn_norm, weights.Vector(p + n.attn_norm, c.hidden, arena));
  ASSIGN_OR_RETURN(w.wq, weights.Matrix(p + n.q, {q_width, c.hidden}));
  ASSIGN_OR_RETURN(w.wk, weights.Matrix(p + n.k, {kv_width, c.hidden}));
  ASSIGN_OR_RETURN(w.wv, weights.Matrix(p + n.v, {kv_width, c.hidden}));
  ASSIGN_OR_RETURN(w.q_norm, weights.Vector(p + n.q_norm, c.head_dim, arena));
  ASSIGN_OR_RETURN(w.k_norm, weights.Vector(p + n.k_norm, c.head_dim, arena));
  ASSIGN_OR_RETURN(w.wo, weights.Matrix(p + n.o, {c.hidden, q_width}));
  ASSIGN_OR_RETURN(w.post_attention_norm,
                   weights.Vector(p + n.post_attention_norm, c.hidden, arena));
  ASSIGN_OR_RETURN(w.ffn_norm, weights.Vector(p + n.ffn_norm, c.hidden, arena));
  ASSIGN_OR_RETURN(w.w_gate, weights.Matrix(p + n.gate, {c.ffn_hidden, c.hidden}));
  ASSIGN_OR_RETURN(w.w_up, weights.Matrix(p + n.up, {c.ffn_hidden, c.hidden}));
  ASSIGN_OR_RETURN(w.w_down, weights.Matrix(p + n.down, {c.hidden, c.ffn_hidden}));
  ASSIGN_OR_RETURN(w.post_ffw_norm, weights.Vector(p + n.post_ffw_norm, c.hidden, arena));
  return w;
}

}  // namespace

const GemmaTensorNames& GgufGemmaNames() {
  static const auto* names = new GemmaTensorNames{
      .token_embd = "token_embd.weight",
      .output_norm = "output_norm.weight",
      .layer_prefix = "blk.",
      .attn_norm = "attn_norm.weight",
      .q = "attn_q.weight",
      .k = "attn_k.weight",
      .v = "attn_v.weight",
      .q_norm = "attn_q_norm.weight",
      .k_norm = "attn_k_norm.weight",
      .o = "attn_output.weight",
      .post_attention_norm = "post_attention_norm.weight",
      .ffn_norm = "ffn_norm.weight",
      .gate = "ffn_gate.weight",
      .up = "ffn_up.weight",
      .down = "ffn_down.weight",
      .post_ffw_norm = "post_ffw_norm.weight",
      .norm_offset = 0.0f,  // the converter added the 1
  };
  return *names;
}

const GemmaTensorNames& HfGemmaNames() {
  static const auto* names = new GemmaTensorNames{
      .token_embd = "model.embed_tokens.weight",
      .output_norm = "model.norm.weight",
      .layer_prefix = "model.layers.",
      .attn_norm = "input_layernorm.weight",
      .q = "self_attn.q_proj.weight",
      .k = "self_attn.k_proj.weight",
      .v = "self_attn.v_proj.weight",
      .q_norm = "self_attn.q_norm.weight",
      .k_norm = "self_attn.k_norm.weight",
      .o = "self_attn.o_proj.weight",
      .post_attention_norm = "post_attention_layernorm.weight",
      .ffn_norm = "pre_feedforward_layernorm.weight",
      .gate = "mlp.gate_proj.weight",
      .up = "mlp.up_proj.weight",
      .down = "mlp.down_proj.weight",
      .post_ffw_norm = "post_feedforward_layernorm.weight",
      .norm_offset = 1.0f,
  };
  return *names;
}

std::vector<bool> EveryNthLayerGlobal(int64_t n_layers, int64_t pattern) {
  std::vector<bool> global;
  for (int64_t layer = 0; layer < std::min(n_layers, kMaxGemmaLayers); ++layer) {
    global.push_back((layer + 1) % pattern == 0);
  }
  return global;
}

absl::Status CheckGemmaConfig(const GemmaConfig& c, std::string_view source) {
  const bool sizes_ok = c.n_layers > 0 && c.n_layers <= kMaxGemmaLayers && c.hidden > 0 &&
                        c.ffn_hidden > 0 && c.vocab_size > 0 && c.context_length > 0 &&
                        c.sliding_window >= 0 &&
                        static_cast<int64_t>(c.global_layers.size()) == c.n_layers;
  const bool heads_ok = c.n_heads > 0 && c.n_kv_heads > 0 && c.n_heads % c.n_kv_heads == 0 &&
                        c.head_dim > 0 && c.head_dim % 2 == 0 &&
                        c.head_dim <= kMaxAttentionHeadDim && std::isfinite(c.attention_scale) &&
                        c.attention_scale > 0;
  const bool rope_ok =
      c.rope_base_global > 0 && c.rope_base_local > 0 && c.rope_scale_global > 0 && c.rms_eps > 0;
  if (sizes_ok && heads_ok && rope_ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(source), ": inconsistent gemma3 hyper-parameters (layers ", c.n_layers,
      " (at most ", kMaxGemmaLayers, ", one type each), hidden ", c.hidden, ", MLP ", c.ffn_hidden,
      ", vocabulary ", c.vocab_size, ", context ", c.context_length, ", heads ", c.n_heads, "/",
      c.n_kv_heads, ", head_dim ", c.head_dim, ", RoPE bases ", c.rope_base_global, "/",
      c.rope_base_local, ", norm epsilon ", c.rms_eps, ")"));
}

absl::StatusOr<GemmaWeights> LoadGemmaWeights(const WeightTable& weights, const GemmaConfig& c,
                                              const GemmaTensorNames& names) {
  GemmaWeights w;
  ASSIGN_OR_RETURN(w.token_embd, weights.Matrix(names.token_embd, {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_norm, weights.Vector(names.output_norm, c.hidden, w.host));
  w.norm_offset = names.norm_offset;
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    ASSIGN_OR_RETURN(GemmaLayerWeights lw, LoadLayer(weights, c, names, layer, w.host));
    w.layers.push_back(std::move(lw));
  }
  w.rope_inv_freq_local = w.host.AddF32(RopeInverseFrequencies(c.head_dim, c.rope_base_local, {}));
  std::vector<float> global = RopeInverseFrequencies(c.head_dim, c.rope_base_global, {});
  for (float& f : global) f /= c.rope_scale_global;
  w.rope_inv_freq_global = w.host.AddF32(global);
  return w;
}

}  // namespace llmw
