// The added tokens of a tokenizer.json and how the `tokenizers` library finds them in text: at
// each position the longest token that starts there, scanning left to right without overlaps;
// a token with lstrip / rstrip also takes the whitespace before / after it. Special tokens are
// matched only when asked to (parse_special); a special token found but not asked for stays text
// and the scan goes on after it, as the reference does.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace llmw {

struct HfAddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;     // a control token: matched with parse_special, hidden in Decode
  bool normalized = false;  // matched in the normalized text instead of the input
  bool lstrip = false;      // takes the whitespace before it
  bool rstrip = false;      // takes the whitespace after it
};

class HfAddedTokens {
 public:
  // Registers a token (an empty content is ignored); call Index() after the last.
  void Add(const HfAddedToken& token);
  void Index();
  bool empty() const { return tokens_.empty(); }

  // Calls text(piece, offset) for the runs of `text` between tokens (non-empty, `offset` is where
  // the piece starts in `text`) and token(id) for the tokens, in order.
  template <typename TextFn, typename TokenFn>
  void Split(std::string_view text, bool parse_special, TextFn on_text, TokenFn on_token) const;

 private:
  // The index of the longest token at `pos`, or -1.
  int32_t LongestAt(std::string_view text, size_t pos) const;
  // The start of the whitespace run that ends at `pos`, but not before `floor`.
  static size_t WhitespaceBefore(std::string_view text, size_t pos, size_t floor);
  // The end of the whitespace run that starts at `pos`.
  static size_t WhitespaceAfter(std::string_view text, size_t pos);

  std::vector<HfAddedToken> tokens_;
  absl::flat_hash_map<std::string, int32_t> index_;  // content → index in tokens_
  std::vector<size_t> lengths_;                      // distinct lengths, longest first
  std::bitset<256> first_bytes_;
};

template <typename TextFn, typename TokenFn>
void HfAddedTokens::Split(std::string_view text, bool parse_special, TextFn on_text,
                          TokenFn on_token) const {
  size_t done = 0;  // the end of the last token taken (with its stripped whitespace)
  for (size_t pos = 0; pos < text.size() && !tokens_.empty();) {
    const int32_t index = LongestAt(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    const HfAddedToken& token = tokens_[index];
    size_t start = pos, stop = pos + token.content.size();
    pos = stop;
    if (token.special && !parse_special) continue;
    if (token.lstrip) start = WhitespaceBefore(text, start, done);
    if (token.rstrip) stop = WhitespaceAfter(text, stop);
    if (start > done) on_text(text.substr(done, start - done), done);
    on_token(token.id);
    done = pos = stop;
  }
  if (done < text.size()) on_text(text.substr(done), done);
}

}  // namespace llmw
