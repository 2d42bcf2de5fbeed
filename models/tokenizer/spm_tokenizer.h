// SentencePiece-style BPE as GGUF stores it (`tokenizer.ggml.model` = "llama": Llama 2, Mistral,
// Phi-3, Gemma): control and user-defined tokens are matched literally, spaces in the rest of the
// text become U+2581, and each run of text is split into UTF-8 characters that are merged pair by
// pair, the pair whose joined text is the highest-scoring token first. A character with no token
// of its own is spelled with the `<0xXX>` byte tokens. Built from a plain vocabulary, independent
// of file formats.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "models/tokenizer/token_table.h"
#include "models/tokenizer/tokenizer.h"

namespace llmw {

struct SpmVocab {
  std::vector<std::string> tokens;  // pieces with spaces as U+2581; control texts as they are
  std::vector<float> scores;        // one per token, or empty for all 0
  std::vector<TokenType> types;     // one per token, or empty for all normal
  std::optional<int32_t> bos_id, eos_id, eot_id, eom_id, pad_id, unk_id;
  bool add_bos = true;  // Encode(add_bos = true) adds BOS / EOS only where these say so
  bool add_eos = false;
  bool add_space_prefix = true;  // a space before the text and after each special token
};

class SpmTokenizer final : public Tokenizer {
 public:
  // INVALID_ARGUMENT for an empty vocabulary, scores or types lists of another length, or an id
  // out of range.
  static absl::StatusOr<std::unique_ptr<SpmTokenizer>> Create(SpmVocab vocab);

  std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                              bool parse_special) const override;
  std::string TokenText(int32_t id) const override { return table_.TokenText(id); }
  // Every token as it reads, a leading space included (as the reference streams tokens): with
  // add_space_prefix, the text of Encode(s) decodes to " " + s.
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

  bool add_space_prefix() const { return add_space_prefix_; }

 private:
  SpmTokenizer() = default;
  absl::Status Init(SpmVocab vocab);
  // Merges `text` (spaces already escaped) and appends its tokens.
  void EncodeRun(std::string_view text, std::vector<int32_t>* out) const;
  void AppendSymbol(std::string_view symbol, std::vector<int32_t>* out) const;

  TokenTable table_;
  std::vector<float> scores_;            // one per token
  std::array<int32_t, 256> byte_ids_{};  // `<0xXX>` token of each byte, or -1

  std::optional<int32_t> bos_id_, eos_id_, unk_id_;
  bool add_bos_ = true, add_eos_ = false, add_space_prefix_ = true;
};

}  // namespace llmw
