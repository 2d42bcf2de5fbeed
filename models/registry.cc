// Routes a checkpoint path to the loader of its architecture.
#include "models/registry.h"

#include <filesystem>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/status_macros.h"
#include "models/formats/gguf_file.h"
#include "models/gemma/hf_gemma.h"
#include "models/hf/hf_checkpoint.h"
#include "models/llama/hf_llama.h"
#include "models/phi/hf_phi2.h"
#include "models/quantized/gemma/gguf_gemma.h"
#include "models/quantized/gguf_model_info.h"
#include "models/quantized/llama/gguf_llama.h"
#include "models/quantized/phi/gguf_phi2.h"
#include "models/tokenizer/hf_tokenizer.h"

namespace llmw {
namespace {

using GgufLoader =
    std::function<absl::StatusOr<std::unique_ptr<Model>>(std::shared_ptr<GgufFile>, Backend&)>;

const std::map<std::string, GgufLoader>& GgufLoaders() {
  static const auto* loaders = new std::map<std::string, GgufLoader>{
      {"gemma3", LoadGgufGemma}, {"llama", LoadGgufLlama}, {"phi2", LoadGgufPhi2},
      {"phi3", LoadGgufPhi3},    {"qwen2", LoadGgufQwen2},
  };
  return *loaders;
}

using HfLoader = std::function<absl::StatusOr<std::unique_ptr<Model>>(HfCheckpoint, Backend&)>;

// Keyed by config.json's model_type.
const std::map<std::string, HfLoader>& HfLoaders() {
  static const auto* loaders = new std::map<std::string, HfLoader>{
      {"gemma3_text", LoadHfGemma}, {"llama", LoadHfLlama}, {"mistral", LoadHfLlama},
      {"phi", LoadHfPhi2},          {"phi3", LoadHfLlama},  {"qwen2", LoadHfLlama},
  };
  return *loaders;
}

absl::StatusOr<std::unique_ptr<Model>> LoadHfDirectory(const std::string& path, Backend& backend) {
  ASSIGN_OR_RETURN(HfCheckpoint checkpoint, ReadHfCheckpoint(path));
  const auto it = HfLoaders().find(checkpoint.model_type);
  if (it == HfLoaders().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, "/config.json: unsupported model_type '", checkpoint.model_type,
                     "'; supported: ", absl::StrJoin(SupportedHfModelTypes(), ", ")));
  }
  RETURN_IF_ERROR(OpenHfWeights(checkpoint));
  return it->second(std::move(checkpoint), backend);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    ASSIGN_OR_RETURN(HfTokenizerFiles files, LoadHfTokenizer(path));
    return std::move(files.tokenizer);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::Open(path));
  ASSIGN_OR_RETURN(const int64_t vocab_size, GgufVocabSize(*file));
  return GgufTokenizerFor(*file, vocab_size);
}

std::vector<std::string> SupportedHfModelTypes() {
  std::vector<std::string> names;
  for (const auto& [name, loader] : HfLoaders()) names.push_back(name);
  return names;
}

std::vector<std::string> SupportedGgufArchitectures() {
  std::vector<std::string> names;
  for (const auto& [name, loader] : GgufLoaders()) names.push_back(name);
  return names;
}

absl::StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path, Backend& backend) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return LoadHfDirectory(path, backend);
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> opened, GgufFile::Open(path));
  std::shared_ptr<GgufFile> file = std::move(opened);
  ASSIGN_OR_RETURN(std::string_view arch, file->GetString("general.architecture"));
  const auto it = GgufLoaders().find(std::string(arch));
  if (it == GgufLoaders().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": unsupported architecture '", std::string(arch),
                     "'; supported: ", absl::StrJoin(SupportedGgufArchitectures(), ", ")));
  }
  return it->second(std::move(file), backend);
}

}  // namespace llmw
