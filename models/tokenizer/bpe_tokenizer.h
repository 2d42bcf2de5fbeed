// Byte-level BPE (GPT-2 style): special tokens are matched literally, the rest of the text is
// pre-tokenized, each piece's bytes are mapped through the byte↦unicode table and merged pair
// by pair, lowest merge rank first. Built from a plain vocabulary, independent of file formats.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "models/tokenizer/bpe_model.h"
#include "models/tokenizer/pretokenizer.h"
#include "models/tokenizer/token_table.h"
#include "models/tokenizer/tokenizer.h"

namespace llmw {

struct BpeVocab {
  std::vector<std::string> tokens;  // byte-mapped texts; control/user-defined texts as they are
  std::vector<TokenType> types;     // one per token, or empty for all normal
  std::vector<std::string> merges;  // "left right"; the rank is the index
  PreTokenizer pre = PreTokenizer::kGpt2;
  std::optional<int32_t> bos_id, eos_id, eot_id, eom_id, pad_id, unk_id;
  bool add_bos = false;  // Encode(add_bos = true) adds BOS / EOS only where these say so
  bool add_eos = false;
};

class BpeTokenizer final : public Tokenizer {
 public:
  // INVALID_ARGUMENT for an empty vocabulary, a types list of another length, an id out of
  // range, or a merge that is malformed or names (or makes) a token not in the vocabulary.
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> Create(BpeVocab vocab);

  std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                              bool parse_special) const override;
  std::string TokenText(int32_t id) const override { return table_.TokenText(id); }
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

  PreTokenizer pre_tokenizer() const { return pre_; }

 private:
  BpeTokenizer() = default;
  absl::Status Init(BpeVocab vocab);
  absl::Status AddMerges(const std::vector<std::string>& merges);
  void EncodeRaw(std::string_view text, std::vector<int32_t>* out) const;

  TokenTable table_;
  BpeModel model_;  // reads table_

  PreTokenizer pre_ = PreTokenizer::kGpt2;
  std::optional<int32_t> bos_id_, eos_id_;
  bool add_bos_ = false, add_eos_ = false;
};

}  // namespace llmw
