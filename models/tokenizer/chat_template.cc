// Recognises a chat template's family from its text and hands the rendering
// to that family's renderer.
#include "models/tokenizer/chat_template.h"

#include "absl/strings/str_cat.h"
#include "models/tokenizer/chat_families.h"
#include "models/tokenizer/chat_template_util.h"

namespace llmw {

absl::StatusOr<std::string> ChatTemplate::Render(const std::vector<ChatMessage>& messages,
                                                 bool add_generation_prompt) const {
  if (messages.empty()) return absl::InvalidArgumentError("the chat has no messages");
  return RenderMessages(messages, add_generation_prompt);
}

absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplateFromText(
    const std::string& template_text, const ChatTemplateContext& context) {
  if (template_text.empty()) {
    return absl::InvalidArgumentError("the model has no chat template");
  }
  const std::string canonical = chat::Canonical(template_text);
  for (auto family : {chat::ChatMlTemplate, chat::Llama3Template, chat::InstTemplate,
                      chat::TaggedTemplate, chat::GemmaTemplate}) {
    if (std::unique_ptr<ChatTemplate> renderer = family(canonical, context)) return renderer;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unrecognised chat template (supported: ChatML as in SmolLM2 and Qwen2/2.5, Llama 2, "
      "Llama 3/3.1/3.2, Mistral Instruct v0.1-v0.3, Phi-3/3.5, Zephyr/TinyLlama, Gemma 1-3); "
      "it starts with: ",
      template_text.substr(0, 80)));
}

}  // namespace llmw
