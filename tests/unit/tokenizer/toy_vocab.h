// A small byte-level BPE vocabulary for tests: the 256 byte tokens (id = byte value), merged
// tokens after them, then control and user-defined tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "models/tokenizer/bpe_tokenizer.h"
#include "models/tokenizer/byte_unicode.h"

namespace llmw::tokenizer_test {

// The vocabulary text of raw bytes `bytes` ("Ġ" for " ").
inline std::string Mapped(std::string_view bytes) {
  std::string out;
  AppendBytesAsUnicode(bytes, &out);
  return out;
}

// Merges (raw bytes, mapped here) make "hello", " world", runs of a and of spaces, "bc" before
// "ab"; "abc" is a token that no merge makes.
inline BpeVocab ToyVocab() {
  BpeVocab v;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(Mapped(std::string(1, static_cast<char>(b))));
  v.types.assign(256, TokenType::kNormal);
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"},   {"l", "l"},   {"he", "ll"}, {"hell", "o"},  {"r", "l"},
      {"o", "rl"},  {"orl", "d"}, {" ", "w"},   {" w", "orld"}, {"a", "a"},
      {"aa", "aa"}, {" ", " "},   {"  ", "  "}, {"b", "c"},     {"a", "b"}};
  for (const auto& [l, r] : merges) {
    v.merges.push_back(Mapped(l) + " " + Mapped(r));
    const std::string merged = Mapped(l + r);
    bool present = false;
    for (const std::string& t : v.tokens) present = present || t == merged;
    if (!present) {
      v.tokens.push_back(merged);
      v.types.push_back(TokenType::kNormal);
    }
  }
  v.tokens.push_back(Mapped("abc"));  // a token that no merge makes
  v.types.push_back(TokenType::kNormal);
  for (auto [text, type] : {std::pair{"<|endoftext|>", TokenType::kControl},
                            {"<|im_start|>", TokenType::kControl},
                            {"<|im_end|>", TokenType::kControl},
                            {"<user>", TokenType::kUserDefined},
                            {"<unused>", TokenType::kUnused}}) {
    v.tokens.push_back(text);
    v.types.push_back(type);
  }
  v.bos_id = static_cast<int32_t>(v.tokens.size()) - 4;  // <|im_start|>
  v.eos_id = static_cast<int32_t>(v.tokens.size()) - 5;  // <|endoftext|>
  return v;
}

// The id of vocabulary text `text` in `v`.
inline int32_t IdOf(const BpeVocab& v, std::string_view text) {
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.tokens[i] == text) return static_cast<int32_t>(i);
  }
  return -1;
}

}  // namespace llmw::tokenizer_test
