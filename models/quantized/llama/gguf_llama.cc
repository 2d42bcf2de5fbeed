// GGUF checkpoints of the llama family: `llama` (Llama, Mistral, SmolLM2),
// `qwen2` (the same blocks plus Q/K/V biases, rotate-half RoPE) and `phi3`
// (fused QKV and gate|up projections, rotate-half RoPE): metadata keys →
// LlamaConfig, tensor names → LlamaWeights.
#include "models/quantized/llama/gguf_llama.h"

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/llama/llama_model.h"
#include "models/llama/llama_weights.h"
#include "models/quantized/gguf_model_info.h"
#include "models/weight_table.h"

namespace llmw {

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
  c.rope_pairing = arch == "llama" ? RopePairing::kAdjacent : RopePairing::kRotateHalf;
  RETURN_IF_ERROR(CheckLlamaConfig(c, file.path()));
  return c;
}

absl::StatusOr<std::unique_ptr<Model>> LoadGgufLlamaFamily(std::shared_ptr<GgufFile> file,
                                                           Backend& backend,
                                                           const std::string& arch) {
  ASSIGN_OR_RETURN(LlamaConfig config, ReadGgufLlamaConfig(*file, arch));
  config.qkv_bias = arch == "qwen2";
  if (file->FindTensor("rope_factors_long.weight") != nullptr) {
    return absl::UnimplementedError(
        absl::StrCat(file->path(), ": LongRoPE (rope_factors_long/short) is not supported yet"));
  }
  const WeightTable table = GgufWeightTable(*file);
  ASSIGN_OR_RETURN(LlamaWeights weights,
                   LoadLlamaWeights(table, config, GgufLlamaNames(), /*fused=*/arch == "phi3",
                                    /*require_output=*/false));
  std::vector<float> rope_factors;
  if (table.Has("rope_freqs.weight")) {
    ASSIGN_OR_RETURN(const Tensor factors,
                     table.Vector("rope_freqs.weight", config.rope_dim / 2, weights.host));
    rope_factors.assign(factors.data_as<float>(), factors.data_as<float>() + factors.elems());
  }
  weights.rope_inv_freq =
      weights.host.AddF32(RopeInverseFrequencies(config.rope_dim, config.rope_base, rope_factors));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                   GgufTokenizerFor(*file, config.vocab_size));
  ModelInfo info = GgufModelInfo(*file, arch, config.context_length, config.vocab_size);
  return DecoderModel::Placed(std::make_unique<LlamaModel>(
      std::move(info), config, std::move(weights), std::move(tokenizer), std::move(file), backend));
}

absl::StatusOr<std::unique_ptr<Model>> LoadGgufLlama(std::shared_ptr<GgufFile> file,
                                                     Backend& backend) {
  return LoadGgufLlamaFamily(std::move(file), backend, "llama");
}

absl::StatusOr<std::unique_ptr<Model>> LoadGgufQwen2(std::shared_ptr<GgufFile> file,
                                                     Backend& backend) {
  return LoadGgufLlamaFamily(std::move(file), backend, "qwen2");
}

absl::StatusOr<std::unique_ptr<Model>> LoadGgufPhi3(std::shared_ptr<GgufFile> file,
                                                    Backend& backend) {
  return LoadGgufLlamaFamily(std::move(file), backend, "phi3");
}

}  // namespace llmw
