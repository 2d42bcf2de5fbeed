// BPE as the Hugging Face `tokenizers` library runs a tokenizer.json: added tokens are found in
// the input, each run of text between them is normalized, split again on normalized added tokens,
// pre-tokenized, and merged by rank; the post-processor's tokens go around the result. Two kinds:
// byte-level (GPT-2, Llama 3, Qwen2: words are merged as bytes through the byte↦unicode map) and
// SentencePiece style (Llama 2, Mistral: spaces are U+2581, words are merged as characters, a
// character without a token is spelled with `<0xXX>` byte tokens). Built from a plain spec,
// independent of the JSON (hf_tokenizer_json.h reads that).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "models/tokenizer/bpe_model.h"
#include "models/tokenizer/hf_added_tokens.h"
#include "models/tokenizer/hf_normalizer.h"
#include "models/tokenizer/pretokenizer.h"
#include "models/tokenizer/token_table.h"
#include "models/tokenizer/tokenizer.h"

namespace llmw {

struct HfBpeSpec {
  // Token texts by id: the model's vocabulary with the added tokens' contents; "" for an id
  // that names no token.
  std::vector<std::string> tokens;
  std::vector<std::pair<std::string, std::string>> merges;  // by rank
  std::vector<HfAddedToken> added;
  std::vector<HfNormalizerStep> normalizer;
  // Byte-level: the regex split of each run (nullopt: the run is one word). Otherwise the
  // SentencePiece style, with the Metaspace pre-tokenizer or none (the run is one word).
  bool byte_level = true;
  std::optional<PreTokenizer> split;
  bool unicode_case_contractions = false;  // the split regex's (?i:'s|...) folds Unicode case
  std::optional<HfMetaspace> metaspace;
  BpeModelOptions model;  // byte_level is set from the field above
  // What Encode(add_bos = true) puts around the tokens (the post-processor's template).
  std::vector<int32_t> prefix, suffix;
  std::optional<int32_t> bos_id, eos_id, pad_id;
  std::vector<int32_t> end_of_generation_ids;  // besides EOS and end-of-turn control tokens
};

class HfBpeTokenizer final : public Tokenizer {
 public:
  // INVALID_ARGUMENT for an empty vocabulary, an id out of range (added token, BOS, EOS, padding,
  // unknown, template, end of generation) or a merge that names or makes an unknown token.
  static absl::StatusOr<std::unique_ptr<HfBpeTokenizer>> Create(HfBpeSpec spec);

  // `add_bos` adds the post-processor's tokens (add_special_tokens in the reference);
  // `parse_special` matches special added tokens (the reference always does, unless
  // encode_special_tokens); non-special added tokens are always matched.
  std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                              bool parse_special) const override;
  std::string TokenText(int32_t id) const override { return table_.TokenText(id); }
  // Token by token. SentencePiece style keeps the space of a leading U+2581 (the reference's
  // Strip decoder drops the first one of the whole text), as the GGUF SentencePiece tokenizer.
  std::string Decode(std::span<const int32_t> ids, bool render_special) const override {
    return table_.Decode(ids, render_special);
  }
  int32_t vocab_size() const override { return table_.size(); }
  std::optional<int32_t> bos_id() const override { return bos_id_; }
  std::optional<int32_t> eos_id() const override { return eos_id_; }
  bool IsEndOfGeneration(int32_t id) const override { return table_.IsEndOfGeneration(id); }
  std::optional<int32_t> FindToken(std::string_view text) const override {
    return table_.Find(text);
  }

  bool byte_level() const { return byte_level_; }

 private:
  HfBpeTokenizer() = default;
  absl::Status Init(HfBpeSpec spec);
  // One run between raw added tokens: normalize, split on normalized added tokens, encode.
  void EncodeRun(std::string_view run, bool at_input_start, bool parse_special,
                 std::vector<int32_t>* out) const;
  // Normalized text without added tokens: pre-tokenize and merge.
  void EncodeNormalized(std::string_view text, bool at_input_start,
                        std::vector<int32_t>* out) const;

  TokenTable table_;
  BpeModel model_;                  // reads table_
  HfAddedTokens raw_added_;         // matched in the input
  HfAddedTokens normalized_added_;  // matched after normalization
  std::vector<HfNormalizerStep> normalizer_;
  bool byte_level_ = true;
  std::optional<PreTokenizer> split_;
  bool unicode_case_contractions_ = false;
  std::optional<HfMetaspace> metaspace_;
  std::vector<int32_t> prefix_, suffix_;
  std::optional<int32_t> bos_id_, eos_id_;
};

}  // namespace llmw
