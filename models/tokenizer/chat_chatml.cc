// ChatML templates (<|im_start|>role\ncontent<|im_end|>\n) as SmolLM2, Qwen2
// and Qwen2.5 write them, with the default system message a template inserts
// when the conversation does not start with one.
#include <optional>

#include "models/tokenizer/chat_families.h"
#include "models/tokenizer/chat_template_util.h"

namespace llmw::chat {
namespace {

constexpr std::string_view kTurn =
    "'<|im_start|>'+message['role']+'\n'+message['content']+'<|im_end|>'+'\n'";

class ChatMl : public ChatTemplate {
 public:
  // `tool_aware`: the template renders only user, system and assistant turns
  // generically (Qwen2.5), gives "tool" its own form and drops other roles.
  ChatMl(std::optional<std::string> default_system, bool tool_aware)
      : default_system_(std::move(default_system)), tool_aware_(tool_aware) {}

 private:
  absl::StatusOr<std::string> RenderMessages(std::span<const ChatMessage> messages,
                                             bool add_generation_prompt) const override {
    std::string out;
    if (default_system_.has_value() && messages[0].role != "system") {
      Append(&out, "<|im_start|>system\n", *default_system_, "<|im_end|>\n");
    }
    for (const ChatMessage& m : messages) {
      if (tool_aware_) {
        if (m.role == "tool") return UnsupportedRole(m.role, "Qwen2.5");
        if (m.role != "user" && m.role != "system" && m.role != "assistant") continue;
      }
      Append(&out, "<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
  }

  std::optional<std::string> default_system_;
  bool tool_aware_;
};

// The system message in the template's literal '<|im_start|>system\n...<|im_end|>\n'.
std::optional<std::string> DefaultSystem(std::string_view canonical) {
  constexpr std::string_view kStart = "<|im_start|>system\n", kEnd = "<|im_end|>\n";
  size_t from = 0;
  while (std::optional<std::string> literal =
             LiteralStartingWith(canonical, "'<|im_start|>system\n", from, &from)) {
    const std::string_view text = *literal;
    if (text.size() >= kStart.size() + kEnd.size() && text.ends_with(kEnd)) {
      return std::string(text.substr(kStart.size(), text.size() - kStart.size() - kEnd.size()));
    }
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<ChatTemplate> ChatMlTemplate(std::string_view canonical,
                                             const ChatTemplateContext& /*context*/) {
  const auto has = [&](std::string_view marker) {
    return canonical.find(marker) != canonical.npos;
  };
  if (!has(kTurn) || !has("if add_generation_prompt") || !has("'<|im_start|>assistant\n'")) {
    return nullptr;
  }
  // Variants that write other text: BOS/EOS, reasoning blocks, images, a
  // generation prompt that depends on the last turn.
  for (std::string_view other : {"bos_token", "eos_token", "<think>", "image", "messages[-1]"}) {
    if (has(other)) return nullptr;
  }
  std::optional<std::string> default_system;
  if (has("messages[0]['role']!='system'") || has("if messages[0]['role']=='system'")) {
    default_system = DefaultSystem(canonical);
    if (!default_system.has_value()) return nullptr;
  }
  // Qwen2.5 tests for user, system, assistant (twice) and tool; plain ChatML for none.
  const bool tool_aware = has("message['role']=='tool'");
  if (RoleTests(canonical) != (tool_aware ? 5 : 0)) return nullptr;
  return std::make_unique<ChatMl>(std::move(default_system), tool_aware);
}

}  // namespace llmw::chat
