// The llama family's weights by tensor name, with their shapes checked.
#include "models/llama/llama_weights.h"

#include "absl/strings/str_cat.h"
#include "kernels/op_params.h"
#include "kernels/status_macros.h"

namespace llmw {
namespace {

absl::StatusOr<LlamaLayerWeights> LoadLayer(const WeightTable& weights, const LlamaConfig& c,
                                            const LlamaTensorNames& n, bool fused, int64_t layer,
                                            HostArena& arena) {
  const std::string p = absl::StrCat(n.layer_prefix, layer, ".");
  const int64_t q_width = c.n_heads * c.head_dim;
  const int64_t kv_width = c.n_kv_heads * c.head_dim;
  LlamaLayerWeights w;
  ASSIGN_OR_RETURN(w.attn_norm, weights.Vector(p + n.attn_norm, c.hidden, arena));
  if (fused) {
    ASSIGN_OR_RETURN(Tensor qkv, weights.Matrix(p + n.qkv, {q_width + 2 * kv_width, c.hidden}));
    w.wq = qkv.SliceRows(0, q_width);
    w.wk = qkv.SliceRows(q_width, kv_width);
    w.wv = qkv.SliceRows(q_width + kv_width, kv_width);
    ASSIGN_OR_RETURN(Tensor gate_up, weights.Matrix(p + n.gate_up, {2 * c.ffn_hidden, c.hidden}));
    w.w_gate = gate_up.SliceRows(0, c.ffn_hidden);
    w.w_up = gate_up.SliceRows(c.ffn_hidden, c.ffn_hidden);
  } else {
    ASSIGN_OR_RETURN(w.wq, weights.Matrix(p + n.q, {q_width, c.hidden}));
    ASSIGN_OR_RETURN(w.wk, weights.Matrix(p + n.k, {kv_width, c.hidden}));
    ASSIGN_OR_RETURN(w.wv, weights.Matrix(p + n.v, {kv_width, c.hidden}));
    ASSIGN_OR_RETURN(w.w_gate, weights.Matrix(p + n.gate, {c.ffn_hidden, c.hidden}));
    ASSIGN_OR_RETURN(w.w_up, weights.Matrix(p + n.up, {c.ffn_hidden, c.hidden}));
  }
  if (c.qkv_bias) {
    ASSIGN_OR_RETURN(w.bq, weights.Vector(p + n.q_bias, q_width, arena));
    ASSIGN_OR_RETURN(w.bk, weights.Vector(p + n.k_bias, kv_width, arena));
    ASSIGN_OR_RETURN(w.bv, weights.Vector(p + n.v_bias, kv_width, arena));
  }
  ASSIGN_OR_RETURN(w.wo, weights.Matrix(p + n.o, {c.hidden, q_width}));
  ASSIGN_OR_RETURN(w.ffn_norm, weights.Vector(p + n.ffn_norm, c.hidden, arena));
  ASSIGN_OR_RETURN(w.w_down, weights.Matrix(p + n.down, {c.hidden, c.ffn_hidden}));
  return w;
}

}  // namespace

const LlamaTensorNames& GgufLlamaNames() {
  static const auto* names = new LlamaTensorNames{
      .token_embd = "token_embd.weight",
      .output_norm = "output_norm.weight",
      .output = "output.weight",
      .layer_prefix = "blk.",
      .attn_norm = "attn_norm.weight",
      .q = "attn_q.weight",
      .k = "attn_k.weight",
      .v = "attn_v.weight",
      .q_bias = "attn_q.bias",
      .k_bias = "attn_k.bias",
      .v_bias = "attn_v.bias",
      .o = "attn_output.weight",
      .ffn_norm = "ffn_norm.weight",
      .gate = "ffn_gate.weight",
      .up = "ffn_up.weight",
      .down = "ffn_down.weight",
      .qkv = "attn_qkv.weight",
      .gate_up = "ffn_up.weight",  // phi3 GGUFs keep gate|up under ffn_up
  };
  return *names;
}

const LlamaTensorNames& HfLlamaNames() {
  static const auto* names = new LlamaTensorNames{
      .token_embd = "model.embed_tokens.weight",
      .output_norm = "model.norm.weight",
      .output = "lm_head.weight",
      .layer_prefix = "model.layers.",
      .attn_norm = "input_layernorm.weight",
      .q = "self_attn.q_proj.weight",
      .k = "self_attn.k_proj.weight",
      .v = "self_attn.v_proj.weight",
      .q_bias = "self_attn.q_proj.bias",
      .k_bias = "self_attn.k_proj.bias",
      .v_bias = "self_attn.v_proj.bias",
      .o = "self_attn.o_proj.weight",
      .ffn_norm = "post_attention_layernorm.weight",
      .gate = "mlp.gate_proj.weight",
      .up = "mlp.up_proj.weight",
      .down = "mlp.down_proj.weight",
      .qkv = "self_attn.qkv_proj.weight",
      .gate_up = "mlp.gate_up_proj.weight",
  };
  return *names;
}

absl::Status CheckLlamaConfig(const LlamaConfig& c, std::string_view source) {
  const bool sizes_ok = c.n_layers > 0 && c.hidden > 0 && c.ffn_hidden > 0 && c.vocab_size > 0 &&
                        c.context_length > 0 && c.sliding_window >= 0;
  const bool heads_ok = c.n_heads > 0 && c.n_kv_heads > 0 && c.n_heads % c.n_kv_heads == 0 &&
                        c.head_dim > 0 && c.head_dim % 2 == 0 && c.head_dim <= kMaxAttentionHeadDim;
  const bool rope_ok = c.rope_dim > 0 && c.rope_dim <= c.head_dim && c.rope_dim % 2 == 0 &&
                       c.rope_base > 0 && c.rms_eps > 0;
  if (sizes_ok && heads_ok && rope_ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(source), ": inconsistent hyper-parameters (layers ", c.n_layers, ", hidden ",
      c.hidden, ", MLP ", c.ffn_hidden, ", vocabulary ", c.vocab_size, ", context ",
      c.context_length, ", heads ", c.n_heads, "/", c.n_kv_heads, ", head_dim ", c.head_dim,
      " (even, at most ", kMaxAttentionHeadDim, "), rotary width ", c.rope_dim, ", RoPE base ",
      c.rope_base, ", norm epsilon ", c.rms_eps, ")"));
}

absl::StatusOr<LlamaWeights> LoadLlamaWeights(const WeightTable& weights, const LlamaConfig& c,
                                              const LlamaTensorNames& names, bool fused,
                                              bool require_output) {
  LlamaWeights w;
  ASSIGN_OR_RETURN(w.token_embd, weights.Matrix(names.token_embd, {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_norm, weights.Vector(names.output_norm, c.hidden, w.host));
  if (require_output || weights.Has(names.output)) {
    ASSIGN_OR_RETURN(w.output, weights.Matrix(names.output, {c.vocab_size, c.hidden}));
  } else {
    w.output = w.token_embd;  // tied embeddings
  }
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    ASSIGN_OR_RETURN(LlamaLayerWeights lw, LoadLayer(weights, c, names, fused, layer, w.host));
    w.layers.push_back(std::move(lw));
  }
  return w;
}

}  // namespace llmw
