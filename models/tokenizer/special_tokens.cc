// Indexing of special tokens for literal matching.
#include "models/tokenizer/special_tokens.h"

namespace llmw {

void SpecialTokens::Add(int32_t id, std::string text, bool control) {
  if (!text.empty()) specials_.push_back({id, std::move(text), control});
}

void SpecialTokens::Index() {
  // Longest first, as the reference matches them: a longer token wins over one inside it.
  std::sort(specials_.begin(), specials_.end(), [](const Special& a, const Special& b) {
    return a.text.size() != b.text.size() ? a.text.size() > b.text.size() : a.id < b.id;
  });
  for (size_t i = 0; i < specials_.size(); ++i) {
    const std::string& text = specials_[i].text;
    index_.try_emplace(text, static_cast<int32_t>(i));
    first_bytes_.set(static_cast<uint8_t>(text[0]));
    if (lengths_.empty() || lengths_.back() != text.size()) lengths_.push_back(text.size());
  }
}

}  // namespace llmw
