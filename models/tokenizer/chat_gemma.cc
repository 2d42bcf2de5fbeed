// Gemma templates (<start_of_turn>role\ncontent<end_of_turn>\n, "model" for the
// assistant, content trimmed). Gemma 1 and 2 refuse a system message; Gemma 3
// puts it, untrimmed, with a blank line, before the first turn's content.
#include "models/tokenizer/chat_families.h"
#include "models/tokenizer/chat_template_util.h"

namespace llmw::chat {
namespace {

constexpr std::string_view kAlternate =
    "Conversation roles must alternate user/assistant/user/assistant/...";

class Gemma : public ChatTemplate {
 public:
  Gemma(std::string bos, bool system_prefix)
      : bos_(std::move(bos)), system_prefix_(system_prefix) {}

 private:
  absl::StatusOr<std::string> RenderMessages(std::span<const ChatMessage> messages,
                                             bool add_generation_prompt) const override {
    std::string_view system;
    bool has_system = false;
    if (messages[0].role == "system") {
      if (!system_prefix_) return Refused("System role not supported");
      system = messages[0].content;
      has_system = true;
      messages = messages.subspan(1);
    }
    std::string out = bos_;
    for (size_t i = 0; i < messages.size(); ++i) {
      const ChatMessage& m = messages[i];
      if ((m.role == "user") != (i % 2 == 0)) return Refused(kAlternate);
      Append(&out, "<start_of_turn>", m.role == "assistant" ? "model" : m.role, "\n");
      if (i == 0 && has_system) Append(&out, system, "\n\n");
      Append(&out, PyStrip(m.content), "<end_of_turn>\n");
    }
    if (add_generation_prompt) out += "<start_of_turn>model\n";
    return out;
  }

  std::string bos_;
  bool system_prefix_;  // Gemma 3
};

}  // namespace

std::unique_ptr<ChatTemplate> GemmaTemplate(std::string_view canonical,
                                            const ChatTemplateContext& context) {
  const auto has = [&](std::string_view marker) {
    return canonical.find(marker) != canonical.npos;
  };
  if (!has("set role='model'") || !has(kAlternate) || !has("{{'<start_of_turn>model\n'}}") ||
      RoleTests(canonical) != 2) {
    return nullptr;
  }
  const std::string bos = has("{{bos_token}}") ? context.bos_token : "";
  if (has("{{'<start_of_turn>'+role+'\n'+message['content']|trim+'<end_of_turn>\n'}}") &&
      has("raise_exception('System role not supported')")) {
    return std::make_unique<Gemma>(bos, false);
  }
  if (has("set first_user_prefix=messages[0]['content']+'\n\n'") &&
      has("{{'<start_of_turn>'+role+'\n'+(first_user_prefix if loop.first else'')}}") &&
      has("{{message['content']|trim}}") && has("{{'<end_of_turn>\n'}}")) {
    return std::make_unique<Gemma>(bos, true);
  }
  return nullptr;
}

}  // namespace llmw::chat
