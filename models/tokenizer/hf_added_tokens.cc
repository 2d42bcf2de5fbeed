// Indexing of added tokens and the whitespace scans of lstrip / rstrip.
#include "models/tokenizer/hf_added_tokens.h"

#include <algorithm>
#include <functional>

#include "models/tokenizer/unicode.h"

namespace llmw {

void HfAddedTokens::Add(const HfAddedToken& token) {
  if (!token.content.empty()) tokens_.push_back(token);
}

void HfAddedTokens::Index() {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const std::string& text = tokens_[i].content;
    // On a repeated content the later token wins, as the reference's trie keeps it.
    index_.insert_or_assign(text, static_cast<int32_t>(i));
    first_bytes_.set(static_cast<uint8_t>(text[0]));
    lengths_.push_back(text.size());
  }
  std::sort(lengths_.begin(), lengths_.end(), std::greater<>());
  lengths_.erase(std::unique(lengths_.begin(), lengths_.end()), lengths_.end());
}

int32_t HfAddedTokens::LongestAt(std::string_view text, size_t pos) const {
  if (!first_bytes_.test(static_cast<uint8_t>(text[pos]))) return -1;
  for (size_t len : lengths_) {
    if (len > text.size() - pos) continue;
    auto it = index_.find(absl::string_view(text.data() + pos, len));
    if (it != index_.end()) return it->second;
  }
  return -1;
}

size_t HfAddedTokens::WhitespaceBefore(std::string_view text, size_t pos, size_t floor) {
  while (pos > floor) {
    size_t start = pos - 1;  // back to the first byte of the previous character
    while (start > floor && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
    size_t len;
    const char32_t cp = DecodeUtf8Lenient(text.substr(start), &len);
    if (start + len != pos || !IsWhitespace(cp)) break;
    pos = start;
  }
  return pos;
}

size_t HfAddedTokens::WhitespaceAfter(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    size_t len;
    if (!IsWhitespace(DecodeUtf8Lenient(text.substr(pos), &len))) break;
    pos += len;
  }
  return pos;
}

}  // namespace llmw
