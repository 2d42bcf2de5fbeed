// ChatML (<|im_start|>role\ncontent<|im_end|>\n), as used by SmolLM2 and
// Qwen, including a default system message when the template injects one.
#include "models/tokenizer/chat_template.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace llmw {
namespace {

class ChatMlTemplate : public ChatTemplate {
 public:
  explicit ChatMlTemplate(std::string default_system)
      : default_system_(std::move(default_system)) {}

  std::string Render(const std::vector<ChatMessage>& messages,
                     bool add_generation_prompt) const override {
    std::string out;
    const bool has_system = !messages.empty() && messages[0].role == "system";
    if (!has_system && !default_system_.empty()) {
      absl::StrAppend(&out, "<|im_start|>system\n", default_system_, "<|im_end|>\n");
    }
    for (const ChatMessage& m : messages) {
      absl::StrAppend(&out, "<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
  }

 private:
  std::string default_system_;
};

// The system text a ChatML template inserts when the conversation has none:
// the literal between "<|im_start|>system\n" and "<|im_end|>", when the
// template guards it with a test on the first message's role.
std::string DefaultSystemMessage(const std::string& text) {
  if (text.find("messages[0]['role'] != 'system'") == std::string::npos) return "";
  for (const std::string opening : {"<|im_start|>system\n", "<|im_start|>system\\n"}) {
    const size_t start = text.find(opening);
    if (start == std::string::npos) continue;
    const size_t body = start + opening.size();
    const size_t end = text.find("<|im_end|>", body);
    if (end == std::string::npos) return "";
    return absl::StrReplaceAll(text.substr(body, end - body), {{"\\n", "\n"}});
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplateFromText(
    const std::string& template_text) {
  if (template_text.find("<|im_start|>") != std::string::npos) {
    return std::make_unique<ChatMlTemplate>(DefaultSystemMessage(template_text));
  }
  if (template_text.empty()) {
    return absl::InvalidArgumentError("the model has no chat template");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unrecognised chat template (supported: ChatML); it starts with: ",
                   template_text.substr(0, 80)));
}

}  // namespace llmw
