// Reads `tokenizer.ggml.*` metadata into a BpeVocab or SpmVocab, and builds the tokenizer.
#include "models/tokenizer/gguf_tokenizer.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"

namespace llmw {
namespace {

constexpr std::string_view kModelKey = "tokenizer.ggml.model";

// An optional token id key: nullopt when absent.
absl::StatusOr<std::optional<int32_t>> OptionalId(const GgufFile& file, std::string_view key,
                                                  size_t vocab_size) {
  if (file.Find(key) == nullptr) return std::optional<int32_t>();
  ASSIGN_OR_RETURN(uint64_t id, file.GetUint(key));
  if (id >= vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": ", std::string(key), " = ", id,
                                                   " is out of range (vocabulary size ", vocab_size,
                                                   ")"));
  }
  return std::optional<int32_t>(static_cast<int32_t>(id));
}

// `tokenizer.ggml.token_type`, one per token; empty when absent.
absl::StatusOr<std::vector<TokenType>> TokenTypes(const GgufFile& file, size_t n_tokens) {
  std::vector<TokenType> out;
  if (file.Find("tokenizer.ggml.token_type") == nullptr) return out;
  ASSIGN_OR_RETURN(std::vector<int64_t> types, file.GetIntArray("tokenizer.ggml.token_type"));
  if (types.size() != n_tokens) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": tokenizer.ggml.token_type has ",
                                                   types.size(), " entries for ", n_tokens,
                                                   " tokens"));
  }
  out.reserve(types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] < 0 || types[i] > 6) {
      return absl::InvalidArgumentError(absl::StrCat(file.path(), ": tokenizer.ggml.token_type[", i,
                                                     "] = ", types[i],
                                                     " is not a token type (0..6)"));
    }
    // 0 is "undefined"; treat it as a normal token.
    out.push_back(types[i] == 0 ? TokenType::kNormal : static_cast<TokenType>(types[i]));
  }
  return out;
}

// An id key, or `fallback` (when in range) where the key is absent.
absl::StatusOr<std::optional<int32_t>> IdOr(const GgufFile& file, std::string_view key,
                                            size_t vocab_size, int32_t fallback) {
  if (file.Find(key) != nullptr) return OptionalId(file, key, vocab_size);
  if (static_cast<size_t>(fallback) < vocab_size) return std::optional<int32_t>(fallback);
  return std::optional<int32_t>();
}

}  // namespace

absl::StatusOr<BpeVocab> BpeVocabFromGguf(const GgufFile& file) {
  BpeVocab v;
  ASSIGN_OR_RETURN(std::string_view pre, file.GetString("tokenizer.ggml.pre"));
  absl::StatusOr<PreTokenizer> kind = PreTokenizerFromName(pre);
  if (!kind.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": ", kind.status().message()));
  }
  v.pre = *kind;

  ASSIGN_OR_RETURN(std::vector<std::string_view> tokens,
                   file.GetStringArray("tokenizer.ggml.tokens"));
  v.tokens.assign(tokens.begin(), tokens.end());
  ASSIGN_OR_RETURN(std::vector<std::string_view> merges,
                   file.GetStringArray("tokenizer.ggml.merges"));
  v.merges.assign(merges.begin(), merges.end());
  ASSIGN_OR_RETURN(v.types, TokenTypes(file, tokens.size()));
  const size_t n = tokens.size();
  ASSIGN_OR_RETURN(v.bos_id, OptionalId(file, "tokenizer.ggml.bos_token_id", n));
  ASSIGN_OR_RETURN(v.eos_id, OptionalId(file, "tokenizer.ggml.eos_token_id", n));
  ASSIGN_OR_RETURN(v.eot_id, OptionalId(file, "tokenizer.ggml.eot_token_id", n));
  ASSIGN_OR_RETURN(v.eom_id, OptionalId(file, "tokenizer.ggml.eom_token_id", n));
  ASSIGN_OR_RETURN(v.pad_id, OptionalId(file, "tokenizer.ggml.padding_token_id", n));
  ASSIGN_OR_RETURN(v.unk_id, OptionalId(file, "tokenizer.ggml.unknown_token_id", n));
  // Without the key, Llama 3 style vocabularies add BOS (as the reference does); others do not.
  ASSIGN_OR_RETURN(v.add_bos,
                   file.GetBoolOr("tokenizer.ggml.add_bos_token", v.pre == PreTokenizer::kLlama3));
  ASSIGN_OR_RETURN(v.add_eos, file.GetBoolOr("tokenizer.ggml.add_eos_token", false));
  return v;
}

