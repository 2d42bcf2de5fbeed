// The vocabulary bookkeeping both tokenizers share: token texts and ids, what
// each token decodes to and when it is shown, the special tokens matched
// literally, and which tokens end generation.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "models/tokenizer/special_tokens.h"
#include "models/tokenizer/tokenizer.h"

namespace llmw {

struct TokenTableSpec {
  std::vector<std::string> texts;  // vocabulary entries, as stored in the model
  std::vector<TokenType> types;    // one per token, or empty for all normal
  // Named special ids, checked to lie in the vocabulary ("BOS", id), ...
  std::vector<std::pair<const char*, std::optional<int32_t>>> named_ids;
  // Ids that end generation besides the control tokens with end-of-turn texts.
  std::vector<std::optional<int32_t>> end_of_generation_ids;
  // The bytes a normal (or byte) token stands for; nullopt: it is never shown.
  std::function<std::optional<std::string>(TokenType type, std::string_view text)> decode;
  // Control, unknown and user-defined tokens decode through `decode` too (as tokenizer.json
  // decoders treat every token) instead of standing for their text.
  bool decode_all = false;
};

class TokenTable {
 public:
  // INVALID_ARGUMENT for an empty vocabulary, a types list of another length
  // or a named id out of range.
  absl::Status Build(TokenTableSpec spec);

  int32_t size() const { return static_cast<int32_t>(texts_.size()); }
  const std::string& text(int32_t id) const { return texts_[id]; }
  // The id of vocabulary entry `text` (the last one on duplicates, as the reference).
  std::optional<int32_t> Find(std::string_view text) const;
  const SpecialTokens& specials() const { return specials_; }

  // Tokenizer behaviour, for ids in any range.
  std::string TokenText(int32_t id) const;
  std::string Decode(std::span<const int32_t> ids, bool render_special) const;
  bool IsEndOfGeneration(int32_t id) const;

 private:
  enum class Render : uint8_t { kNever, kAlways, kIfSpecial };

  std::vector<std::string> texts_;
  std::vector<std::string> decoded_;  // the bytes each token stands for
  std::vector<Render> render_;        // whether Decode shows each token
  std::vector<uint8_t> end_of_generation_;
  absl::flat_hash_map<std::string, int32_t> ids_;  // vocabulary entry → id
  SpecialTokens specials_;
};

}  // namespace llmw
