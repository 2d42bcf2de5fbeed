// Opens the parts of a Hugging Face model directory every family needs.
#include "models/hf/hf_checkpoint.h"

#include <algorithm>
#include <climits>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/parameter_tally.h"
#include "models/tokenizer/hf_tokenizer.h"

namespace llmw {

absl::StatusOr<HfCheckpoint> ReadHfCheckpoint(const std::string& directory) {
  const std::string config_path = (std::filesystem::path(directory) / "config.json").string();
  ASSIGN_OR_RETURN(HfConfig config, HfConfig::Read(config_path));
  ASSIGN_OR_RETURN(std::string model_type, config.StringOr("model_type", ""));
  if (model_type.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(config_path, ": missing 'model_type'"));
  }
  return HfCheckpoint{directory, std::move(config), std::move(model_type), nullptr};
}

absl::Status OpenHfWeights(HfCheckpoint& checkpoint) {
  ASSIGN_OR_RETURN(checkpoint.weights, SafetensorsCheckpoint::Open(checkpoint.directory));
  return absl::OkStatus();
}

absl::StatusOr<GenerationDefaults> ReadGenerationDefaults(const std::string& directory) {
  GenerationDefaults d;
  const std::filesystem::path path = std::filesystem::path(directory) / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return d;
  ASSIGN_OR_RETURN(HfConfig config, HfConfig::Read(path.string()));
  const auto set_float = [&](const char* key, std::optional<float>& out) -> absl::Status {
    if (!config.Has(key)) return absl::OkStatus();
    ASSIGN_OR_RETURN(double v, config.FloatOr(key, 0));
    out = static_cast<float>(v);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(set_float("temperature", d.temperature));
  RETURN_IF_ERROR(set_float("top_p", d.top_p));
  RETURN_IF_ERROR(set_float("min_p", d.min_p));
  RETURN_IF_ERROR(set_float("typical_p", d.typical_p));
  RETURN_IF_ERROR(set_float("repetition_penalty", d.repetition_penalty));
  if (config.Has("top_k")) {
    ASSIGN_OR_RETURN(int64_t top_k, config.IntOr("top_k", 0));
    d.top_k = static_cast<int32_t>(std::clamp<int64_t>(top_k, 0, INT32_MAX));
  }
  // Transformers decodes greedily unless do_sample is true.
  ASSIGN_OR_RETURN(bool do_sample, config.BoolOr("do_sample", true));
  if (!do_sample) d.temperature = 0.0f;
  return d;
}

absl::StatusOr<HfModelParts> LoadHfModelParts(const HfCheckpoint& checkpoint,
                                              int64_t context_length, int64_t vocab_size) {
  ModelInfo info;
  ASSIGN_OR_RETURN(info.generation_defaults, ReadGenerationDefaults(checkpoint.directory));
  std::filesystem::path path(checkpoint.directory);
  if (!path.has_filename()) path = path.parent_path();  // "dir/" names "dir"
  info.name = path.filename().string();
  info.architecture = checkpoint.model_type;
  info.context_length = context_length;
  info.vocab_size = vocab_size;
  ParameterTally tally;
  for (std::string_view name : checkpoint.weights->tensor_names()) {
    const SafetensorsTensor* t = checkpoint.weights->Find(name);
    tally.Add(t->shape, t->type);
  }
  info.n_params = tally.total();
  info.quantization = tally.DominantMatrixType();
  ASSIGN_OR_RETURN(HfTokenizerFiles files, LoadHfTokenizer(checkpoint.directory));
  // Embeddings may have more rows than the tokenizer has tokens (padded vocabularies), never fewer.
  if (files.tokenizer->vocab_size() > vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(checkpoint.directory, ": the tokenizer has ", files.tokenizer->vocab_size(),
                     " tokens but config.json's vocab_size is ", vocab_size));
  }
  info.chat_template = std::move(files.chat_template);
  return HfModelParts{std::move(info), std::move(files.tokenizer)};
}

}  // namespace llmw
