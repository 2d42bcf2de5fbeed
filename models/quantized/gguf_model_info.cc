// Derives the name, dominant weight type and parameter count of a checkpoint.
#include "models/quantized/gguf_model_info.h"

#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "models/parameter_tally.h"
#include "models/tokenizer/gguf_tokenizer.h"

namespace llmw {
namespace {

// Names of `general.file_type` values (llama.cpp's file types): the mix a
// quantizer chose, which the dominant tensor type alone does not tell.
std::string FileTypeName(uint64_t file_type) {
  static const auto* names = new std::map<uint64_t, std::string>{
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},    {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"}, {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},   {32, "BF16"}};
  const auto it = names->find(file_type);
  return it == names->end() ? "" : it->second;
}

}  // namespace

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

  // The quantization is the file type the quantizer recorded, else the type
  // holding the most parameters among matrices.
  ParameterTally tally;
  for (const GgufTensorInfo& t : file.tensors()) tally.Add(t.dims, t.type);
  info.n_params = tally.total();
  info.quantization = tally.DominantMatrixType();
  absl::StatusOr<uint64_t> file_type = file.GetUint("general.file_type");
  if (file_type.ok() && !FileTypeName(*file_type).empty()) {
    info.quantization = FileTypeName(*file_type);
  }
  return info;
}

absl::StatusOr<int64_t> GgufVocabSize(const GgufFile& file) {
  const GgufTensorInfo* embd = file.FindTensor("token_embd.weight");
  if (embd == nullptr || embd->dims.size() != 2) {
    return absl::NotFoundError(
        absl::StrCat(file.path(), ": missing 2-D tensor 'token_embd.weight'"));
  }
  return embd->dims[1];
}

absl::StatusOr<std::unique_ptr<Tokenizer>> GgufTokenizerFor(const GgufFile& file,
                                                            int64_t vocab_size) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = TokenizerFromGguf(file);
  if (!tokenizer.ok()) return tokenizer.status();
  if ((*tokenizer)->vocab_size() != vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(file.path(), ": tokenizer has ", (*tokenizer)->vocab_size(),
                     " tokens but token_embd.weight has ", vocab_size, " rows"));
  }
  return tokenizer;
}

}  // namespace llmw
