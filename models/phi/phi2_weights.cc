// Phi-2's weights and biases by tensor name, with their shapes checked.
#include "models/phi/phi2_weights.h"

#include "absl/strings/str_cat.h"
#include "kernels/op_params.h"
#include "kernels/status_macros.h"
#include "models/llama/llama_config.h"

namespace llmw {
namespace {

// "x.weight" → "x.bias".
std::string Bias(const std::string& weight) {
  return weight.substr(0, weight.rfind("weight")) + "bias";
}

struct Linear {
  Tensor w;
  Tensor b;
};

absl::StatusOr<Linear> LoadLinear(const WeightTable& weights, const std::string& name, int64_t out,
                                  int64_t in, HostArena& arena) {
  Linear l;
  ASSIGN_OR_RETURN(l.w, weights.Matrix(name, {out, in}));
  ASSIGN_OR_RETURN(l.b, weights.Vector(Bias(name), out, arena));
  return l;
}

// Elements [first, first + count) of an f32 vector, as a view.
Tensor Slice(const Tensor& v, int64_t first, int64_t count) {
  return Tensor(DType::kF32, {count}, v.data_as<float>() + first, v.device());
}

absl::StatusOr<Phi2LayerWeights> LoadLayer(const WeightTable& weights, const Phi2Config& c,
                                           const Phi2TensorNames& n, int64_t layer,
                                           HostArena& arena) {
  const std::string p = absl::StrCat(n.layer_prefix, layer, ".");
  const int64_t q_width = c.n_heads * c.head_dim;
  const int64_t kv_width = c.n_kv_heads * c.head_dim;
  Phi2LayerWeights w;
  ASSIGN_OR_RETURN(w.norm_w, weights.Vector(p + n.norm, c.hidden, arena));
  ASSIGN_OR_RETURN(w.norm_b, weights.Vector(Bias(p + n.norm), c.hidden, arena));
  if (!n.qkv.empty() && weights.Has(p + n.qkv)) {
    ASSIGN_OR_RETURN(Linear qkv,
                     LoadLinear(weights, p + n.qkv, q_width + 2 * kv_width, c.hidden, arena));
    w.wq = qkv.w.SliceRows(0, q_width);
    w.wk = qkv.w.SliceRows(q_width, kv_width);
    w.wv = qkv.w.SliceRows(q_width + kv_width, kv_width);
    w.bq = Slice(qkv.b, 0, q_width);
    w.bk = Slice(qkv.b, q_width, kv_width);
    w.bv = Slice(qkv.b, q_width + kv_width, kv_width);
  } else {
    ASSIGN_OR_RETURN(Linear q, LoadLinear(weights, p + n.q, q_width, c.hidden, arena));
    ASSIGN_OR_RETURN(Linear k, LoadLinear(weights, p + n.k, kv_width, c.hidden, arena));
    ASSIGN_OR_RETURN(Linear v, LoadLinear(weights, p + n.v, kv_width, c.hidden, arena));
    w.wq = q.w, w.bq = q.b;
    w.wk = k.w, w.bk = k.b;
    w.wv = v.w, w.bv = v.b;
  }
  ASSIGN_OR_RETURN(Linear o, LoadLinear(weights, p + n.o, c.hidden, q_width, arena));
  ASSIGN_OR_RETURN(Linear up, LoadLinear(weights, p + n.up, c.ffn_hidden, c.hidden, arena));
  ASSIGN_OR_RETURN(Linear down, LoadLinear(weights, p + n.down, c.hidden, c.ffn_hidden, arena));
  w.wo = o.w, w.bo = o.b;
  w.w_up = up.w, w.b_up = up.b;
  w.w_down = down.w, w.b_down = down.b;
  return w;
}

}  // namespace

const Phi2TensorNames& GgufPhi2Names() {
  static const auto* names = new Phi2TensorNames{
      .token_embd = "token_embd.weight",
      .output_norm = "output_norm.weight",
      .output = "output.weight",
      .layer_prefix = "blk.",
      .norm = "attn_norm.weight",
      .q = "attn_q.weight",
      .k = "attn_k.weight",
      .v = "attn_v.weight",
      .o = "attn_output.weight",
      .up = "ffn_up.weight",
      .down = "ffn_down.weight",
      .qkv = "attn_qkv.weight",
  };
  return *names;
}

const Phi2TensorNames& HfPhi2Names() {
  static const auto* names = new Phi2TensorNames{
      .token_embd = "model.embed_tokens.weight",
      .output_norm = "model.final_layernorm.weight",
      .output = "lm_head.weight",
      .layer_prefix = "model.layers.",
      .norm = "input_layernorm.weight",
      .q = "self_attn.q_proj.weight",
      .k = "self_attn.k_proj.weight",
      .v = "self_attn.v_proj.weight",
      .o = "self_attn.dense.weight",
      .up = "mlp.fc1.weight",
      .down = "mlp.fc2.weight",
      .qkv = "",
  };
  return *names;
}

absl::Status CheckPhi2Config(const Phi2Config& c, std::string_view source) {
  const bool sizes_ok = c.n_layers > 0 && c.hidden > 0 && c.ffn_hidden > 0 && c.vocab_size > 0 &&
                        c.context_length > 0;
  const bool heads_ok = c.n_heads > 0 && c.n_kv_heads > 0 && c.n_heads % c.n_kv_heads == 0 &&
                        c.hidden % c.n_heads == 0 && c.head_dim <= kMaxAttentionHeadDim;
  const bool rope_ok = c.rope_dim > 0 && c.rope_dim <= c.head_dim && c.rope_dim % 2 == 0 &&
                       c.rope_base > 0 && c.norm_eps > 0;
  if (sizes_ok && heads_ok && rope_ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(source), ": inconsistent phi2 hyper-parameters (layers ", c.n_layers, ", hidden ",
      c.hidden, ", MLP ", c.ffn_hidden, ", vocabulary ", c.vocab_size, ", context ",
      c.context_length, ", heads ", c.n_heads, "/", c.n_kv_heads, ", rotary width ", c.rope_dim,
      ", RoPE base ", c.rope_base, ", norm epsilon ", c.norm_eps, ")"));
}

absl::StatusOr<Phi2Weights> LoadPhi2Weights(const WeightTable& weights, const Phi2Config& c,
                                            const Phi2TensorNames& names) {
  Phi2Weights w;
  ASSIGN_OR_RETURN(w.token_embd, weights.Matrix(names.token_embd, {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_norm_w, weights.Vector(names.output_norm, c.hidden, w.host));
  ASSIGN_OR_RETURN(w.output_norm_b, weights.Vector(Bias(names.output_norm), c.hidden, w.host));
  ASSIGN_OR_RETURN(Linear output,
                   LoadLinear(weights, names.output, c.vocab_size, c.hidden, w.host));
  w.output = output.w;
  w.output_b = output.b;
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    ASSIGN_OR_RETURN(Phi2LayerWeights lw, LoadLayer(weights, c, names, layer, w.host));
    w.layers.push_back(std::move(lw));
  }
  w.rope_inv_freq = w.host.AddF32(RopeInverseFrequencies(c.rope_dim, c.rope_base, {}));
  return w;
}

}  // namespace llmw
