// Renders chat messages into a prompt with the checkpoint's chat template.
// Templates are recognised by their text (they are Jinja programs; we
// implement the known families rather than a Jinja interpreter) and each
// renderer writes byte for byte what its template renders under transformers,
// refusing the conversations the template refuses.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace llmw {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", or another role the template knows
  std::string content;
};

// What a template reads besides the messages.
struct ChatTemplateContext {
  std::string bos_token;  // the text of {{ bos_token }}; empty when the model has none
  std::string eos_token;  // the text of {{ eos_token }}
  // The date, as strftime_now("%d %b %Y") gives it, for templates that print
  // today's date (Llama 3.2); empty: the local date at each render.
  std::string today;
};

class ChatTemplate {
 public:
  virtual ~ChatTemplate() = default;

  // The prompt for `messages`, ending with the assistant turn's opening when
  // `add_generation_prompt`. INVALID_ARGUMENT when there are no messages,
  // when the template refuses them (its exception's text is in the message),
  // or for a role whose rendering is not implemented (tool results).
  absl::StatusOr<std::string> Render(const std::vector<ChatMessage>& messages,
                                     bool add_generation_prompt) const;

 private:
  // `messages` is not empty.
  virtual absl::StatusOr<std::string> RenderMessages(std::span<const ChatMessage> messages,
                                                     bool add_generation_prompt) const = 0;
};

// The renderer of `template_text`'s family; INVALID_ARGUMENT when it is not
// one we know (the message quotes its start).
absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplateFromText(
    const std::string& template_text, const ChatTemplateContext& context);

}  // namespace llmw
