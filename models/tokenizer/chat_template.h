// Renders chat messages into a prompt with the checkpoint's chat template.
// Templates are recognised by their text (they are Jinja programs; we
// implement the known families rather than a Jinja interpreter).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace llmw {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

class ChatTemplate {
 public:
  virtual ~ChatTemplate() = default;
  // The prompt for `messages`, ending with the assistant turn's opening when
  // `add_generation_prompt`.
  virtual std::string Render(const std::vector<ChatMessage>& messages,
                             bool add_generation_prompt) const = 0;
};

// The template family of `template_text`; INVALID_ARGUMENT when it is not one
// we know (the message quotes its start).
absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplateFromText(
    const std::string& template_text);

}  // namespace llmw