absl::StatusOr<SpmVocab> SpmVocabFromGguf(const GgufFile& file) {
  SpmVocab v;
  ASSIGN_OR_RETURN(std::vector<std::string_view> tokens,
                   file.GetStringArray("tokenizer.ggml.tokens"));
  v.tokens.assign(tokens.begin(), tokens.end());
  const size_t n = tokens.size();
  if (file.Find("tokenizer.ggml.scores") != nullptr) {
    ASSIGN_OR_RETURN(v.scores, file.GetFloatArray("tokenizer.ggml.scores"));
    if (v.scores.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(file.path(), ": tokenizer.ggml.scores has ",
                                                     v.scores.size(), " entries for ", n,
                                                     " tokens"));
    }
  }
  ASSIGN_OR_RETURN(v.types, TokenTypes(file, n));
  // The reference's defaults for SentencePiece vocabularies: <unk> 0, <s> 1, </s> 2.
  ASSIGN_OR_RETURN(v.bos_id, IdOr(file, "tokenizer.ggml.bos_token_id", n, 1));
  ASSIGN_OR_RETURN(v.eos_id, IdOr(file, "tokenizer.ggml.eos_token_id", n, 2));
  ASSIGN_OR_RETURN(v.unk_id, IdOr(file, "tokenizer.ggml.unknown_token_id", n, 0));
  ASSIGN_OR_RETURN(v.eot_id, OptionalId(file, "tokenizer.ggml.eot_token_id", n));
  ASSIGN_OR_RETURN(v.eom_id, OptionalId(file, "tokenizer.ggml.eom_token_id", n));
  ASSIGN_OR_RETURN(v.pad_id, OptionalId(file, "tokenizer.ggml.padding_token_id", n));
  ASSIGN_OR_RETURN(v.add_bos, file.GetBoolOr("tokenizer.ggml.add_bos_token", true));
  ASSIGN_OR_RETURN(v.add_eos, file.GetBoolOr("tokenizer.ggml.add_eos_token", false));
  ASSIGN_OR_RETURN(v.add_space_prefix, file.GetBoolOr("tokenizer.ggml.add_space_prefix", true));
  return v;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> TokenizerFromGguf(const GgufFile& file) {
  ASSIGN_OR_RETURN(std::string_view model, file.GetString(kModelKey));
  if (model == "llama") {
    ASSIGN_OR_RETURN(SpmVocab vocab, SpmVocabFromGguf(file));
    absl::StatusOr<std::unique_ptr<SpmTokenizer>> spm = SpmTokenizer::Create(std::move(vocab));
    if (!spm.ok()) {
      return absl::Status(spm.status().code(),
                          absl::StrCat(file.path(), ": tokenizer: ", spm.status().message()));
    }
    return std::unique_ptr<Tokenizer>(*std::move(spm));
  }
  if (model == "bert" || model == "t5" || model == "rwkv" || model == "ugm" || model == "plamo2") {
    return absl::UnimplementedError(
        absl::StrCat(file.path(), ": tokenizer model '", std::string(model),
                     "' is not supported yet (supported: gpt2, llama)"));
  }
  if (model != "gpt2") {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": unknown tokenizer model '",
                                                   std::string(model),
                                                   "' (supported: gpt2, llama)"));
  }
  ASSIGN_OR_RETURN(BpeVocab vocab, BpeVocabFromGguf(file));
  absl::StatusOr<std::unique_ptr<BpeTokenizer>> bpe = BpeTokenizer::Create(std::move(vocab));
  if (!bpe.ok()) {
    return absl::Status(bpe.status().code(),
                        absl::StrCat(file.path(), ": tokenizer: ", bpe.status().message()));
  }
  return std::unique_ptr<Tokenizer>(*std::move(bpe));
}

}  // namespace llmw
