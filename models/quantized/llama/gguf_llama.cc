// GGUF checkpoints of the llama family: `llama` (Llama, Mistral, SmolLM2),
// `qwen2` (the same blocks plus Q/K/V biases, rotate-half RoPE) and `phi3`
// (fused QKV and gate|up projections, rotate-half RoPE): metadata keys →
// LlamaConfig, tensor names → LlamaWeights.
#include "models/quantized/llama/gguf_llama.h"

#include "absl/strings/str_cat.h"
#include "kernels/cpu/attention.h"
#include "kernels/status_macros.h"
#include "models/llama/llama_model.h"
#include "models/quantized/gguf_model_info.h"
#include "models/weight_table.h"

namespace llmw {
namespace {

absl::StatusOr<LlamaLayerWeights> LoadLayer(const WeightTable& weights, const LlamaConfig& c,
                                            bool fused, int64_t layer) {
  const std::string p = absl::StrCat("blk.", layer, ".");
  const int64_t q_width = c.n_heads * c.head_dim;
  const int64_t kv_width = c.n_kv_heads * c.head_dim;
  LlamaLayerWeights w;
  ASSIGN_OR_RETURN(w.attn_norm, weights.Vector(p + "attn_norm.weight", c.hidden));
  if (fused) {
    // phi3: one [q | k | v] projection and one [gate | up] projection, used
    // as row views of the stored tensors.
    ASSIGN_OR_RETURN(Tensor qkv,
                     weights.Matrix(p + "attn_qkv.weight", {q_width + 2 * kv_width, c.hidden}));
    w.wq = qkv.SliceRows(0, q_width);
    w.wk = qkv.SliceRows(q_width, kv_width);
    w.wv = qkv.SliceRows(q_width + kv_width, kv_width);
    ASSIGN_OR_RETURN(Tensor gate_up,
                     weights.Matrix(p + "ffn_up.weight", {2 * c.ffn_hidden, c.hidden}));
    w.w_gate = gate_up.SliceRows(0, c.ffn_hidden);
    w.w_up = gate_up.SliceRows(c.ffn_hidden, c.ffn_hidden);
  } else {
    ASSIGN_OR_RETURN(w.wq, weights.Matrix(p + "attn_q.weight", {q_width, c.hidden}));
    ASSIGN_OR_RETURN(w.wk, weights.Matrix(p + "attn_k.weight", {kv_width, c.hidden}));
    ASSIGN_OR_RETURN(w.wv, weights.Matrix(p + "attn_v.weight", {kv_width, c.hidden}));
    ASSIGN_OR_RETURN(w.w_gate, weights.Matrix(p + "ffn_gate.weight", {c.ffn_hidden, c.hidden}));
    ASSIGN_OR_RETURN(w.w_up, weights.Matrix(p + "ffn_up.weight", {c.ffn_hidden, c.hidden}));
  }
  if (c.qkv_bias) {
    ASSIGN_OR_RETURN(w.bq, weights.Vector(p + "attn_q.bias", q_width));
    ASSIGN_OR_RETURN(w.bk, weights.Vector(p + "attn_k.bias", kv_width));
    ASSIGN_OR_RETURN(w.bv, weights.Vector(p + "attn_v.bias", kv_width));
  }
  ASSIGN_OR_RETURN(w.wo, weights.Matrix(p + "attn_output.weight", {c.hidden, q_width}));
  ASSIGN_OR_RETURN(w.ffn_norm, weights.Vector(p + "ffn_norm.weight", c.hidden));
  ASSIGN_OR_RETURN(w.w_down, weights.Matrix(p + "ffn_down.weight", {c.hidden, c.ffn_hidden}));
  return w;
}

absl::StatusOr<LlamaWeights> LoadWeights(const GgufFile& file, const LlamaConfig& c, bool fused) {
  const WeightTable weights = GgufWeightTable(file);
  LlamaWeights w;
  ASSIGN_OR_RETURN(w.token_embd, weights.Matrix("token_embd.weight", {c.vocab_size, c.hidden}));
  ASSIGN_OR_RETURN(w.output_norm, weights.Vector("output_norm.weight", c.hidden));
  if (weights.Has("output.weight")) {
    ASSIGN_OR_RETURN(w.output, weights.Matrix("output.weight", {c.vocab_size, c.hidden}));
  } else {
    w.output = w.token_embd;  // tied embeddings
  }
  std::vector<float> rope_factors;
  if (weights.Has("rope_freqs.weight")) {
    ASSIGN_OR_RETURN(rope_factors, weights.Vector("rope_freqs.weight", c.rope_dim / 2));
  }
  w.rope_inv_freq = RopeInverseFrequencies(c.rope_dim, c.rope_base, rope_factors);
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    ASSIGN_OR_RETURN(LlamaLayerWeights lw, LoadLayer(weights, c, fused, layer));
    w.layers.push_back(std::move(lw));
  }
  return w;
}

absl::Status CheckConfig(const GgufFile& file, const LlamaConfig& c) {
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": ", what));
  };
  if (c.n_layers <= 0 || c.hidden <= 0 || c.ffn_hidden <= 0 || c.vocab_size <= 0 ||
      c.context_length <= 0) {
    return bad(
        "llama.block_count, embedding_length, feed_forward_length, context_length and "
        "the vocabulary size must all be positive");
  }
  if (c.n_heads <= 0 || c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0) {
    return bad(absl::StrCat("llama.attention.head_count (", c.n_heads,
                            ") must be a positive multiple of head_count_kv (", c.n_kv_heads, ")"));
  }
  if (c.head_dim <= 0 || c.head_dim > cpu::kMaxAttentionHeadDim || c.head_dim % 2 != 0) {
    return bad(absl::StrCat("head dimension ", c.head_dim, " is not an even number in [2, ",
                            cpu::kMaxAttentionHeadDim, "]"));
  }
  if (c.rope_dim <= 0 || c.rope_dim > c.head_dim || c.rope_dim % 2 != 0) {
    return bad(absl::StrCat("llama.rope.dimension_count ", c.rope_dim,
                            " must be even and at most the head dimension ", c.head_dim));
  }
  if (!(c.rope_base > 0) || !(c.rms_eps > 0)) {
    return bad("llama.rope.freq_base and layer_norm_rms_epsilon must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LlamaConfig> ReadGgufLlamaConfig(const GgufFile& file, const std::string& arch) {
  LlamaConfig c;
  const auto key = [&](const char* name) { return absl::StrCat(arch, ".", name); };
  ASSIGN_OR_RETURN(c.n_layers, file.GetUint(key("block_count")));
  ASSIGN_OR_RETURN(c.hidden, file.GetUint(key("embedding_length")));
  ASSIGN_OR_RETURN(c.ffn_hidden, file.GetUint(key("feed_forward_length")));
  ASSIGN_OR_RETURN(c.n_heads, file.GetUint(key("attention.head_count")));
  ASSIGN_OR_RETURN(c.n_kv_heads, file.GetUintOr(key("attention.head_count_kv"), c.n_heads));
  ASSIGN_OR_RETURN(c.context_length, file.GetUint(key("context_length")));
  const int64_t default_head_dim = c.n_heads > 0 ? c.hidden / c.n_heads : 0;
  ASSIGN_OR_RETURN(c.head_dim, file.GetUintOr(key("attention.key_length"), default_head_dim));
  ASSIGN_OR_RETURN(c.rope_dim, file.GetUintOr(key("rope.dimension_count"), c.head_dim));
  ASSIGN_OR_RETURN(double rope_base, file.GetFloatOr(key("rope.freq_base"), 10000.0));
  c.rope_base = static_cast<float>(rope_base);
  ASSIGN_OR_RETURN(double eps, file.GetFloat(key("attention.layer_norm_rms_epsilon")));
  c.rms_eps = static_cast<float>(eps);
  ASSIGN_OR_RETURN(c.sliding_window, file.GetUintOr(key("attention.sliding_window"), 0));
  ASSIGN_OR_RETURN(c.vocab_size, GgufVocabSize(file));
  // The converter permuted llama's Q and K for adjacent pairs; qwen2 keeps
  // the Hugging Face rotate-half layout.
  c.rope_pairing = arch == "llama" ? cpu::RopePairing::kAdjacent : cpu::RopePairing::kRotateHalf;
  RETURN_IF_ERROR(CheckConfig(file, c));
  return c;
}

absl::StatusOr<std::unique_ptr<Model>> LoadGgufLlamaFamily(std::shared_ptr<GgufFile> file,
                                                           const LoadOptions& options,
                                                           const std::string& arch) {
  ASSIGN_OR_RETURN(LlamaConfig config, ReadGgufLlamaConfig(*file, arch));
  config.qkv_bias = arch == "qwen2";
  if (file->FindTensor("rope_factors_long.weight") != nullptr) {
    return absl::UnimplementedError(
        absl::StrCat(file->path(), ": LongRoPE (rope_factors_long/short) is not supported yet"));
  }
  ASSIGN_OR_RETURN(LlamaWeights weights, LoadWeights(*file, config, /*fused=*/arch == "phi3"));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                   GgufTokenizerFor(*file, config.vocab_size));
  ModelInfo info = GgufModelInfo(*file, arch, config.context_length, config.vocab_size);
  return std::unique_ptr<Model>(new LlamaModel(std::move(info), config, std::move(weights),
                                               std::move(tokenizer), std::move(file), *options.pool,
                                               options));
}

absl::StatusOr<std::unique_ptr<Model>> LoadGgufLlama(std::shared_ptr<GgufFile> file,
                                                     const LoadOptions& options) {
  return LoadGgufLlamaFamily(std::move(file), options, "llama");
}

absl::StatusOr<std::unique_ptr<Model>> LoadGgufQwen2(std::shared_ptr<GgufFile> file,
                                                     const LoadOptions& options) {
  return LoadGgufLlamaFamily(std::move(file), options, "qwen2");
}

absl::StatusOr<std::unique_ptr<Model>> LoadGgufPhi3(std::shared_ptr<GgufFile> file,
                                                    const LoadOptions& options) {
  return LoadGgufLlamaFamily(std::move(file), options, "phi3");
}

}  // namespace llmw
