// Between chat templates and the tokenizer: the special-token texts a template
// writes, and the tokens of a rendered chat prompt.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "models/tokenizer/chat_template.h"
#include "models/tokenizer/tokenizer.h"

namespace llmw {

// bos_token and eos_token as the texts of the tokenizer's BOS and EOS tokens
// (empty where it has none); `today` left empty (the current date).
ChatTemplateContext ChatContextOf(const Tokenizer& tokenizer);

// The tokens of `prompt`, a rendered chat: special-token texts in it become
// their tokens, and BOS (and EOS, where the model adds them) come with
// `add_special` only when the template has not written BOS itself, so that
// the prompt never starts with two.
std::vector<int32_t> EncodeChatPrompt(const Tokenizer& tokenizer, std::string_view prompt,
                                      bool add_special);

}  // namespace llmw
