// Derives the name, dominant weight type and parameter count of a checkpoint.
#include "models/quantized/gguf_model_info.h"

#include <filesystem>
#include <map>

namespace llmw {

ModelInfo GgufModelInfo(const GgufFile& file, const std::string& architecture,
                        int64_t context_length, int64_t vocab_size) {
  ModelInfo info;
  absl::StatusOr<std::string_view> name = file.GetString("general.name");
  info.name = name.ok() ? std::string(*name) : std::filesystem::path(file.path()).stem().string();
  info.architecture = architecture;
  info.context_length = context_length;
  info.vocab_size = vocab_size;
  absl::StatusOr<std::string_view> tmpl = file.GetString("tokenizer.chat_template");
  if (tmpl.ok()) info.chat_template = std::string(*tmpl);

  // The quantization is the type holding the most parameters among matrices.
  std::map<DType, int64_t> params_by_type;
  for (const GgufTensorInfo& t : file.tensors()) {
    int64_t elems = 1;
    for (int64_t d : t.dims) elems *= d;
    info.n_params += elems;
    if (t.dims.size() >= 2) params_by_type[t.type] += elems;
  }
  int64_t best = -1;
  for (const auto& [type, elems] : params_by_type) {
    if (elems > best) {
      best = elems;
      info.quantization = std::string(DTypeName(type));
    }
  }
  return info;
}

}  // namespace llmw
