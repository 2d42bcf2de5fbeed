// Between chat templates and the tokenizer.
#include "models/tokenizer/chat_prompt.h"

#include <optional>
#include <string>

namespace llmw {
namespace {

std::string TextOf(const Tokenizer& tokenizer, std::optional<int32_t> id) {
  return id.has_value() ? tokenizer.TokenText(*id) : std::string();
}

}  // namespace

ChatTemplateContext ChatContextOf(const Tokenizer& tokenizer) {
  return ChatTemplateContext{TextOf(tokenizer, tokenizer.bos_id()),
                             TextOf(tokenizer, tokenizer.eos_id()), ""};
}

std::vector<int32_t> EncodeChatPrompt(const Tokenizer& tokenizer, std::string_view prompt,
                                      bool add_special) {
  const std::string bos = TextOf(tokenizer, tokenizer.bos_id());
  const bool template_wrote_bos = !bos.empty() && prompt.starts_with(bos);
  return tokenizer.Encode(prompt, add_special && !template_wrote_bos, /*parse_special=*/true);
}

}  // namespace llmw
